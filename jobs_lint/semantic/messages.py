"""The arguments a call puts in an ARQ job or a Temporal payload (Celery's: `enqueue.py`).

Each answer names the call as a message would (`enqueue_job('send_email')`,
`workflow.execute_activity()`) and lists the arguments it sends, with the parameter they fill
when the call names it.
"""

from __future__ import annotations

import ast
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

# `ModuleFacts.extra` key of a module that gives a Temporal data converter a `payload_codec`.
CODEC = "payload_codec"
# `ModuleFacts.extra` key: the functions whose results a module sends, to be summarised.
SENT_CALLS = "sent_calls"
# Methods that put their arguments in a message, in any tool; and the byte strings that find them.
SENDING_METHODS = frozenset(
    {"delay", "apply_async", "send_task", "s", "si", "signature", "enqueue_job", "start_workflow", "execute_workflow"}
    | {"execute_activity", "start_activity", "execute_child_workflow", "start_child_workflow"}
)
SENDING_NEEDLES = (b".delay(", b"apply_async(", b"send_task(", b"enqueue_job(", b"_workflow(", b"_activity(")

# `workflow.<name>(workflow, arg, *, args=[...])`: a child workflow's input is a payload too.
CHILD_WORKFLOW_FUNCTIONS = frozenset({"execute_child_workflow", "start_child_workflow"})
_WORKFLOW = "temporalio.workflow"


@dataclass(frozen=True, slots=True)
class Message:
    label: str  # how a finding names the call
    arguments: tuple[tuple[str | None, ast.expr], ...]  # (parameter name when known, value)


def arq_job(call: ast.Call) -> Message | None:
    """`redis.enqueue_job('name', *args, _job_id=..., **kwargs)`: ARQ's own options start with `_`."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "enqueue_job" and call.args):
        return None
    name = string_value(call.args[0])
    if name is None:
        return None
    keywords = tuple((k.arg, k.value) for k in call.keywords if k.arg is not None and not k.arg.startswith("_"))
    return Message(f"enqueue_job('{name}')", tuple((None, value) for value in call.args[1:]) + keywords)


def temporal_input(model: ModuleModel, call: ast.Call, scope: Scope) -> Message | None:
    """The input of an activity, a workflow or a child workflow that a call starts:
    `execute_activity(act, arg)`, `start_workflow(Wf.run, arg, id=...)`, `args=[...]`."""
    temporal = model.temporal
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name is None:
        return None
    child = name in CHILD_WORKFLOW_FUNCTIONS and model.qualname(func, scope) == f"{_WORKFLOW}.{name}"
    if not child and temporal.activity_call(call, scope) is None and temporal.workflow_start(call, scope) is None:
        return None
    sent: list[tuple[str | None, ast.expr]] = [(None, value) for value in call.args[1:]]
    for keyword in call.keywords:
        if keyword.arg == "arg":
            sent.append((None, keyword.value))
        elif keyword.arg == "args" and isinstance(keyword.value, (ast.List, ast.Tuple)):
            sent.extend((None, value) for value in keyword.value.elts)
    receiver = func.value if isinstance(func, ast.Attribute) else None
    owner = "workflow" if model.qualname(func, scope) == f"{_WORKFLOW}.{name}" else _shown(receiver)
    return Message(f"{owner}.{name}()" if owner else f"{name}()", tuple(sent))


def sent_calls(model: ModuleModel) -> tuple[str, ...]:
    """The qualified names of the calls whose results this module sends in a message, directly
    (`process.delay(load(pk))`) or through a local variable: the project functions among them
    are summarised, so that what they return is known where it is sent."""
    from jobs_lint.semantic.call_sites import _own_nodes as own_nodes

    found: set[str] = set()
    for node, _ in model.scopes.defs:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        scope = model.scope_of(node)
        for call in own_nodes(node):
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr in SENDING_METHODS:
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


def sets_payload_codec(model: ModuleModel) -> bool:
    """`DataConverter(payload_codec=...)` or `dataclasses.replace(converter, payload_codec=...)`:
    payloads are transformed (usually encrypted) before they reach the history."""
    return any(
        isinstance(node, ast.keyword)
        and node.arg == CODEC
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        for node in ast.walk(model.tree)
    )


_encoded: weakref.WeakKeyDictionary[ProjectIndex, bool] = weakref.WeakKeyDictionary()


def payloads_encoded(index: ProjectIndex) -> bool:
    """Whether the project gives Temporal a payload codec anywhere: what its histories hold is
    then not readable as sent, and whether it is encrypted cannot be told here."""
    found = _encoded.get(index)
    if found is None:
        found = _encoded[index] = any(CODEC in module.extra for module in index.modules.values())
    return found


def _shown(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None
