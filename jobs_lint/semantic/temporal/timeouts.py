"""How long workflows let activities run: the timeouts a call gives, read as seconds.

A long activity that never heartbeats (JL404) is judged by them: the longest
`start_to_close_timeout` (else `schedule_to_close_timeout`) of the calls that schedule it without
a `heartbeat_timeout`, in any module (`TemporalFacts.timeouts`, merged by `TemporalProject`).
"""

from __future__ import annotations

import ast
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


def activity_timeouts(temporal: TemporalModule) -> dict[str, float]:
    """How long the activities this module schedules may run, by path or registered name: the
    longest `start_to_close_timeout` (else `schedule_to_close_timeout`) of the calls that give no
    `heartbeat_timeout` and whose options the linter sees."""
    found: dict[str, float] = {}
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
        seconds = duration(limit, model, scope) if limit is not None else None
        target = string_value(scheduled.target) or model.qualname(scheduled.target, scope)
        if seconds is not None and target is not None:
            found[target] = max(seconds, found.get(target, 0.0))
    return found


def longest_run(temporal: TemporalModule, activity: ActivityInfo) -> float | None:
    """The longest time a workflow lets an activity run without a heartbeat timeout, where one
    sets it, in this module or another (None: no call the linter sees sets it)."""
    found = [
        table[key]
        for table in (temporal.timeouts, temporal.project.timeouts)
        for key in scheduled_as(activity)
        if key in table
    ]
    return max(found, default=None)


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
