"""JL104's examples that span modules: tasks made by a project's decorators, and side effects
reached through the functions a task calls (`files=` gives the other modules)."""

from __future__ import annotations

from jobs_lint.rules.base import Invalid, Valid

# A task decorator made by the project in a package's `__init__`, re-exported from its module.
_FACTORY_PACKAGE = {
    "proj/__init__.py": "",
    "proj/utils/__init__.py": "from proj.utils.tasks import task\n",
    "proj/utils/tasks.py": "from celery import shared_task\n\n"
    "def task(**options):\n    return shared_task(bind=True, autoretry_for=(ConnectionError,), **options)\n",
}

# An RPC-style API client: every call is a POST, the getter's asks for what it returns.
_TICKET_CLIENT = {
    "proj/__init__.py": "",
    "proj/tickets.py": "import httpx\nimport requests\n\n"
    "class TicketClient:\n"
    "    def _call(self, method, payload):\n"
    "        response = requests.post(f'{API}/rpc/{method}', json=payload, timeout=5)\n"
    "        response.raise_for_status()\n        return response\n\n"
    "    def get_ticket(self, ticket_id):\n"
    "        response = self._call('TicketService.Get', {'id': ticket_id})\n"
    "        return response.json()['ticket']\n\n"
    "    def open_ticket(self, title):\n"
    "        return self._call('TicketService.Create', {'title': title}).json()['ticket']\n\n"
    "async def convert_to_markdown(document):\n"
    "    async with httpx.AsyncClient() as client:\n"
    "        response = await client.post(f'{API}/convert-to-markdown', json=document)\n"
    "    data = response.json()\n    markdown = data.get('markdown')\n    return markdown\n",
}

REACHED_INVALID = (
    Invalid(
        "from celery import shared_task\n\nfrom proj.tickets import TicketClient\n\n"
        "@shared_task(acks_late=True)\n"
        "def escalate(alert_id):\n"
        "    ticket = TicketClient().open_ticket(f'Alert {alert_id}')\n"
        "    Alert.objects.filter(pk=alert_id).update(ticket_id=ticket['id'])\n",
        path="proj/tasks.py",
        files=_TICKET_CLIENT,
        line=7,
        message="through `TicketClient.open_ticket -> TicketClient._call -> requests.post`",
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
REACHED_VALID = (
    Valid(
        "from celery import shared_task\n\nfrom proj.tickets import TicketClient\n\n"
        "@shared_task(acks_late=True)\n"
        "def sync_status(ticket_id):\n"
        "    status = TicketClient().get_ticket(ticket_id)['status']\n"
        "    Ticket.objects.filter(pk=ticket_id).update(status=status)\n",
        path="proj/tasks.py",
        files=_TICKET_CLIENT,
    ),
    Valid(
        "import asyncio\n\nfrom celery import shared_task\n\nfrom proj.tickets import convert_to_markdown\n\n"
        "@shared_task(acks_late=True)\n"
        "def reindex(document_id):\n"
        "    document = Document.objects.get(pk=document_id)\n"
        "    document.markdown = asyncio.run(convert_to_markdown(document.blocks))\n"
        "    document.save()\n",
        path="proj/tasks.py",
        files=_TICKET_CLIENT,
        checked="proj/tickets.py",
    ),
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
)
