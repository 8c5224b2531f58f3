"""What a Temporal call puts in a workflow's history as input, and whether the project encodes
payloads (`ModuleFacts.extra["payload_codec"]`)."""

from __future__ import annotations

import ast
import weakref
from typing import TYPE_CHECKING

from jobs_lint.semantic.messages.sent import Message
from jobs_lint.semantic.syntax import final_name
from jobs_lint.semantic.temporal.names import WORKFLOW

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

CODEC_KEY = "payload_codec"  # `ModuleFacts.extra`: this module gives a data converter a codec
# `workflow.<name>(workflow, arg, *, args=[...])`: a child workflow's input is a payload too.
CHILD_WORKFLOW_FUNCTIONS = frozenset({"execute_child_workflow", "start_child_workflow"})
# A schedule's action keeps its workflow's input in the schedule, and starts every run with it.
SCHEDULE_START = "temporalio.client.ScheduleActionStartWorkflow"


def temporal_input(model: ModuleModel, call: ast.Call, scope: Scope) -> Message | None:
    """The input of an activity, a workflow or a child workflow that a call starts:
    `execute_activity(act, arg)`, `start_workflow(Wf.run, arg, id=...)`, `args=[...]`, and of
    the workflow a schedule starts (`ScheduleActionStartWorkflow(Wf.run, args=[...])`)."""
    func = call.func
    name = final_name(func)
    if not name:
        return None
    path = model.qualname(func, scope)
    in_workflow = path == f"{WORKFLOW}.{name}"
    temporal = model.temporal
    starts = path == SCHEDULE_START or (in_workflow and name in CHILD_WORKFLOW_FUNCTIONS)
    if not starts and temporal.activity_call(call, scope) is None and temporal.workflow_start(call, scope) is None:
        return None
    sent: list[tuple[str | None, ast.expr]] = [(None, value) for value in call.args[1:]]
    for keyword in call.keywords:
        if keyword.arg == "arg":
            sent.append((None, keyword.value))
        elif keyword.arg == "args" and isinstance(keyword.value, (ast.List, ast.Tuple)):
            sent.extend((None, value) for value in keyword.value.elts)
    owner = "workflow" if in_workflow else final_name(func.value) if isinstance(func, ast.Attribute) else ""
    return Message(f"{owner}.{name}()" if owner else f"{name}()", tuple(sent))


def sets_payload_codec(model: ModuleModel) -> bool:
    """`DataConverter(payload_codec=...)` or `dataclasses.replace(converter, payload_codec=...)`:
    payloads are transformed (usually encrypted) before they reach the history."""
    return any(
        isinstance(node, ast.keyword)
        and node.arg == CODEC_KEY
        and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        for node in ast.walk(model.tree)
    )


_encoded: weakref.WeakKeyDictionary[ProjectIndex, bool] = weakref.WeakKeyDictionary()


def payloads_encoded(index: ProjectIndex) -> bool:
    """Whether the project gives Temporal a payload codec anywhere: what its histories hold is
    then not readable as sent, and whether it is encrypted cannot be told here."""
    found = _encoded.get(index)
    if found is None:
        found = _encoded[index] = any(CODEC_KEY in module.extra for module in index.modules.values())
    return found
