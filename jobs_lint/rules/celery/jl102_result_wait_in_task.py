from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import names as celery_names
from jobs_lint.semantic.model import Kind
from jobs_lint.semantic.summaries import WAIT

WAITS = frozenset({"get", "wait", "join", "join_native", "collect"})
WAITS_ON_RESULTS = frozenset({WAIT})


class ResultWaitInTask(Rule):
    """
    ## What it does
    Finds a task that waits for another task's result: `.get()`, `.wait()`, `.join()`,
    `.join_native()` or `.collect()` on what `.delay()`, `.apply_async()`, `AsyncResult(...)`,
    `GroupResult.restore(...)`, `send_task(...)` or a called chain, group or chord returns, and
    `allow_join_result()`, anywhere in a task's body (helpers defined inside it and class-based
    tasks' `run` included), or in a function or method it calls, in any module (the finding
    names the chain of calls).

    ## Why is this bad?
    The waiting task holds a worker slot while the task it waits for needs one. When every slot
    waits, nothing runs: the pool deadlocks, and with `acks_late` the messages are redelivered
    into the same deadlock. Celery refuses this at run time only on the prefork pool, and only
    unless `allow_join_result()` or `disable_sync_subtasks=False` silences it.

    Compose instead: a chain passes each result to the next task, a chord runs a callback when a
    group is done, and `self.replace(...)` hands the rest of the work to a new signature.
    """

    code = "JL102"
    name = "result-wait-in-task"
    summary = "A task blocks on another task's result"
    # A task can wait in a function it calls, in another module: no needle for the wait itself.
    needles = needles.TASK_DEFINITIONS

    invalid = (
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef report(url):\n"
            "    page = fetch.delay(url).get(timeout=10)\n"
            "    return len(page)\n",
            line=9,
            message="Task `report` blocks on a result with `.get()`",
        ),
        Invalid(
            "from celery import Celery\n\napp = Celery('proj')\n\n"
            "@app.task(bind=True)\ndef total(self, ids):\n"
            "    results = [add.delay(i, i) for i in ids]\n"
            "    return sum(r.get() for r in results)\n\n"
            "@app.task\ndef add(x, y):\n    return x + y\n",
            line=8,
            message="Task `total` blocks on a result with `.get()`",
        ),
        Invalid(
            "from celery import shared_task, group as g\n\n"
            "@shared_task\ndef crawl(urls):\n"
            "    job = g(fetch.s(u) for u in urls)()\n"
            "    job.join()\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n",
            line=6,
            message="Task `crawl` blocks on a result with `.join()`",
        ),
        Invalid(
            "from celery.result import AsyncResult, allow_join_result\n"
            "from proj.celery import app\n\n"
            "@app.task\ndef follow(task_id):\n"
            "    with allow_join_result():\n"
            "        return AsyncResult(task_id).wait()\n",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
            },
            path="proj/tasks.py",
            line=6,
            message="`allow_join_result()` silences Celery's guard against a task waiting",
        ),
        Invalid(
            "from celery import Task\nfrom celery.result import GroupResult\n\n"
            "class Collect(Task):\n"
            "    def run(self, group_id):\n"
            "        def wait():\n"
            "            return GroupResult.restore(group_id).join_native()\n"
            "        return wait()\n",
            line=7,
            message="Task `Collect` blocks on a result with `.join_native()`",
        ),
        Invalid(
            "from proj import celery_app\n\n"
            "@celery_app.task\ndef relay(name):\n"
            "    return celery_app.send_task(name).get()\n",
            files={
                "proj/__init__.py": "from .celery import app as celery_app\n",
                "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
            },
            path="proj/relay.py",
            line=5,
            message="Task `relay` blocks on a result with `.get()`",
        ),
        Invalid(
            "from celery import chain, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef pipeline(urls):\n"
            "    result = chain(fetch.s(u) for u in urls)()\n"
            "    return [value for _, value in result.collect()]\n",
            line=10,
            message="Task `pipeline` blocks on a result with `.collect()`",
        ),
        Invalid(
            "from proj.celery import app\n\n"
            "@app.task\ndef follow(task_id):\n"
            "    return app.AsyncResult(task_id).get(timeout=30)\n",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
            },
            path="proj/tasks.py",
            line=5,
            message="Task `follow` blocks on a result with `.get()`",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.pages import fetch_all\n\n"
            "@shared_task\ndef report(urls):\n"
            "    return len(fetch_all(urls))\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/pages.py": "from proj.fetching import fetch\n\n"
                "def fetch_all(urls):\n"
                "    return [fetch.delay(url).get(timeout=10) for url in urls]\n",
                "proj/fetching.py": "from celery import shared_task\n\n@shared_task\ndef fetch(url):\n    return url\n",
            },
            line=7,
            message="through `fetch_all -> fetch.delay().get`",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.pages import fetch_all\n\n"
            "@shared_task\ndef report(urls):\n"
            "    return len(fetch_all(urls))\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/pages.py": "from proj.fetching import fetch\n\n"
                "def fetch_all(urls):\n"
                "    return [fetch.delay(url).get(timeout=10) for url in urls]\n",
                "proj/fetching.py": "from celery import shared_task\n\n@shared_task\ndef fetch(url):\n    return url\n",
            },
            checked="proj/pages.py",
            line=4,
            message="Task `report` blocks on a result with `.get()` through `report -> fetch_all -> fetch.delay().get`",
        ),
    )
    valid = (
        Valid(
            "from celery import chain, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef measure(page):\n    return len(page)\n\n"
            "def report(url):\n    return chain(fetch.s(url), measure.s())()\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "def view(url):\n    return fetch.delay(url).get(timeout=10)\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef greet(options, names, worker):\n"
            "    lang = options.get('lang', 'en')\n"
            "    worker.join()\n"
            "    return ', '.join(names) + lang\n"
        ),
        Valid(
            "from celery import shared_task\nfrom myapp.models import Order\n\n"
            "@shared_task\ndef ship(order_id):\n"
            "    order = Order.objects.get(pk=order_id)\n"
            "    return order.id\n"
        ),
        Valid(
            "import threading\nfrom celery import shared_task\n\n"
            "@shared_task\ndef poll():\n"
            "    thread = threading.Thread(target=print)\n"
            "    thread.start()\n    thread.join()\n"
        ),
        Valid(
            "from huey import RedisHuey\n\nhuey = RedisHuey()\n\n"
            "@huey.task()\ndef outer(x):\n    return inner(x).get()\n\n"
            "@huey.task()\ndef inner(x):\n    return x\n"
        ),
        Valid(
            "from celery import shared_task\n\nfrom proj.pages import options_for\n\n"
            "@shared_task\ndef report(settings):\n"
            "    return options_for(settings)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/pages.py": "def options_for(settings):\n    return settings.get('lang', 'en')\n",
            },
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        ctx = self.ctx
        if not ctx.enclosing_defs:
            return
        task = ctx.enclosing_task()
        if task is None:
            return
        name = task.qualname.rpartition(".")[2]
        if isinstance(func, ast.Attribute) and func.attr in WAITS:
            value = ctx.model.value_of(func.value, ctx.scope)
            if value is not None and value.kind is Kind.RESULT:
                self.report(
                    node,
                    f"Task `{name}` blocks on a result with `.{func.attr}()`: use a chain, a chord or `self.replace()`",
                )
                return
        if ctx.model.qualname(func, ctx.scope) == celery_names.ALLOW_JOIN_RESULT:
            self.report(node, "`allow_join_result()` silences Celery's guard against a task waiting on results")
            return
        reach = ctx.model.reach_of(node, ctx.enclosing_defs[-1], WAITS_ON_RESULTS)
        if reach is not None:
            self.report_reach(
                node,
                ctx.enclosing_defs[-1].name,
                reach,
                f"Task `{name}` blocks on a result with `{reach.effect.what}` through `{reach.chain}`: "
                "use a chain, a chord or `self.replace()`",
            )
