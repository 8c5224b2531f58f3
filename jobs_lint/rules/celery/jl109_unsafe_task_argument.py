from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic import payloads
from jobs_lint.semantic.celery.enqueue import PARTIALS, SENDS, enqueue_of, signature_of
from jobs_lint.semantic.web import django

# Last words of a name that hold a secret (`db_password`, `stripe_api_key`).
_SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token", "apikey", "credentials"})
_SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key")})
_PUBLIC_TOKENS = frozenset({"csrf", "page", "next", "continuation", "cancel", "cancellation", "device", "sync"})
_TASKS = (
    "from celery import shared_task\n\n"
    "@shared_task\ndef notify(user_id, password=None):\n    return user_id\n\n"
    "@shared_task\ndef process(upload):\n    return upload\n"
)
_FILES = {"app/__init__.py": "", "app/tasks.py": _TASKS}


class UnsafeTaskArgument(Rule):
    """
    ## What it does
    Finds task messages that carry what a broker should never carry: Django model instances and
    QuerySets (`Order.objects.get(...)`, `get_object_or_404(...)`), the web request, open files,
    file contents or bytes (`f.read()`, `base64.b64encode(...)`), and secrets: arguments named
    like a password, a token, an API key or a private key, whether by keyword, by the called
    task's parameter name, or by the variable passed. It reads `.delay()`, `.apply_async()`,
    `send_task()`, and the signatures that send later (`.s()`, `.si()`, `.signature()`).

    ## Why is this bad?
    A message is serialized when it is sent and read when a worker gets to it, maybe much later.
    A model instance is stale by then (or fails to serialize with JSON, or with pickle trusts the
    broker with code); a request or an open file cannot cross processes at all; file contents
    bloat the broker, which holds every message in memory (Redis) or on its queues. Secrets are
    stored in clear text in the broker, its persistence files and the result backend, and shown
    by monitoring tools such as Flower.

    Pass ids and storage keys, and let the task load the object, read the file, or fetch the
    secret from its own configuration.
    """

    code = "JL109"
    name = "unsafe-task-argument"
    summary = "A task message carries an ORM object, a request, a file, bytes or a secret"
    needles = ((b".delay(", b"apply_async(", b"send_task(", b".s(", b".si(", b".signature("),)

    invalid = (
        Invalid(
            "from app.models import Upload\nfrom app.tasks import process\n\n"
            "def upload_done(upload_id):\n"
            "    upload = Upload.objects.get(pk=upload_id)\n"
            "    process.delay(upload)\n",
            files=_FILES,
            path="app/views.py",
            line=6,
            message="`process.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from app.tasks import notify\n\n"
            "def signup(user, raw_password):\n"
            "    notify.delay(user.id, password=raw_password)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`notify.delay()` is sent a secret (`password`)",
        ),
        Invalid(
            "from app.tasks import process\n\n"
            "def upload(request):\n"
            "    process.apply_async(args=(request.FILES['file'].read(),))\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`process.apply_async()` is sent file contents or bytes",
        ),
        Invalid(
            "from app.tasks import process\n\ndef upload(request):\n    process.delay(request)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`process.delay()` is sent the web request",
        ),
        Invalid(
            "from app.tasks import notify\n\ndef remind(user, token):\n    notify.delay(user.id, token)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`notify.delay()` is sent a secret (`password`)",
        ),
        Invalid(
            "import base64\nfrom app.tasks import process\n\n"
            "def upload(path):\n"
            "    with open(path, 'rb') as handle:\n"
            "        process.delay(handle)\n"
            "        process.delay(base64.b64encode(handle.read()))\n",
            files=_FILES,
            path="app/views.py",
            line=6,
            message="`process.delay()` is sent an open file",
        ),
        Invalid(
            "from celery import chain\nfrom app.models import Upload\nfrom app.tasks import notify, process\n\n"
            "def pipeline(upload_id):\n"
            "    upload = Upload.objects.get(pk=upload_id)\n"
            "    chain(process.s(upload), notify.si(upload_id)).delay()\n",
            files=_FILES,
            path="app/views.py",
            line=7,
            message="`process.s()` will send a model instance or QuerySet",
        ),
        Invalid(
            "from app.tasks import notify\n\n"
            "def prepare(user, key):\n"
            "    return notify.signature(args=(user.id,), kwargs={'password': key}, immutable=True)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`notify.signature()` will send a secret (`password`)",
        ),
        Invalid(
            "from django.conf import settings\nfrom celery import current_app\n\n"
            "def sync():\n"
            "    current_app.send_task('crm.sync', kwargs={'api_key': settings.CRM_API_KEY})\n",
            path="app/views.py",
            line=5,
            message="`current_app.send_task()` is sent a secret (`api_key`)",
        ),
    )
    valid = (
        Valid(
            "from app.tasks import process\n\ndef upload_done(upload):\n    process.delay(upload.pk)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from app.models import Upload\nfrom app.tasks import process\n\n"
            "def upload_done():\n"
            "    ids = list(Upload.objects.filter(done=True).values_list('pk', flat=True))\n"
            "    process.delay(ids)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from app.tasks import notify\n\n"
            "def reset(user, token_id, password_reset_url):\n"
            "    notify.delay(user.id, token_id=token_id, reset_url=password_reset_url, password_changed=True)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from app.tasks import process\n\n"
            "def upload(request):\n"
            "    key = request.FILES['file'].name\n"
            "    process.delay(key)\n"
            "    return request.session.get('password')\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "import requests\n\n"
            "def call(token):\n"
            "    requests.post('https://example.com', data={'password': token}, timeout=5)\n"
            "    return open('x').read()\n",
            path="app/views.py",
        ),
        Valid(
            "from app.tasks import process\n\n"
            "def page(next_page_token, csrf_token):\n"
            "    process.delay(next_page_token)\n"
            "    process.delay(csrf_token)\n",
            files=_FILES,
            path="app/views.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and (func.attr in SENDS or func.attr in PARTIALS)):
            return
        ctx = self.ctx
        sent = (signature_of if func.attr in PARTIALS else enqueue_of)(ctx.model, node, ctx.scope)
        if sent is None:
            return
        for param, value in sent.arguments():
            problem = self._problem(param, value)
            if problem is not None:
                self.report(value, f"`{sent.label}` {'is sent' if func.attr in SENDS else 'will send'} {problem}")

    def _problem(self, param: str | None, value: ast.expr) -> str | None:
        ctx = self.ctx
        if param is not None and _is_secret(param):
            return f"a secret (`{param}`): the broker stores it in clear text; let the task read it"
        shown = _name_of(value)
        if shown is not None and _is_secret(shown):
            return f"a secret (`{shown}`): the broker stores it in clear text; let the task read it"
        if django.is_orm_object(ctx.model, value, ctx.scope):
            return "a model instance or QuerySet: pass its id and load it in the task"
        if self._is_request(value):
            return "the web request: pass the values the task needs"
        if payloads.is_open_file(ctx.model, value, ctx.scope):
            return "an open file: pass a path or storage key"
        if payloads.is_content(ctx.model, value, ctx.scope):
            return "file contents or bytes: store them and pass a storage key"
        return None

    def _is_request(self, value: ast.expr) -> bool:
        if isinstance(value, ast.Name):
            return value.id == "request" and self.ctx.model.lookup("request", self.ctx.scope) is None
        return (
            isinstance(value, ast.Attribute)
            and value.attr == "request"
            and isinstance(value.value, ast.Name)
            and value.value.id == "self"
            and self.ctx.enclosing_task() is None
        )


def _is_secret(name: str) -> bool:
    """Named for a secret by its last word(s): `db_password`, `reset_token`, `AWS_SECRET_ACCESS_KEY`;
    not `password_changed`, `token_id`, `private_key_path` or `next_page_token`."""
    words = [word for word in _split(name) if word]
    if not words:
        return False
    last = words[-1]
    before = words[-2] if len(words) > 1 else None
    if last in _SECRET_WORDS:
        return not (last == "token" and before in _PUBLIC_TOKENS)
    return before is not None and (before, last) in _SECRET_PAIRS


def _split(name: str) -> list[str]:
    """`CRM_API_KEY`, `apiKey` and `api_key` all give `api`, `key`."""
    spaced = "".join(f"_{c}" if c.isupper() and i and name[i - 1].islower() else c for i, c in enumerate(name))
    return spaced.lower().split("_")


def _name_of(value: ast.expr) -> str | None:
    """The variable or attribute a value is read from (`token`, `settings.CRM_API_KEY`)."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    return None
