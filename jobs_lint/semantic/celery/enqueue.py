"""Calls that send a Celery task message: `.delay()`, `.apply_async()`, `app.send_task()`."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.facts import TaskInfo
from jobs_lint.semantic.model import Kind

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope
    from jobs_lint.semantic.summaries import Effect

SENDS = frozenset({"delay", "apply_async", "send_task"})
# Signature constructors: their arguments travel in the message that eventually sends them.
PARTIALS = frozenset({"s", "si", "signature"})


@dataclass(frozen=True, slots=True)
class Enqueue:
    method: str  # delay, apply_async, send_task; s, si or signature for a signature's arguments
    call: ast.Call
    task: TaskInfo | None  # the task sent, when the project defines it

    @property
    def label(self) -> str:
        """How a message names the call: `fetch.delay()`, `app.send_task()`."""
        func = self.call.func
        assert isinstance(func, ast.Attribute)
        receiver = func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", None)
        return f"{name}.{self.method}()" if name else f".{self.method}()"

    def arguments(self) -> list[tuple[str | None, ast.expr]]:
        """The task's arguments as (parameter name when known, expression)."""
        call = self.call
        if self.method in ("delay", "s", "si"):
            positional, keywords = call.args, {k.arg: k.value for k in call.keywords if k.arg}
        else:
            index = 1 if self.method == "send_task" else 0  # apply_async and signature: (args, kwargs)
            args = call.args[index] if len(call.args) > index else _keyword(call, "args")
            kwargs = call.args[index + 1] if len(call.args) > index + 1 else _keyword(call, "kwargs")
            positional = list(args.elts) if isinstance(args, (ast.List, ast.Tuple)) else []
            keywords = {}
            if isinstance(kwargs, ast.Dict):
                for key, value in zip(kwargs.keys, kwargs.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        keywords[key.value] = value
        # A mutable signature's arguments come after its parent's result: positions are unknown.
        params = self.task.signature.params if self.task is not None and self.method != "s" else ()
        found: list[tuple[str | None, ast.expr]] = []
        for position, value in enumerate(positional):
            if not isinstance(value, ast.Starred):
                found.append((params[position] if position < len(params) else None, value))
        found.extend(keywords.items())
        return found


def signature_of(model: ModuleModel, call: ast.Call, scope: Scope) -> Enqueue | None:
    """`task.s(...)`, `task.si(...)` or `task.signature(args, kwargs)` of a task the project
    defines: the arguments of a message sent later."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in PARTIALS):
        return None
    receiver = model.value_of(func.value, scope)
    if receiver is not None and receiver.kind is Kind.TASK:
        return Enqueue(func.attr, call, receiver.task)
    # `x.signature(args=..., kwargs=...)` has Celery's shape even when `x` cannot be resolved.
    if receiver is None and func.attr == "signature" and {"args", "kwargs"} & {k.arg for k in call.keywords}:
        return Enqueue(func.attr, call, None)
    return None


def enqueue_of(model: ModuleModel, call: ast.Call, scope: Scope) -> Enqueue | None:
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in SENDS):
        return None
    receiver = model.value_of(func.value, scope)
    if func.attr == "send_task":
        return Enqueue("send_task", call, None) if receiver is not None and receiver.kind is Kind.APP else None
    if (receiver is not None and receiver.kind is Kind.APP) or _is_pool(model, func.value, scope):
        return None
    task = receiver.task if receiver is not None and receiver.kind is Kind.TASK else None
    return Enqueue(func.attr, call, task)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_pool(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """A `multiprocessing` pool, whose `apply_async(func, args)` is no task message."""
    if not isinstance(node, ast.Name):
        return False
    found = model.lookup(node.id, scope)
    if found is None:
        return False
    made = []
    for binding in found[0]:
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            made += [item.context_expr for item in binding.items if _binds(item, node.id)]
        elif isinstance(binding, ast.expr):
            made.append(binding)
    return any(
        isinstance(call, ast.Call)
        and (model.qualname(call.func, found[1]) or "").startswith(("multiprocessing.", "concurrent.futures."))
        for call in made
    )


def _binds(item: ast.withitem, name: str) -> bool:
    return isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == name


def sends(index: ProjectIndex, effect: Effect) -> bool:
    """Whether an `ENQUEUE` effect of a summary sends a task: its module knew the receiver
    (the callee is the call as written), or the receiver it names is a task of the project."""
    if effect.callee == effect.what:
        return True
    receiver = effect.callee.rpartition(".")[0]
    return index.canonical(receiver) in index.tasks
