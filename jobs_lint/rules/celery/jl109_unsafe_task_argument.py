from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery.enqueue import PARTIALS, SENDS, enqueue_of, signature_of
from jobs_lint.semantic.facts import TaskInfo
from jobs_lint.semantic.messages.forwarders import forwarded
from jobs_lint.semantic.messages.secrets import secret_sent

_TASKS = (
    "from celery import shared_task\n\n"
    "@shared_task\ndef notify(user_id, password=None):\n    return user_id\n\n"
    "@shared_task\ndef process(upload):\n    return upload\n"
)
_FILES = {"app/__init__.py": "", "app/tasks.py": _TASKS}


class UnsafeTaskArgument(Rule):
    """
    ## What it does
    Finds task messages that carry a secret: an argument named like a password, a token, an API
    key or a private key, whether by keyword, by the called task's parameter name, or by the
    variable or setting passed, or inside a dict or tuple the sending function builds (a log record
    with the caller's API key) or gets from a function of its module (`settings =
    get_settings(request)` that returns a password). It reads `.delay()`, `.apply_async()`,
    `send_task()`, the signatures that send later (`.s()`, `.si()`, `.signature()`), and calls to
    a project function that passes its own arguments on to one of them. Rows, files, uploads
    and other values that do not belong in a message are JL114's.

    A token is a secret when it lets its holder in: an access, refresh, reset or invitation
    token, or a bare `token`. One whose qualifier says what it addresses is an identifier and
    stays quiet: a page cursor, a CSRF or idempotency value, a device's push address
    (`device_token`, `registration_token`), a public short id shown in URLs (`friendly_token`),
    and a bare `token` that the task of the same module passes on as an id
    (`FCMDevice(registration_id=token)`).

    ## Why is this bad?
    A message is stored as it was sent: secrets in it lie in clear text in the broker, its
    persistence files (Redis's RDB and AOF, RabbitMQ's message store) and the result backend,
    and are shown by monitoring tools such as Flower and in the worker's logs when a task fails.
    Anyone who can read the broker can read them, long after the task has run.

    Let the task read the secret from its own configuration or a secret store, and pass an id
    that says which one to use.
    """

    code = "JL109"
    name = "unsafe-task-argument"
    summary = "A task message carries a secret: a password, a token or a key"
    # `_async(`: `apply_async(`, and the project's helpers named for sending (`run_async(`).
    needles = ((b".delay(", b"_async(", b"send_task(", b".s(", b".si(", b".signature("),)

    invalid = (
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
            "from app.tasks import notify\n\ndef remind(user, token):\n    notify.delay(user.id, token)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`notify.delay()` is sent a secret (`password`)",
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
        Invalid(
            "from app.tasks import process\n\n"
            "def connect(user, db_password):\n"
            "    process.apply_async((db_password,), countdown=5)\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`process.apply_async()` is sent a secret (`db_password`)",
        ),
        Invalid(
            "from app.tasks import process\n\n"
            "def log_request(request, api_key):\n"
            "    record = {'token_identifier': api_key, 'path': request.path}\n"
            "    process.delay({**record, 'status': 200})\n",
            files=_FILES,
            path="app/middleware.py",
            line=5,
            message="`process.delay()` is sent a secret (`api_key`)",
        ),
        Invalid(
            "from app.tasks import process\n\n"
            "def get_settings(store):\n"
            "    password = store.get('password')\n"
            "    return store.get('url'), password\n\n"
            "def share(store, files):\n"
            "    settings = get_settings(store)\n"
            "    process.delay(settings, files)\n",
            files=_FILES,
            path="app/views.py",
            line=9,
            message="`process.delay()` is sent a secret (`password`)",
        ),
        Invalid(
            "from app.worker import run_async\n\n"
            "def upload(task_id, token):\n"
            "    run_async(upload_asset, task_id, token)\n\n"
            "def upload_asset(task_id, token):\n    return task_id\n",
            files={
                **_FILES,
                "app/worker.py": "from app.tasks import process\n\n"
                "def run_async(func, *args, **kwargs):\n"
                "    return process.delay(func.__name__, *args, **kwargs)\n",
            },
            path="app/views.py",
            line=4,
            message="`run_async()` puts a secret (`token`) in a task message (`process.delay()`)",
        ),
        Invalid(
            "from django.db import transaction\nfrom app.tasks import process\n\n"
            "def rotate(user):\n"
            "    transaction.on_commit(lambda key=user.api_key: process.delay(key))\n",
            files=_FILES,
            path="app/views.py",
            line=5,
            message="`process.delay()` is sent a secret (`api_key`)",
        ),
        Invalid(
            "from celery import shared_task\nfrom mail import send\n\n"
            "@shared_task\ndef reset(user_id, token):\n"
            "    send(user_id=user_id, link=f'/reset?token={token}')\n\n"
            "def post(request):\n"
            "    token = request.data['token']\n"
            "    reset.delay(request.user.id, token=token)\n",
            path="app/reset.py",
            line=10,
            message="`reset.delay()` is sent a secret (`token`)",
        ),
    )
    valid = (
        Valid(
            "from app.tasks import notify\n\ndef rotate(user, credential_id):\n    notify.delay(credential_id)\n",
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
        Valid(
            "from app.worker import run_async, run_here\n\n"
            "def upload(task_id, token):\n"
            "    run_async(upload_asset, task_id, name='x')\n"
            "    run_here(upload_asset, token)\n\n"
            "def upload_asset(task_id, token):\n    return task_id\n",
            files={
                **_FILES,
                "app/worker.py": "from app.tasks import process\n\n"
                "def run_async(func, *args, **kwargs):\n"
                "    return process.delay(func.__name__, *args, **kwargs)\n\n"
                "def run_here(func, *args):\n"
                "    process.delay(func.__name__)\n"
                "    return func(*args)\n",
            },
            path="app/views.py",
        ),
        Valid(
            "from app.tasks import process\n\n"
            "class Media:\n"
            "    def save(self):\n"
            "        process.delay(self.friendly_token)\n\n"
            "    def url(self):\n"
            "        return f'/view?m={self.friendly_token}'\n\n"
            "    def encode(self, on_commit):\n"
            "        on_commit(lambda token=self.friendly_token: process.delay(token))\n\n"
            "def register(device_token, registration_token):\n"
            "    process.delay(device_token)\n"
            "    process.delay(registration_token)\n",
            files=_FILES,
            path="app/models.py",
        ),
        Valid(
            "from app.tasks import process\n\n"
            "def get_settings(store):\n"
            "    return store.get('url'), store.get('user')\n\n"
            "def share(store, files, api_key):\n"
            "    settings = get_settings(store)\n"
            "    record = {'has_key': bool(api_key)}\n"
            "    user_id, token = settings\n"
            "    process.delay(settings, files, record, user_id)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from celery import shared_task\nfrom push import Device\n\n"
            "@shared_task\ndef relay(token, data):\n"
            "    Device(registration_id=token).send(data)\n\n"
            "def post(request):\n"
            "    token = request.data['token']\n"
            "    relay.delay(token=token, data=request.data['data'])\n",
            path="app/relay.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and (func.attr in SENDS or func.attr in PARTIALS)):
            self._through_helper(node)
            return
        ctx = self.ctx
        sent = (signature_of if func.attr in PARTIALS else enqueue_of)(ctx.model, node, ctx.scope)
        if sent is None:
            return
        verb = "is sent" if func.attr in SENDS else "will send"
        for param, value in sent.arguments():
            secret = secret_sent(ctx.model, param, value, ctx.scope)
            if secret is not None and not self._used_as_id(sent.task, param):
                self.report(
                    value,
                    f"`{sent.label}` {verb} a secret (`{secret}`): the broker stores it in clear text; "
                    "let the task read it",
                )

    def _used_as_id(self, task: TaskInfo | None, param: str | None) -> bool:
        """Whether a task of this module passes the parameter on as an id
        (`FCMDevice(registration_id=token)`): the task itself says the value names something."""
        model = self.ctx.model
        module, _, name = task.qualname.rpartition(".") if task is not None else ("", "", "")
        if param is None or module != model.module:
            return False
        found = model.lookup(name, model.module_scope)
        function = found[0][0] if found is not None and len(found[0]) == 1 else None
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return False
        return any(
            isinstance(node, ast.keyword)
            and isinstance(node.value, ast.Name)
            and node.value.id == param
            and (node.arg or "").rpartition("_")[2] == "id"
            for node in ast.walk(function)
        )

    def _through_helper(self, node: ast.Call) -> None:
        """A project function that sends its arguments in a task message (`run_async(f, token)`
        ending in `eval_async.delay(source, *args)`)."""
        ctx = self.ctx
        found = forwarded(ctx.model, ctx.index, node, ctx.scope)
        if found is None or found[0].method not in SENDS:
            return
        helper, arguments = found
        name = ast.unparse(node.func)
        for param, value in arguments:
            secret = secret_sent(ctx.model, param, value, ctx.scope)
            if secret is not None:
                self.report(
                    value,
                    f"`{name}()` puts a secret (`{secret}`) in a task message (`{helper.label}`): the "
                    "broker stores it in clear text; let the task read it",
                )
