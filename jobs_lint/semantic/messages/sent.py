"""What a call puts in a message, and where what a module sends comes from.

`Message` is the answer each tool gives for its sending calls (Celery's are in
`celery/enqueue.py`, ARQ's `arq/messages.py`, Temporal's `temporal/payloads.py`). `sent_calls`
records, as a module fact, the calls a module's message arguments are made of, so that the
project functions among them are summarised (`callees.py`) and what they return is known where
it is sent, far from any job code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.syntax import own_nodes

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

FACTS_KEY = "sent_calls"  # `ModuleFacts.extra`: the functions whose results a module sends
# Methods that put their arguments in a message, in any tool; and the byte strings that find them.
SENDING_METHODS = frozenset(
    {"delay", "apply_async", "send_task", "s", "si", "signature", "enqueue_job", "start_workflow", "execute_workflow"}
    | {"execute_activity", "start_activity", "execute_child_workflow", "start_child_workflow"}
)
SENDING_NEEDLES = (b".delay(", b"apply_async(", b"send_task(", b"enqueue_job(", b"_workflow(", b"_activity(")


@dataclass(frozen=True, slots=True)
class Message:
    label: str  # how a finding names the call: `enqueue_job('send_email')`, `workflow.execute_activity()`
    arguments: tuple[tuple[str | None, ast.expr], ...]  # (parameter name when known, value)


def sent_calls(model: ModuleModel) -> tuple[str, ...]:
    """The qualified names of the calls whose results this module sends in a message, directly
    (`process.delay(load(pk))`) or through a local variable of the sending function."""
    found: set[str] = set()
    for node, _ in model.scopes.defs:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        scope = model.scope_of(node)
        for call in own_nodes(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in SENDING_METHODS
            ):
                for argument in (*call.args, *(k.value for k in call.keywords)):
                    found.update(_called_in(model, argument, scope))
    return tuple(sorted(found))


def _called_in(model: ModuleModel, node: ast.expr, scope: Scope) -> Iterator[str]:
    """The calls an argument is made of, and those of the local variables it names."""
    for inner in ast.walk(node):
        calls: list[ast.Call] = []
        if isinstance(inner, ast.Call):
            calls.append(inner)
        elif isinstance(inner, ast.Name):
            found = model.lookup(inner.id, scope)
            if found is not None and found[1] is scope:
                calls += [b for b in found[0] if isinstance(b, ast.Call)]
                calls += [b.value for b in found[0] if isinstance(b, ast.Await) and isinstance(b.value, ast.Call)]
        for call in calls:
            path = model.qualname(call.func, scope)
            if path is not None and "." in path:
                yield path
