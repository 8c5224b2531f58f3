"""Activities completed from outside: `activity.raise_complete_async()` hands the activity to
whoever holds its task token, through a client's `get_async_activity_handle(...)`. Only that
holder can heartbeat for it (`handle.heartbeat()`) while it waits.

A module that gets such a handle says whether it ever heartbeats through one
(`ModuleFacts.extra["async_completion"]`); the project's answer is merged once per index.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel

FACTS_KEY = "async_completion"
GET_HANDLE = "get_async_activity_handle"
# A module handed a handle made elsewhere names its type, if anything.
HANDLE = "AsyncActivityHandle"
_HEARTBEATS = "heartbeats"
_COMPLETES = "completes"


def completer(model: ModuleModel) -> str | None:
    """For a module that gets an async activity handle (or names its type): whether it
    heartbeats through any handle, or only completes (or fails) activities."""
    handles = beats = False
    for node in ast.walk(model.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            handles |= node.func.attr == GET_HANDLE
            beats |= node.func.attr == "heartbeat"
        elif isinstance(node, (ast.Name, ast.Attribute, ast.alias)):
            named = (
                node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else node.name
            )
            handles |= named == HANDLE
    if not handles:
        return None
    return _HEARTBEATS if beats else _COMPLETES


def completers_heartbeat(index: ProjectIndex) -> bool:
    """Whether whoever completes the project's asynchronously completed activities may heartbeat
    for them: yes, unless the project completes them and nowhere heartbeats through a handle.
    A completer outside the project is not seen, so it is given the benefit of the doubt."""
    return index.merged(FACTS_KEY, _merge)


def _merge(index: ProjectIndex) -> bool:
    found = {module.extra[FACTS_KEY] for module in index.modules.values() if FACTS_KEY in module.extra}
    return not found or _HEARTBEATS in found
