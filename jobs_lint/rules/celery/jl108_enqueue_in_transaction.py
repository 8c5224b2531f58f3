from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery.enqueue import enqueue_of, sends
from jobs_lint.semantic.summaries import ENQUEUE
from jobs_lint.semantic.syntax import own_nodes
from jobs_lint.semantic.web import django, django_requests

if TYPE_CHECKING:
    from jobs_lint.checker import Context

_TASKS = "from celery import shared_task\n\n@shared_task\ndef send_receipt(order_id):\n    return order_id\n"
_FILES = {"shop/__init__.py": "", "shop/tasks.py": _TASKS}
_SETTINGS = 'DATABASES = {\n    "default": {"ENGINE": "django.db.backends.postgresql", "ATOMIC_REQUESTS": True},\n}\n'
_SERVICES = (
    "from shop.tasks import send_receipt\n\n"
    "def place_order(cart):\n    order = cart.to_order()\n    send_receipt.delay(order.id)\n    return order\n"
)
_VIEW_FILES = {**_FILES, "shop/settings.py": _SETTINGS, "shop/services.py": _SERVICES}

# Code that runs as one unit: what a `with` block or a call belongs to.
_Body = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
# Where a SQLAlchemy session is used in a function: (position, session name, method).
SessionEvent = tuple[tuple[int, int], str, str]
ENQUEUES = frozenset({ENQUEUE})
_IN_REQUEST = "which `ATOMIC_REQUESTS` runs in a transaction"
_ADVICE = (
    "the worker can run before the commit; "
    "send it with `transaction.on_commit(...)`, `delay_on_commit()` or after the commit"
)


class EnqueueInTransaction(Rule):
    """
    ## What it does
    Finds a task sent with `.delay()`, `.apply_async()` or `send_task()` while a database
    transaction is still open: inside a Django `transaction.atomic()` block, a function decorated
    with `@transaction.atomic`, a project's own context manager that wraps `atomic()`, a
    SQLAlchemy `session.begin()` block, or between a SQLAlchemy session's writes and its
    `commit()`. Calls deferred in a lambda or a nested function (`transaction.on_commit(...)`)
    and read-only transactions on a replica (`atomic(using=REPLICA_DB)`) are left alone.

    When the settings set `ATOMIC_REQUESTS` on a database (`DATABASES["default"]`), Django runs
    every view in a transaction: a task sent in a view, or in a function the view calls in any
    module, is reported with the chain of calls. Views are functions taking `request` first in
    a `views` module and request handlers (`post`, `form_valid`, `perform_create`, ...) of
    classes deriving from Django's or DRF's views; views marked
    `@transaction.non_atomic_requests` are left alone, and so is a setting whose value the
    linter cannot read.

    ## Why is this bad?
    The message reaches the broker before the transaction commits. A worker can pick it up at
    once and read the database before the rows exist (`DoesNotExist`), or see the old values;
    if the transaction rolls back, the task runs for something that never happened.

    Send the task after the commit: `transaction.on_commit(lambda: task.delay(...))`, or
    `task.delay_on_commit(...)` (Celery 5.4+ with Django), or move the call after the block or
    after `session.commit()`.
    """

    code = "JL108"
    name = "enqueue-in-transaction"
    summary = "A task is sent before the database transaction commits"
    # `with ` for context managers that wrap `atomic()` under another name; `(request` and
    # `View` for views, which `ATOMIC_REQUESTS` runs in a transaction and whose calls may enqueue.
    needles = (
        (b".delay(", b"apply_async(", b"send_task(", b"(request", b"View"),
        (b"atomic", b"with ", b".commit(", b"(request", b"View"),
    )

    invalid = (
        Invalid(
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with transaction.atomic():\n"
            "        order = cart.to_order()\n"
            "        send_receipt.delay(order.id)\n",
            files=_FILES,
            path="shop/views.py",
            line=7,
            message="`send_receipt.delay()` inside `transaction.atomic()`",
        ),
        Invalid(
            "from django.db.transaction import atomic\n"
            "from shop.tasks import send_receipt\n\n"
            "@atomic\n"
            "def checkout(cart):\n"
            "    order = cart.to_order()\n"
            "    send_receipt.apply_async((order.id,), countdown=5)\n",
            files=_FILES,
            path="shop/views.py",
            line=7,
            message="`send_receipt.apply_async()` in a function decorated with `@atomic`",
        ),
        Invalid(
            "from django.db import transaction as tx\n"
            "from shop.tasks import send_receipt\n\n"
            "@tx.atomic(using='orders')\n"
            "def checkout(cart):\n"
            "    for order in cart.split():\n"
            "        send_receipt.delay(order.id)\n",
            files=_FILES,
            path="shop/views.py",
            line=7,
            message="`send_receipt.delay()` in a function decorated with",
        ),
        Invalid(
            "from shop.db import locked\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with locked():\n"
            "        send_receipt.delay(cart.order_id)\n",
            files={
                **_FILES,
                "shop/db.py": "from contextlib import contextmanager\n"
                "from django.db import transaction\n\n"
                "@contextmanager\ndef locked():\n"
                "    with transaction.atomic():\n        yield\n",
            },
            path="shop/views.py",
            line=6,
            message="`send_receipt.delay()` inside `locked()`",
        ),
        Invalid(
            "from sqlalchemy.orm import Session\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(engine, order):\n"
            "    with Session(engine) as session, session.begin():\n"
            "        session.add(order)\n"
            "        send_receipt.delay(order.id)\n",
            files=_FILES,
            path="shop/views.py",
            line=7,
            message="`send_receipt.delay()` inside `session.begin()`",
        ),
        Invalid(
            "from sqlalchemy.ext.asyncio import AsyncSession\n"
            "from shop.tasks import send_receipt\n\n"
            "async def checkout(session: AsyncSession, order):\n"
            "    session.add(order)\n"
            "    await session.flush()\n"
            "    send_receipt.delay(order.id)\n"
            "    await session.commit()\n",
            files=_FILES,
            path="shop/views.py",
            line=7,
            message="`send_receipt.delay()` before `session.commit()`",
        ),
        Invalid(
            "from django.shortcuts import redirect\n"
            "from shop.services import place_order\n\n"
            "def checkout(request):\n"
            "    place_order(request.cart)\n"
            "    return redirect('done')\n",
            files=_VIEW_FILES,
            path="shop/views.py",
            line=5,
            message="`send_receipt.delay()` reached from view `checkout` through "
            "`place_order -> shop.tasks.send_receipt.delay`, which `ATOMIC_REQUESTS` runs",
        ),
        Invalid(
            "from django.shortcuts import redirect\n"
            "from shop.services import place_order\n\n"
            "def checkout(request):\n"
            "    place_order(request.cart)\n"
            "    return redirect('done')\n",
            files=_VIEW_FILES,
            path="shop/views.py",
            checked="shop/services.py",
            line=5,
            message="`send_receipt.delay()` reached from view `checkout` through "
            "`checkout -> place_order -> shop.tasks.send_receipt.delay`, which `ATOMIC_REQUESTS` runs",
        ),
        Invalid(
            "from rest_framework.views import APIView\n"
            "from shop.tasks import send_receipt\n\n"
            "class OrderView(APIView):\n"
            "    def post(self, request):\n"
            "        order = request.cart.to_order()\n"
            "        send_receipt.apply_async((order.id,))\n",
            files={
                **_FILES,
                "shop/config.py": "class DatabaseSettings:\n    atomic_requests = True\n",
                "shop/settings.py": "from shop.config import DatabaseSettings\n\nDATABASES = {'default': {}}\n"
                "DATABASES['default']['ATOMIC_REQUESTS'] = DatabaseSettings.atomic_requests\n",
            },
            path="shop/views.py",
            line=7,
            message="`send_receipt.apply_async()` in view `OrderView.post`, which `ATOMIC_REQUESTS` runs",
        ),
    )
    valid = (
        Valid(
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(request):\n"
            "    order = request.cart.to_order()\n"
            "    transaction.on_commit(lambda: send_receipt.delay(order.id))\n",
            files=_VIEW_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from django.db import transaction\n"
            "from shop.services import place_order\n\n"
            "@transaction.non_atomic_requests\n"
            "def checkout(request):\n"
            "    place_order(request.cart)\n",
            files=_VIEW_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from shop.services import place_order\n\ndef checkout(request):\n    place_order(request.cart)\n",
            files={
                **_VIEW_FILES,
                "shop/settings.py": "import environ\n\nenv = environ.Env()\n"
                "DATABASES = {'default': env.db()}\n"
                "DATABASES['default']['ATOMIC_REQUESTS'] = env.bool('ATOMIC', default=True)\n",
            },
            path="shop/views.py",
        ),
        Valid(
            "from django.views import View\n"
            "from shop.services import place_order\n\n"
            "class CheckoutView(View):\n"
            "    def post(self, request):\n"
            "        place_order(request.cart)\n",
            files={**_VIEW_FILES, "shop/settings.py": "DATABASES = {'default': {'ENGINE': 'x'}}\n"},
            path="shop/views.py",
        ),
        Valid(
            "from django.core.management.base import BaseCommand\n"
            "from shop.services import place_order\n\n"
            "class Command(BaseCommand):\n"
            "    def handle(self, *args, **options):\n"
            "        place_order(options['cart'])\n",
            files=_VIEW_FILES,
            path="shop/management/commands/checkout.py",
        ),
        Valid(
            "from functools import partial\n"
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with transaction.atomic():\n"
            "        order = cart.to_order()\n"
            "        transaction.on_commit(partial(send_receipt.delay, order.id))\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with transaction.atomic():\n"
            "        order = cart.to_order()\n"
            "        transaction.on_commit(lambda: send_receipt.delay(order.id))\n"
            "        send_receipt.delay_on_commit(order.id)\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with transaction.atomic():\n"
            "        order = cart.to_order()\n"
            "    send_receipt.delay(order.id)\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from django.db import transaction\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart):\n"
            "    with transaction.atomic():\n"
            "        def later():\n"
            "            send_receipt.delay(cart.order_id)\n"
            "        transaction.on_commit(later)\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "import threading\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(cart, atomic_lock: threading.Lock):\n"
            "    with atomic_lock:\n"
            "        send_receipt.delay(cart.order_id)\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from sqlalchemy.orm import Session\n"
            "from shop.tasks import send_receipt\n\n"
            "def checkout(engine, order):\n"
            "    with Session(engine) as session:\n"
            "        session.add(order)\n"
            "        session.commit()\n"
            "        send_receipt.delay(order.id)\n",
            files=_FILES,
            path="shop/views.py",
        ),
        Valid(
            "from shop.tasks import send_receipt\n\n"
            "def checkout(db, order):\n"
            "    with db.begin():\n"
            "        db.add(order)\n"
            "        send_receipt.delay(order.id)\n"
            "    db.commit()\n",
            files=_FILES,
            path="shop/views.py",
        ),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        # Open transaction blocks: (the `with`, what it opens, the function it runs in).
        self._blocks: list[tuple[ast.With | ast.AsyncWith, str, _Body | None]] = []
        self._lambdas: list[ast.Lambda] = []
        self._decorated: dict[int, str | None] = {}
        self._sessions: dict[int, list[SessionEvent]] = {}
        self._views: dict[int, str | None] = {}

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """A view run in a transaction by `ATOMIC_REQUESTS`: the enqueues its calls reach."""
        view = self._view(node)
        if view is None:
            return
        model = self.ctx.model
        for call, reach in model.reaches(node, ENQUEUES):
            if not sends(model.index, reach.effect):
                continue
            self.report_reach(
                call,
                view,
                reach,
                f"`{reach.effect.what}` reached from view `{view}` through `{reach.chain}`, {_IN_REQUEST}: {_ADVICE}",
            )

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            opened = django.transaction_of(self.ctx.model, item.context_expr, self.ctx.scope)
            if opened is not None:
                self._blocks.append((node, opened, self._function()))
                return

    visit_AsyncWith = visit_With

    def leave_With(self, node: ast.With | ast.AsyncWith) -> None:
        if self._blocks and self._blocks[-1][0] is node:
            self._blocks.pop()

    leave_AsyncWith = leave_With

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas.append(node)

    def leave_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas.pop()

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.ctx
        if not (isinstance(node.func, ast.Attribute) and node.func.attr in ("delay", "apply_async", "send_task")):
            return
        sent = enqueue_of(ctx.model, node, ctx.scope)
        if sent is None:
            return
        where = self._open_transaction(node)
        function = self._function()
        if where is None and isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            view = self._view(function)
            where = f"in view `{view}`, {_IN_REQUEST}" if view is not None else None
        if where is not None and node.lineno not in self._reported_lines:
            self._reported_lines.add(node.lineno)
            self.report(node, f"`{sent.label}` {where}: {_ADVICE}")

    def _open_transaction(self, node: ast.Call) -> str | None:
        function = self._function()
        for _, opened, owner in reversed(self._blocks):
            if owner is function:
                return f"inside `{opened}`"
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        if id(function) not in self._decorated:
            self._decorated[id(function)] = self._atomic_decorator(function)
        decorated = self._decorated[id(function)]
        if decorated is not None:
            return f"in a function decorated with `@{decorated}`"
        session = self._uncommitted_session(function, node)
        return f"before `{session}.commit()`" if session else None

    def _view(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        if id(function) not in self._views:
            self._views[id(function)] = django_requests.atomic_view(self.ctx.model, function)
        return self._views[id(function)]

    def _function(self) -> _Body | None:
        """The innermost function or lambda: code in a nested one runs later, if at all."""
        if self._lambdas:
            return self._lambdas[-1]
        defs = self.ctx.enclosing_defs
        return defs[-1] if defs and not isinstance(defs[-1], ast.ClassDef) else None

    def _atomic_decorator(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        model = self.ctx.model
        scope = model.scope_of(function).parent or model.module_scope
        for decorator in function.decorator_list:
            opened = django.transaction_of(model, decorator, scope)
            if opened is not None:
                return ast.unparse(decorator)
        return None

    def _uncommitted_session(self, function: ast.FunctionDef | ast.AsyncFunctionDef, node: ast.Call) -> str | None:
        """A SQLAlchemy session that wrote before `node` in this function and commits after it."""
        events = self._sessions.get(id(function))
        if events is None:
            events = self._sessions[id(function)] = self._session_events(function)
        position = (node.lineno, node.col_offset)
        written: set[str] = set()
        for at, session, method in events:
            if at < position:
                if method in django.SESSION_WRITES:
                    written.add(session)
                else:
                    written.discard(session)
            elif session in written and method in django.SESSION_ENDS:
                return session if method == "commit" else None
        return None

    def _session_events(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[SessionEvent]:
        """Writes and commits of SQLAlchemy sessions named in this function's own body, in order."""
        model = self.ctx.model
        scope = model.scope_of(function)
        events = []
        for node in own_nodes(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in django.SESSION_WRITES | django.SESSION_ENDS
                and isinstance(func.value, ast.Name)
                and django.is_sqlalchemy(model, func.value, scope)
            ):
                events.append(((node.lineno, node.col_offset), func.value.id, func.attr))
        return sorted(events)
