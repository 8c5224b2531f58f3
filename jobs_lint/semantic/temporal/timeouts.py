"""How long workflows let activities run: the timeouts a call gives, read as seconds.

A long activity that never heartbeats (JL404) is judged by them: the longest
`start_to_close_timeout` (else `schedule_to_close_timeout`) of the calls that schedule it without
a `heartbeat_timeout`, in any module (`TemporalFacts.timeouts`, merged by `TemporalProject`). A
timeout named by a constant of another module (`constants.EXPORT_TIMEOUT`) is read from that
module's `TemporalFacts.durations` when the project is merged.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobs_lint.semantic.temporal.calls import activity_call, module_calls
from jobs_lint.semantic.temporal.project import ActivityInfo, scheduled_as
from jobs_lint.semantic.values import literal, string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope
    from jobs_lint.semantic.temporal.module import TemporalModule

# `datetime.timedelta`'s positional parameters, and each unit in seconds.
_TIMEDELTA_ARGS = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
_TIMEDELTA_UNITS = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}


@dataclass(slots=True)
class Timeouts:
    """What this module's calls say about how long activities may run, by path or registered name."""

    seconds: dict[str, float] = field(default_factory=dict)  # the longest, where the linter reads it
    # A module-level constant of another module (`timeouts.EXPORT`): read when the project is merged.
    named: dict[str, set[str]] = field(default_factory=dict)
    # Given a timeout the linter cannot read (`timedelta(seconds=60 * len(items))`).
    unread: set[str] = field(default_factory=set)


def activity_timeouts(temporal: TemporalModule) -> Timeouts:
    """How long the activities this module schedules may run: the longest
    `start_to_close_timeout` (else `schedule_to_close_timeout`) of the calls that give no
    `heartbeat_timeout` and whose options the linter sees."""
    found = Timeouts()
    if not temporal.imports_temporal:
        return found
    model = temporal.model
    for call, scope in module_calls(model):
        scheduled = activity_call(temporal, call, scope)
        if scheduled is None or scheduled.target is None or scheduled.opaque:
            continue
        if "heartbeat_timeout" in scheduled.keywords:
            continue
        limit = scheduled.keyword("start_to_close_timeout") or scheduled.keyword("schedule_to_close_timeout")
        target = string_value(scheduled.target) or model.qualname(scheduled.target, scope)
        if limit is None or target is None:
            continue
        seconds = duration(limit, model, scope)
        constant = model.qualname(limit, scope) if isinstance(limit, (ast.Name, ast.Attribute)) else None
        if seconds is not None:
            found.seconds[target] = max(seconds, found.seconds.get(target, 0.0))
        elif constant is not None and not constant.startswith(f"{model.module}."):
            found.named.setdefault(target, set()).add(constant)
        else:
            found.unread.add(target)
    return found


def module_durations(model: ModuleModel) -> dict[str, float]:
    """The module-level names bound once to a literal `timedelta(...)`, in seconds, for the
    timeouts other modules give with them."""
    found: dict[str, float] = {}
    for name, bindings in model.module_scope.bindings.items():
        if len(bindings) == 1 and isinstance(bindings[0], ast.Call):
            seconds = duration(bindings[0], model, model.module_scope)
            if seconds is not None:
                found[f"{model.module}.{name}"] = seconds
    return found


def longest_run(temporal: TemporalModule, activity: ActivityInfo) -> float | None:
    """The longest time a workflow lets an activity run without a heartbeat timeout, where one
    sets it, in this module or another (None: no call the linter sees sets it)."""
    found = [
        table[key]
        for table in (temporal.timeouts.seconds, temporal.project.timeouts)
        for key in scheduled_as(activity)
        if key in table
    ]
    return max(found, default=None)


def timeout_unread(temporal: TemporalModule, activity: ActivityInfo) -> bool:
    """Whether some workflow gives an activity a timeout the linter cannot read: how long it may
    run is then not known."""
    return any(
        key in table for table in (temporal.timeouts.unread, temporal.project.unread) for key in scheduled_as(activity)
    )


def duration(node: ast.expr, model: ModuleModel, scope: Scope | None) -> float | None:
    """The seconds a `timedelta(...)` written with literal values (or a name bound once to
    one) holds; None for anything else."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return None
        node, scope = found[0][0], found[1]
    if not isinstance(node, ast.Call) or model.qualname(node.func, scope) != "datetime.timedelta":
        return None
    if len(node.args) > len(_TIMEDELTA_ARGS):
        return None
    parts = [*zip(_TIMEDELTA_ARGS, node.args, strict=False), *((k.arg, k.value) for k in node.keywords)]
    total = 0.0
    for unit, value in parts:
        number = literal(value)
        if unit not in _TIMEDELTA_UNITS or not isinstance(number, (int, float)) or isinstance(number, bool):
            return None
        total += number * _TIMEDELTA_UNITS[unit]
    return total
