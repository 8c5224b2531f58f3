from __future__ import annotations

import ast
from typing import Any

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import tasks as celery_tasks
from jobs_lint.semantic.celery.tasks import SPLAT, TaskNode, is_number
from jobs_lint.semantic.syntax import has_splat, keyword_node
from jobs_lint.semantic.values import literal

CATCH_ALL = frozenset({"Exception", "BaseException"})
HOT_COUNTDOWN = 10  # seconds: a retry sooner than this gives a failing dependency no time
LONG_BUDGET = 10  # retries: with a hot countdown, this many make a polling loop


class UnboundedRetries(Rule):
    """
    ## What it does
    Finds Celery tasks whose retries never end or never slow down: `max_retries=None` (on the
    task or in `self.retry(...)`), `autoretry_for` naming `Exception` or `BaseException`,
    `autoretry_for` without `retry_backoff`, and `self.retry(countdown=...)` with a constant
    countdown under 10 seconds in a task allowed 10 or more retries (a polling loop).

    ## Why is this bad?
    A task that retries forever never reports its failure: a permanent error (a deleted row, a
    bug, a rejected payload) circulates through the queue until someone notices the load. Retrying
    on every exception retries bugs too, which only ever fail again. Retries without backoff hit a
    failing dependency at a fixed pace, all failed tasks in step, when it most needs a pause; a
    constant countdown of a few seconds turns a task into a busy loop through the broker.

    Bound the retries (`max_retries`), list the transient exceptions you expect
    (`autoretry_for=(ConnectionError, TimeoutError)`), and set `retry_backoff=True` (with
    `retry_jitter`, on by default) so retries spread out and slow down.
    """

    code = "JL107"
    name = "unbounded-retries"
    summary = "A task retries forever, on every exception, or without backoff"
    needles = ((b"retry", b"retries"), *needles.TASK_DEFINITIONS)

    invalid = (
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(autoretry_for=(Exception,), max_retries=None)\n"
            "def sync(account_id):\n    return account_id\n",
            line=3,
            message="Task `sync` retries without backoff",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(autoretry_for=(ConnectionError,))\n"
            "def fetch(url):\n    return url\n",
            line=3,
            message="Task `fetch` retries without backoff",
        ),
        Invalid(
            "from proj.celery import app\n\n"
            "@app.task(bind=True, max_retries=100)\n"
            "def wait_for(self, job_id):\n"
            "    if not ready(job_id):\n"
            "        raise self.retry(countdown=2)\n",
            files={"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"},
            path="proj/tasks.py",
            line=6,
            message="Task `wait_for` polls through the broker",
        ),
        Invalid(
            "from celery import Task\n\n"
            "class Sync(Task):\n"
            "    autoretry_for = (BaseException,)\n    retry_backoff = True\n\n"
            "    def run(self, account_id):\n        return account_id\n",
            line=4,
            message="Task `Sync` retries on every exception, bugs included",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(bind=True)\n"
            "def push(self, item_id):\n"
            "    try:\n        send(item_id)\n"
            "    except OSError as error:\n"
            "        raise self.retry(exc=error, max_retries=None)\n",
            line=8,
            message="Task `push` retries forever (`max_retries=None`)",
        ),
        Invalid(
            "import celery\n\n"
            "@celery.shared_task(autoretry_for=[Exception], retry_backoff=True)\n"
            "def index(doc_id):\n    return doc_id\n",
            line=3,
            message="Task `index` retries on every exception, bugs included",
        ),
    )
    valid = (
        Valid(
            "from proj.celery import app\n\n"
            "@app.task(autoretry_for=(ConnectionError,))\ndef sync(account_id):\n    return account_id\n",
            files={
                "proj/__init__.py": "",
                "proj/base.py": "from celery import Task\n\nclass Backoff(Task):\n    retry_backoff = True\n",
                "proj/celery.py": "from celery import Celery\nfrom proj.base import Backoff\n\n"
                "app = Celery('proj')\napp.Task = Backoff\n",
            },
            path="proj/tasks.py",
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)\n"
            "def fetch(url):\n    return url\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(bind=True, max_retries=5)\n"
            "def push(self, item_id):\n"
            "    try:\n        send(item_id)\n"
            "    except OSError as error:\n"
            "        raise self.retry(exc=error, countdown=2 ** self.request.retries)\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "OPTIONS = {'autoretry_for': (Exception,), 'max_retries': None}\n\n"
            "@shared_task(**OPTIONS)\ndef sync(account_id):\n    return account_id\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(autoretry_for=RETRYABLE, retry_backoff=BACKOFF)\n"
            "def sync(account_id):\n    return account_id\n"
        ),
        Valid(
            "from tenacity import retry, stop_after_attempt\n\n"
            "@retry(stop=stop_after_attempt(None))\ndef call(url):\n    return url\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(bind=True)\n"
            "def replica_ready(self, delivery_id):\n"
            "    if not exists(delivery_id):\n        raise self.retry(countdown=1)\n"
        ),
        Valid(
            "def retry(task, max_retries=None):\n    return task.retry(max_retries=max_retries)\n"
            "def task():\n    pass\n"
        ),
    )

    def visit_FunctionDef(self, node: TaskNode) -> None:
        task = self.ctx.model.task_of(node)
        if task is None:
            return
        written = celery_tasks.option_nodes(node, task, self.ctx.model)
        options = self.ctx.index.task_options(task)
        name = node.name
        if "max_retries" in written and literal(written["max_retries"]) is None:
            self.report(written["max_retries"], f"Task `{name}` retries forever (`max_retries=None`): bound it")
        autoretry = written.get("autoretry_for")
        if autoretry is not None:
            self._autoretry(name, autoretry, options)
        budget = options.get("max_retries", 3)
        if isinstance(options.get("retry_kwargs"), dict):
            budget = options["retry_kwargs"].get("max_retries", budget)
        for call in celery_tasks.retry_calls(node, task):
            self._retry_call(name, call, budget)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def _autoretry(self, name: str, autoretry: ast.expr, options: dict[str, Any]) -> None:
        elements = autoretry.elts if isinstance(autoretry, (ast.Tuple, ast.List)) else [autoretry]
        for element in elements:
            if self.ctx.model.qualname(element, self.ctx.scope) in CATCH_ALL:
                self.report(
                    element,
                    f"Task `{name}` retries on every exception, bugs included: list the transient ones",
                )
        if elements and SPLAT not in options and not options.get("retry_backoff"):
            self.report(autoretry, f"Task `{name}` retries without backoff: set `retry_backoff=True`")

    def _retry_call(self, name: str, call: ast.Call, budget: Any) -> None:
        if has_splat(call):
            return
        limit = keyword_node(call, "max_retries")
        if limit is not None:
            budget = literal(limit)
            if budget is None:
                self.report(limit, f"Task `{name}` retries forever (`max_retries=None`): bound it")
                return
        countdown = keyword_node(call, "countdown")
        delay: Any = literal(countdown) if countdown is not None else None
        if (
            is_number(delay)
            and delay < HOT_COUNTDOWN
            and (budget is None or (is_number(budget) and budget >= LONG_BUDGET))
        ):
            self.report(
                call,
                f"Task `{name}` polls through the broker: up to {budget or 'unlimited'} retries "
                f"every {delay} s; back off (`countdown=2 ** self.request.retries`) or schedule the check",
            )
