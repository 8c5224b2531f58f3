from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.facts import Signature
from jobs_lint.semantic.model import Kind, Value

if TYPE_CHECKING:
    from jobs_lint.checker import Context


class CanvasArguments(Rule):
    """
    ## What it does
    Checks the signatures in a canvas against the tasks they call, when the task is defined in
    the project:

    - a mutable signature (`.s()`) that will receive a parent's result it has no parameter for:
      chain links after the first (`a.s() | b.s()`, `chain(...)`), the members of a group or the
      header of a chord that follows a task in a chain, callbacks given with `link=` or
      `.link()`, and a chord's body;
    - an immutable signature (`.si()`) as a chord body or chain link that leaves a required
      parameter empty: the callback needs the results it has refused.

    ## Why is this bad?
    Celery prepends the parent's result to a mutable signature's arguments. A task without a
    parameter for it fails with a `TypeError` at run time, after the first part of the workflow
    has already run (its side effects done, its retries spent). An immutable signature ignores
    the result, so a callback written to receive it fails with a missing argument. Neither shows
    up until the workflow runs, often only in production, since eager tests rarely build chords.

    ## Fix safety
    Turning `.s()` into `.si()` is offered when the arguments already given fill the task's
    required parameters. It is safe: the workflow cannot run as written, and the fixed one
    passes exactly the arguments written.
    """

    code = "JL103"
    name = "canvas-arguments"
    summary = "A canvas passes a task a result it has no parameter for, or withholds one it needs"
    needles = ((b".s(", b".si(", b"immutable"),)
    fix = Applicability.SAFE

    invalid = (
        Invalid(
            "from celery import chain, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef notify(user_id):\n    return user_id\n\n"
            "def refresh(url, user_id):\n    return chain(fetch.s(url), notify.s(user_id))()\n",
            fixed="from celery import chain, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef notify(user_id):\n    return user_id\n\n"
            "def refresh(url, user_id):\n    return chain(fetch.s(url), notify.si(user_id))()\n",
            line=12,
            message="`notify` receives the previous result as a chain link but has no",
        ),
        Invalid(
            "from celery import chord\nfrom proj.tasks import fetch, summarize\n\n"
            "def report(urls):\n    return chord(fetch.s(u) for u in urls)(summarize.si())\n",
            files={
                "proj/__init__.py": "",
                "proj/tasks.py": "from celery import shared_task\n\n"
                "@shared_task\ndef fetch(url):\n    return url\n\n"
                "@shared_task\ndef summarize(pages):\n    return len(pages)\n",
            },
            path="proj/views.py",
            line=5,
            message="`summarize.si()` as the chord body ignores the result it receives,",
        ),
        Invalid(
            "from proj.tasks import cleanup, render\n\n"
            "def export(doc_id):\n    render.apply_async((doc_id,), link=cleanup.s())\n",
            files={
                "proj/__init__.py": "",
                "proj/tasks.py": "from proj.celery import app\n\n"
                "@app.task\ndef render(doc_id):\n    return doc_id\n\n"
                "@app.task(bind=True)\ndef cleanup(self):\n    return None\n",
                "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
            },
            path="proj/views.py",
            line=4,
            message="`cleanup` receives the previous result as a `link=` callback but has",
        ),
        Invalid(
            "from celery import chord, group, shared_task\n\n"
            "@shared_task\ndef load(batch):\n    return batch\n\n"
            "@shared_task\ndef index(doc_id):\n    return doc_id\n\n"
            "@shared_task\ndef done(results):\n    return results\n\n"
            "def reindex(batch, ids):\n"
            "    return (load.s(batch) | chord([index.s(i) for i in ids], done.s()))()\n",
            line=16,
            message="`index` receives the previous result as a chord header member after a",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef add(x, y):\n    return x + y\n\n"
            "@shared_task\ndef log_done():\n    return None\n\n"
            "def compute():\n    flow = add.s(1, 2) | log_done.s()\n    return flow.delay()\n",
            fixed="from celery import shared_task\n\n"
            "@shared_task\ndef add(x, y):\n    return x + y\n\n"
            "@shared_task\ndef log_done():\n    return None\n\n"
            "def compute():\n    flow = add.s(1, 2) | log_done.si()\n    return flow.delay()\n",
            line=12,
            message="`log_done` receives the previous result as a chain link but has no",
        ),
        Invalid(
            "from celery import chord, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef store():\n    return None\n\n"
            "def crawl(urls):\n    return chord([fetch.s(u) for u in urls], store.s()).delay()\n",
            fixed="from celery import chord, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef store():\n    return None\n\n"
            "def crawl(urls):\n    return chord([fetch.s(u) for u in urls], store.si()).delay()\n",
            line=12,
            message="`store` receives the previous result as the chord body but has no",
        ),
    )
    valid = (
        Valid(
            "from celery import chain, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef parse(page, strict=False):\n    return page\n\n"
            "def refresh(url):\n    return chain(fetch.s(url), parse.s(strict=True))()\n"
        ),
        Valid(
            "from celery import chord, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef summarize(pages, title):\n    return title\n\n"
            "def report(urls):\n    return chord([fetch.s(u) for u in urls])(summarize.s('weekly'))\n"
        ),
        Valid(
            "from celery import group, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "def crawl(urls):\n    return group(fetch.s(u) for u in urls)()\n"
        ),
        Valid(
            "from celery import chain\nfrom other_service.tasks import fetch, notify\n\n"
            "def refresh(url, user_id):\n    return chain(fetch.s(url), notify.s(user_id))()\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef notify(*args, **kwargs):\n    return args\n\n"
            "def refresh(url, user_id):\n    return (fetch.s(url) | notify.s(user_id)).delay()\n"
        ),
        Valid(
            "from celery import chord, shared_task\n\n"
            "@shared_task\ndef fetch(url):\n    return url\n\n"
            "@shared_task\ndef announce(channel):\n    return channel\n\n"
            "def crawl(urls):\n    return chord([fetch.s(u) for u in urls], announce.si('#ops')).delay()\n"
        ),
        Valid("import re\n\ndef tokens(text, sep):\n    return re.split(sep, text) | {'s': text.split()}\n"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._done: set[int] = set()  # signatures already checked (`a | b | c` nests BinOps)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.BitOr):
            value = self._value(node)
            if value is not None and value.kind is Kind.CANVAS:
                self._chain(_flatten(node))

    def visit_Call(self, node: ast.Call) -> None:
        value = self._value(node)
        if value is not None and value.kind is Kind.CANVAS and value.node is node:
            if value.canvas == "chain":
                self._chain(_arguments(node))
            elif value.canvas == "chord":
                body = node.args[1] if len(node.args) > 1 else _keyword(node, "body")
                if body is not None:
                    self._callback(body, "the chord body")
            return
        func = node.func
        callee = self._value(func)
        if callee is not None and callee.kind is Kind.CANVAS and callee.canvas == "chord" and node.args:
            self._callback(node.args[0], "the chord body")  # chord(header)(body)
        elif isinstance(func, ast.Attribute) and func.attr in ("apply_async", "link") and self._is_task_thing(func):
            linked = _keyword(node, "link") if func.attr == "apply_async" else (node.args[0] if node.args else None)
            for element in _elements(linked) if linked is not None else []:
                self._receives(element, "a `link=` callback")

    def _is_task_thing(self, func: ast.Attribute) -> bool:
        receiver = self._value(func.value)
        return receiver is not None and receiver.kind in (Kind.TASK, Kind.SIGNATURE, Kind.CANVAS)

    def _value(self, node: ast.AST) -> Value | None:
        return self.ctx.model.value_of(node, self.ctx.scope)

    # Positions that receive a result --------------------------------------------------------

    def _chain(self, links: list[ast.expr] | None) -> None:
        if links is None:
            return
        for link in links[1:]:
            self._callback(link, "a chain link")

    def _callback(self, node: ast.expr, where: str) -> None:
        """`node` receives its parent's result: check the signatures that get it first."""
        value = self._value(node)
        if value is None:
            return
        if value.kind is Kind.SIGNATURE:
            self._receives(node, where)
        elif value.kind is Kind.CANVAS and value.node is not None:
            canvas = value.node
            if value.canvas == "chain":
                parts = _flatten(canvas) if isinstance(canvas, ast.BinOp) else _arguments(canvas)
                if parts:
                    self._callback(parts[0], where)
            elif value.canvas == "group":
                for member in _arguments(canvas) or []:
                    self._receives(member, "a group member after a task")
            elif value.canvas == "chord" and isinstance(canvas, ast.Call):
                header = canvas.args[0] if canvas.args else _keyword(canvas, "header")
                for member in _elements(header) if header is not None else []:
                    self._receives(member, "a chord header member after a task")

    def _receives(self, node: ast.expr, where: str) -> None:
        value = self._value(node)
        if value is None or value.kind is not Kind.SIGNATURE or value.task is None:
            return
        call = value.node
        if not isinstance(call, ast.Call) or id(call) in self._done:
            return
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("s", "si"):
            return
        if any(isinstance(arg, ast.Starred) for arg in call.args) or any(kw.arg is None for kw in call.keywords):
            return
        self._done.add(id(call))
        signature = value.task.signature
        given = len(call.args)
        keywords = {kw.arg for kw in call.keywords if kw.arg}
        task = value.task.qualname.rpartition(".")[2]
        if value.immutable:
            if not _fills(signature, given, keywords):
                self.report(
                    call,
                    f"`{task}.si()` as {where} ignores the result it receives, but `{task}` needs it: "
                    "use `.s()` or pass every argument",
                )
            return
        if _fits(signature, given + 1, keywords):
            return
        fix = None
        if _fits(signature, given, keywords) and _fills(signature, given, keywords):
            edit = edits.replace(self.ctx.source, func, f"{edits.text_of(self.ctx.source, func.value)}.si")
            fix = Fix("Make it immutable with `.si()`", (edit,))
        twice = keywords & set(signature.params[: given + 1])
        problem = (
            f"in `{sorted(twice)[0]}`, which is also passed by keyword"
            if twice and signature.accepts(given + 1)
            else "but has no parameter for it"
        )
        self.report(
            call,
            f"`{task}` receives the previous result as {where} {problem}: a `TypeError` at run time; "
            "use `.si()` to ignore it",
            fix,
        )


def _fits(signature: Signature, positional: int, keywords: set[str]) -> bool:
    """Whether this many positional arguments and these keywords can be passed."""
    if not signature.accepts(positional):
        return False
    return not (keywords & set(signature.params[:positional]))


def _fills(signature: Signature, positional: int, keywords: set[str]) -> bool:
    """Whether every required parameter gets a value."""
    required = signature.params[: signature.required]
    return all(index < positional or name in keywords for index, name in enumerate(required))


def _flatten(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_flatten(node.left), *_flatten(node.right)]
    return [node]


def _arguments(node: ast.expr) -> list[ast.expr] | None:
    """The tasks a chain, group or chord call is built from (its first argument for a chord)."""
    if not isinstance(node, ast.Call):
        return None
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        return None
    if len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple, ast.ListComp, ast.GeneratorExp)):
        return _elements(node.args[0])
    return list(node.args)


def _elements(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, (ast.List, ast.Tuple)):
        return [elt for elt in node.elts if not isinstance(elt, ast.Starred)]
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
        return [node.elt]
    return [node]


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)
