from __future__ import annotations

import ast
from typing import Any

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
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
# A task decorator made by the project in a package's `__init__`, re-exported from its module.
_FACTORY_PACKAGE = {
    "proj/__init__.py": "",
    "proj/utils/__init__.py": "from proj.utils.tasks import task\n",
    "proj/utils/tasks.py": "from celery import shared_task\n\n"
    "def task(**options):\n    return shared_task(bind=True, autoretry_for=(ConnectionError,), **options)\n",
}


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
    attempt may undo the row, never the email.

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
            "from django.core.mail import send_mail\nfrom proj.celery import app\n\n"
            "@app.task(acks_late=True, reject_on_worker_lost=True)\n"
            "def welcome(email):\n"
            "    send_mail('Welcome', 'Hello', None, [email])\n",
            files={"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"},
            path="proj/tasks.py",
            line=6,
            message="Task `welcome` is retried (`acks_late`) and creates an email again on",
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
            "from celery import shared_task\n\nfrom proj.services import billing\n\n"
            "@shared_task(acks_late=True)\n"
            "def settle(order_id):\n"
            "    billing.charge(order_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/services.py": "import requests\n\n"
                "class Billing:\n"
                "    def charge(self, order_id):\n"
                "        return requests.post('https://pay.example', json={'id': order_id}, timeout=5)\n\n"
                "billing = Billing()\n",
            },
            line=7,
            message="through `Billing.charge -> requests.post`",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.support import escalate\n\n"
            "@shared_task(bind=True, max_retries=3)\n"
            "def report(self, incident):\n"
            "    escalate(incident)\n"
            "    raise self.retry(countdown=60)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/support.py": "from proj.clients import Tracker\n\n"
                "def escalate(incident):\n    Tracker().open(incident)\n",
                "proj/clients.py": "class Tracker:\n"
                "    def open(self, incident):\n        self.jira.create_issue(fields={'summary': incident})\n",
            },
            line=7,
            message="through `escalate -> Tracker.open -> self.jira.create_issue`",
        ),
        Invalid(
            "import proj.utils as utils\nimport requests\n\n"
            "@utils.task(queue='billing')\n"
            "def charge(self, order_id):\n"
            "    requests.post('https://pay.example/charges', json={'order': order_id}, timeout=10)\n"
            "    requests.post('https://mail.example/receipts', json={'order': order_id}, timeout=10)\n",
            path="proj/billing.py",
            files=_FACTORY_PACKAGE,
            line=6,
            message="Task `charge` is retried (`autoretry_for`) and creates an HTTP POST again",
        ),
        Invalid(
            "from proj.base import tracked_task\nfrom proj.models import Invoice\n\n"
            "@tracked_task()\ndef bill(order_id):\n    Invoice.objects.create(order_id=order_id)\n",
            path="proj/billing.py",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import Celery, Task\n\napp = Celery('proj')\n\n"
                "class Tracked(Task):\n    acks_late = True\n",
                "proj/base.py": "from proj.celery import Tracked, app\n\n"
                "def tracked_task(*args, **options):\n    return app.task(*args, base=Tracked, **options)\n",
            },
            line=6,
            message="Task `bill` is retried (`acks_late`) and creates an ORM create again",
        ),
        Invalid(
            "from proj.jobs import late_task as job\nfrom proj.models import Invoice\n\n"
            "@job\ndef bill(order_id):\n    Invoice.objects.create(order_id=order_id)\n",
            path="proj/billing.py",
            files={
                "proj/__init__.py": "",
                "proj/jobs.py": "import functools\nfrom celery import shared_task\n\n"
                "late_task = functools.partial(shared_task, acks_late=True)\n",
            },
            line=6,
            message="Task `bill` is retried (`acks_late`)",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.billing import Billing\n\n"
            "@shared_task(acks_late=True)\n"
            "def send_invoice(order_id):\n"
            "    Billing().charge(order_id)\n\n"
            "@shared_task(acks_late=True)\n"
            "def resend_invoice(order_id):\n"
            "    Billing().charge(order_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/billing.py": "import requests\n\n"
                "class Billing:\n"
                "    def charge(self, order_id):\n"
                "        requests.post('https://pay.example', json={'id': order_id}, timeout=5)\n",
            },
            checked="proj/billing.py",
            line=5,
            message="through `send_invoice -> Billing.charge -> requests.post`: make it idempotent "
            "(an idempotency key, `get_or_create`, a done check) (also reached from 1 other job)",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.phone import PhoneBackend\n\n"
            "@shared_task(autoretry_for=(Exception,))\n"
            "def notify(user_id):\n"
            "    PhoneBackend().notify(user_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/phone.py": "import requests\nfrom proj.models import Log, Record\n\n"
                "class PhoneBackend:\n"
                "    def notify(self, user_id):\n"
                "        self._send(user_id)\n"
                "        Log.objects.bulk_create([Log(user_id=user_id)])\n\n"
                "    def _send(self, user_id):\n"
                "        response = requests.post(SMS_URL, data={'user': user_id}, timeout=5)\n"
                "        if response.status_code == 400:\n"
                "            raise ValueError(response.text)\n"
                "        Record(user_id=user_id).save()\n",
            },
            checked="proj/phone.py",
            line=10,
            message="creates an HTTP POST again on every attempt through `notify -> PhoneBackend.notify -> "
            "PhoneBackend._send -> requests.post`",
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
        Invalid(
            "from common.celery_tasks import retry_task\nimport requests\n\n"
            "@retry_task(autoretry_for=(OSError,))\n"
            "def page(user_id):\n"
            "    requests.post(PAGER_URL, json={'user': user_id}, timeout=5).raise_for_status()\n",
            path="apps/pager/tasks.py",
            files={
                "apps/__init__.py": "",
                "apps/pager/__init__.py": "",
                "common/__init__.py": "",
                "common/celery_tasks.py": "from celery import shared_task\n\n"
                "def retry_task(*args, **kwargs):\n    return shared_task(*args, queue='retry', **kwargs)\n",
            },
            line=6,
            message="Task `page` is retried (`autoretry_for`) and creates an HTTP POST",
        ),
        Invalid(
            "from celery import shared_task\n\nfrom proj.push import push\n\n"
            "@shared_task(autoretry_for=(Exception,))\n"
            "def notify(user_id):\n"
            "    push(user_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/push.py": "import requests\nfrom proj.models import Connector\n\n"
                "def push(user_id):\n"
                "    if not Connector.objects.exists():\n        return False\n"
                "    requests.post(RELAY_URL, json={'user': user_id}, timeout=5).raise_for_status()\n"
                "    return True\n",
            },
            checked="proj/push.py",
            line=7,
            message="through `notify -> push -> requests.post`",
        ),
    )
    valid = (
        Valid(
            "import proj.utils as utils\nimport requests\n\n"
            "@utils.task(queue='billing')\n"
            "def charge(self, order_id):\n"
            "    requests.post('https://pay.example/charges', json={'order': order_id}, timeout=10)\n",
            path="proj/billing.py",
            files=_FACTORY_PACKAGE,
        ),
        Valid(
            "from invoke import task\nimport requests\n\n@task\ndef deploy(c):\n"
            "    requests.post('https://deploy.example/releases', timeout=10)\n"
            "    requests.post('https://chat.example/messages', timeout=10)\n",
            path="proj/tasks.py",
            files={"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"},
        ),
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
            "from celery import shared_task\n\nfrom proj.services import record\n\n"
            "@shared_task(acks_late=True)\n"
            "def settle(order_id):\n"
            "    record(order_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/services.py": "from proj.models import Payment\n\n"
                "def record(order_id):\n"
                "    Payment.objects.get_or_create(order_id=order_id)\n",
            },
        ),
        Valid(
            "from celery import shared_task\n\nfrom proj.services import fetch\n\n"
            "@shared_task(acks_late=True)\n"
            "def refresh(order_id):\n"
            "    fetch(order_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/services.py": "import requests\n\n"
                "def fetch(order_id):\n"
                "    return requests.get(f'https://shop.example/{order_id}', timeout=5).json()\n",
            },
        ),
        Valid(
            "from celery import shared_task\n\nfrom proj.billing import Billing\n\n"
            "@shared_task(acks_late=True)\n"
            "def send_invoice(order_id):\n"
            "    Billing().charge(order_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/billing.py": "import requests\n\n"
                "class Billing:\n"
                "    def charge(self, order_id):\n"
                "        requests.post('https://pay.example', json={'id': order_id}, timeout=5)  # noqa: JL104\n",
            },
            checked="proj/billing.py",
        ),
        Valid(
            "from celery import shared_task\n\nfrom proj.phone import PhoneBackend\n\n"
            "@shared_task(autoretry_for=(Exception,))\n"
            "def notify(alert_id):\n"
            "    PhoneBackend().notify(alert_id)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/phone.py": "import requests\nfrom proj.models import Alert\n\n"
                "class PhoneBackend:\n"
                "    def notify(self, alert_id):\n"
                "        alert = Alert.objects.get(pk=alert_id)\n"
                "        if alert.sms_sent:\n            return\n"
                "        self._send(alert)\n\n"
                "    def _send(self, alert):\n"
                "        requests.post(SMS_URL, data={'alert': alert.pk}, timeout=5).raise_for_status()\n"
                "        alert.sms_sent = True\n        alert.save()\n",
            },
            checked="proj/phone.py",
        ),
        Valid(
            "from celery import shared_task\n\nfrom proj.regions import sync_regions\n\n"
            "@shared_task(autoretry_for=(Exception,))\n"
            "def refresh(regions):\n"
            "    sync_regions(regions)\n",
            path="proj/tasks.py",
            files={
                "proj/__init__.py": "",
                "proj/regions.py": "from proj.models import Region\n\n"
                "def sync_regions(regions):\n"
                "    existing = set(Region.objects.values_list('slug', flat=True))\n"
                "    Region.objects.bulk_create(Region(slug=r) for r in regions if r not in existing)\n"
                "    Region.objects.exclude(slug__in=regions).delete()\n",
            },
            checked="proj/regions.py",
        ),
        Valid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task(autoretry_for=(requests.RequestException,))\n"
            "def refresh(course_id):\n"
            "    data = {'grant_type': 'client_credentials', 'client_id': CLIENT_ID}\n"
            "    token = requests.post(TOKEN_URL, data=data, timeout=5).json()['access_token']\n"
            "    requests.get(COURSE_URL, headers={'Authorization': token}, timeout=5).raise_for_status()\n"
        ),
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
