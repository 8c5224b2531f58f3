from __future__ import annotations

import ast
from typing import Any

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.rules.celery.jl104_examples import REACHED_INVALID, REACHED_VALID
from jobs_lint.semantic.blocking import blocking_call
from jobs_lint.semantic.celery import tasks as celery_tasks
from jobs_lint.semantic.celery.tasks import FunctionNode, TaskNode
from jobs_lint.semantic.facts import TaskInfo
from jobs_lint.semantic.side_effects import (
    SideEffect,
    creating_side_effects,
    has_idempotency_guard,
    is_lock_name,
    leaves_process,
)
from jobs_lint.semantic.summaries import CREATES, SENDS
from jobs_lint.semantic.values import UNKNOWN

CREATES_ONLY = frozenset({CREATES})
SENDS_ONLY = frozenset({SENDS})


class RetryWithoutIdempotency(Rule):
    """
    ## What it does
    Finds Celery tasks that may run more than once (`autoretry_for`, `self.retry(...)`,
    `acks_late`) and create something each time they run, with no guard against doing it twice:
    an ORM `create` or a `save()` of a new instance, `session.add`, an `INSERT`, an HTTP POST, an
    email, a payment or a ticket.

    Side effects are followed through the functions and methods the task calls, in any module
    (a service class's method, an API client's): the finding names the chain of calls, and a
    function with a guard of its own stops the chain. Of a task's side effects, one that leaves
    the process (a POST, an email, a message) is reported before a row: a rollback of the failed
    attempt may undo the row, never the email. A POST that a getter makes to get the answer it
    returns (`get_incident`, `convert_to_markdown` of an RPC-style or converting API: a name
    that reads and says nothing of creating) asks again on a retry and creates nothing.

    A task counts as guarded when it uses an idempotency key, `get_or_create` or
    `update_or_create`, `SET NX` or a lock (also as a decorator or base class, like
    celery-once's `QueueOnce`), an `ON CONFLICT` insert, or returns early when the work is
    already done (`if order.invoice_sent: return`, `if ....exists(): return`).

    With `autoretry_for`, only the exceptions it names cause a retry, so a side effect is
    reported when something after it can still fail (another side effect, an I/O call,
    `raise_for_status()`, a `raise`); payments always are. With `self.retry(...)` only, side
    effects written after every retry call are not reported.

    ## Why is this bad?
    A retry runs the whole task again, including what already succeeded before the failure: the
    row inserted before the timeout, the POST whose response was lost, the email sent before the
    database error. Customers get two emails, two tickets, two charges. Late acknowledgement
    redelivers a task whose worker died, with the same effect.

    Make the creation idempotent: `get_or_create`/`update_or_create` on a natural key, an
    idempotency key derived from the task's arguments (not from `self.request.id`, which a
    retry keeps but a new call does not), or record that the work is done and check it first.
    """

    code = "JL104"
    name = "retry-without-idempotency"
    summary = "A retried task creates something again on every attempt"
    # Retried by a global `task_acks_late` too, and what it creates may lie in a function it calls,
    # in another module: no needle for either.
    needles = needles.TASK_DEFINITIONS

    invalid = (
        Invalid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task(autoretry_for=(requests.ConnectionError,), retry_backoff=True)\n"
            "def notify(order_id, url):\n"
            "    requests.post(url, json={'order': order_id}, timeout=10).raise_for_status()\n",
            line=6,
            message="Task `notify` is retried (`autoretry_for`) and creates an HTTP POST",
        ),
        Invalid(
            "from celery import shared_task\nfrom shop.models import Invoice\n\n"
            "@shared_task(bind=True, max_retries=5)\n"
            "def bill(self, order_id):\n"
            "    try:\n"
            "        Invoice.objects.create(order_id=order_id)\n"
            "        charge(order_id)\n"
            "    except TimeoutError as error:\n"
            "        raise self.retry(exc=error)\n",
            line=7,
            message="Task `bill` is retried (`self.retry`) and creates an ORM create again",
        ),
        Invalid(
            "import requests\nfrom celery import Task\n\n"
            "class Record(Task):\n"
            "    autoretry_for = (OSError,)\n\n"
            "    def run(self, event):\n"
            "        session = self.app.session()\n"
            "        session.add(Event(**event))\n"
            "        session.commit()\n"
            "        requests.post(HOOK_URL, json=event, timeout=5)\n",
            line=9,
            message="Task `Record` is retried (`autoretry_for`) and creates a session add",
        ),
        Invalid(
            "import requests\nfrom celery import shared_task\nfrom tickets.models import Ticket\n\n"
            "@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True)\n"
            "def open_ticket(subject):\n"
            "    ticket = Ticket(subject=subject)\n"
            "    ticket.save()\n"
            "    requests.post(JIRA_URL, json={'summary': subject}, timeout=10)\n",
            line=8,
            message="Task `open_ticket` is retried (`autoretry_for`) and creates an ORM",
        ),
        Invalid(
            "import stripe\nfrom celery import shared_task\n\n"
            "@shared_task(autoretry_for=(stripe.error.APIConnectionError,), retry_backoff=True)\n"
            "def charge(customer, amount):\n"
            "    return stripe.PaymentIntent.create(customer=customer, amount=amount)\n",
            line=6,
            message="Task `charge` is retried (`autoretry_for`) and creates a payment",
        ),
        Invalid(
            "from django.core.mail import send_mail\nfrom celery import shared_task\nfrom proj.models import Sent\n\n"
            "@shared_task(autoretry_for=(Exception,))\n"
            "def notify(user_id, address):\n"
            "    def record(**fields):\n"
            "        return Sent.objects.create(**fields)\n\n"
            "    send_mail('Alert', 'Down', None, [address])\n"
            "    record(user_id=user_id)\n",
            line=10,
            message="Task `notify` is retried (`autoretry_for`) and creates an email again",
        ),
        *REACHED_INVALID,
    )
    valid = (
        Valid(
            "import stripe\nfrom celery import shared_task\n\n"
            "@shared_task(autoretry_for=(stripe.error.APIConnectionError,), retry_backoff=True)\n"
            "def charge(order_id, customer, amount):\n"
            "    return stripe.PaymentIntent.create(\n"
            "        customer=customer, amount=amount, idempotency_key=f'order-{order_id}'\n"
            "    )\n"
        ),
        Valid(
            "from celery import shared_task\nfrom shop.models import Invoice\n\n"
            "@shared_task(autoretry_for=(TimeoutError,), retry_backoff=True)\n"
            "def bill(order_id):\n"
            "    invoice, created = Invoice.objects.get_or_create(order_id=order_id)\n"
            "    return invoice.pk\n"
        ),
        Valid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task\n"
            "def notify(order_id, url):\n"
            "    requests.post(url, json={'order': order_id}, timeout=10)\n"
        ),
        Valid(
            "from django.core.mail import send_mail\nfrom celery import shared_task\nfrom shop.models import Order\n\n"
            "@shared_task(autoretry_for=(OSError,), retry_backoff=True)\n"
            "def receipt(order_id):\n"
            "    order = Order.objects.get(pk=order_id)\n"
            "    if order.receipt_sent:\n        return\n"
            "    send_mail('Receipt', 'Thanks', None, [order.email])\n"
            "    order.receipt_sent = True\n    order.save()\n"
        ),
        Valid(
            "from celery import shared_task\nfrom shop.models import Order\n\n"
            "@shared_task(bind=True, max_retries=3)\n"
            "def recount(self, order_id):\n"
            "    try:\n        order = Order.objects.get(pk=order_id)\n"
            "    except Order.DoesNotExist as error:\n        raise self.retry(exc=error)\n"
            "    order.total = sum(line.price for line in order.lines.all())\n"
            "    order.save()\n"
        ),
        Valid(
            "from celery import shared_task\nfrom shop.models import Export\n\n"
            "@shared_task(bind=True)\n"
            "def export(self, report_id):\n"
            "    if not ready(report_id):\n        raise self.retry(countdown=60)\n"
            "    Export.objects.create(report_id=report_id)\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(autoretry_for=(ConnectionError,), retry_backoff=True)\n"
            "def mark(redis, job_id):\n"
            "    if not redis.set(f'done:{job_id}', 1, nx=True, ex=86400):\n        return\n"
            "    redis.rpush('jobs', job_id)\n"
            "    http_client.post('/jobs', json={'id': job_id})\n"
        ),
        Valid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task(autoretry_for=(requests.RequestException,))\n"
            "def refresh(course_id):\n"
            "    data = {'grant_type': 'client_credentials', 'client_id': CLIENT_ID}\n"
            "    token = requests.post(TOKEN_URL, data=data, timeout=5).json()['access_token']\n"
            "    requests.get(COURSE_URL, headers={'Authorization': token}, timeout=5).raise_for_status()\n"
        ),
        *REACHED_VALID,
    )

    def visit_FunctionDef(self, node: TaskNode) -> None:
        task = self.ctx.model.task_of(node)
        function = celery_tasks.body_of(node)
        if task is None or function is None:
            return
        retried = self._retried(node, task)
        if retried is None:
            return
        reason, before = retried
        model = self.ctx.model
        effects = creating_side_effects(function, model)
        direct = {id(effect.node) for effect in effects}
        # A call may reach a row first and a send further on: both are asked for.
        reached = {
            (id(call), reach.effect.what): SideEffect(call, reach.effect.what, reach)
            for kinds in (CREATES_ONLY, SENDS_ONLY)
            for call, reach in model.reaches(function, kinds, passed=True)
            if id(call) not in direct
        }
        effects += reached.values()
        effects.sort(key=lambda effect: (effect.node.lineno, effect.node.col_offset))
        if reason == "`autoretry_for`":
            graph = model.index.calls
            effects = [
                e
                for e in effects
                if e.what == "a payment"
                or self._fails_after(function, e, effects)
                or (e.reach is not None and graph.continues_after(e.reach))
            ]
        effects = [e for e in effects if e.node.lineno < before]
        if not effects or has_idempotency_guard(function, model) or _locked_base(task):
            return
        # What was sent stays sent when the retried attempt's transaction rolls its rows back.
        effect = next((e for e in effects if leaves_process(e.what)), effects[0])
        through = f" through `{effect.reach.chain}`" if effect.reach else ""
        message = (
            f"Task `{node.name}` is retried ({reason}) and creates {effect.what} again on every attempt{through}: "
            "make it idempotent (an idempotency key, `get_or_create`, a done check)"
        )
        if effect.reach is not None:
            self.report_reach(effect.node, function.name, effect.reach, message)
        else:
            self.report(effect.node, message)

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def _fails_after(self, function: FunctionNode, effect: SideEffect, effects: list[SideEffect]) -> bool:
        """Whether something after `effect` can still raise, so that a retry repeats it: another
        side effect, a blocking (I/O) call, `raise_for_status()` or a `raise`."""
        end = (effect.node.end_lineno or effect.node.lineno, effect.node.end_col_offset or 0)
        if any((e.node.lineno, e.node.col_offset) >= end for e in effects):
            return True
        model, scope = self.ctx.model, self.ctx.model.scope_of(function)
        helpers = _creating_helpers(function, effects)
        for node in ast.walk(function):
            if not isinstance(node, (ast.Call, ast.Raise)) or (node.end_lineno, node.end_col_offset) <= end:
                continue
            if isinstance(node, ast.Raise):
                return True
            if isinstance(node.func, ast.Name) and node.func.id in helpers:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr == "raise_for_status":
                return True
            if blocking_call(model.qualname(node.func, scope)) is not None:
                return True
        return False

    def _retried(self, node: TaskNode, task: TaskInfo) -> tuple[str, int] | None:
        """Why the task may run again, and the line before which a side effect is repeated."""
        options = self.ctx.index.task_options(task)
        everywhere = 1 << 30
        if _set(options.get("autoretry_for")):
            return "`autoretry_for`", everywhere
        if options.get("acks_late") is True:
            return "`acks_late`", everywhere
        if options.get("acks_late") is None and True in self.ctx.index.setting("task_acks_late"):
            return "`task_acks_late`", everywhere
        calls = celery_tasks.retry_calls(node, task)
        if calls:
            return "`self.retry`", max(call.lineno for call in calls)
        return None


def _creating_helpers(function: FunctionNode, effects: list[SideEffect]) -> set[str]:
    """The functions defined in the task that create something: calling one is a side effect."""
    found = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node is not function:
            first, last = node.lineno, node.end_lineno or node.lineno
            if any(first <= e.node.lineno <= last for e in effects):
                found.add(node.name)
    return found


def _set(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, (tuple, list)) and bool(value))


def _locked_base(task: TaskInfo) -> bool:
    """A base class that runs one instance at a time (celery-once's `QueueOnce`, a lock task)."""
    return any(is_lock_name(base.rpartition(".")[2]) for base in task.bases)
