"""Temporal's project facts: the workflows and activities each module defines, the retry options
its calls give, and their merge over the project (`ModuleFacts.extra["temporal"]`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobs_lint.semantic.summaries import HEARTBEAT
from jobs_lint.semantic.temporal.names import FACTS_KEY

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """An `@activity.defn` function or method."""

    qualname: str  # module.function or module.Class.method
    name: str | None  # the name it is registered under; None for a dynamic activity
    is_async: bool
    # It calls `activity.heartbeat` (or a heartbeat helper), itself or in a same-module helper it
    # reaches, or completes asynchronously.
    heartbeats: bool
    # What it creates each time it runs ("an HTTP POST", ...) with no idempotency guard, if anything.
    creates: str | None = None


def heartbeats(index: ProjectIndex, activity: ActivityInfo) -> bool:
    """Whether an activity heartbeats, itself or through the functions it calls in any module."""
    return activity.heartbeats or index.calls.reach(activity.qualname, frozenset({HEARTBEAT}), passed=True) is not None


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """A `@workflow.defn` class."""

    qualname: str  # module.Class
    name: str | None  # the name it is registered under; None for a dynamic workflow
    run: str | None  # the name of its `@workflow.run` method
    handlers: tuple[tuple[str, str], ...] = ()  # (method, kind): run, signal, query, update, init


@dataclass(frozen=True, slots=True)
class TemporalFacts:
    workflows: tuple[WorkflowInfo, ...] = ()
    activities: tuple[ActivityInfo, ...] = ()
    # Activities (by path or registered name) some call schedules with a `retry_policy`, a
    # `schedule_to_close_timeout` or options the linter cannot see: their retries may be bounded.
    bounded: tuple[str, ...] = ()
    # Error type names listed in a `non_retryable_error_types=[...]`.
    non_retryable: tuple[str, ...] = ()
    # (activity path or registered name, seconds): how long calls without a `heartbeat_timeout`
    # let it run (`timeouts.activity_timeouts`).
    timeouts: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class TemporalProject:
    """Every workflow and activity of the project, by where it is defined and by name."""

    activities: dict[str, ActivityInfo] = field(default_factory=dict)
    activity_names: dict[str, ActivityInfo] = field(default_factory=dict)
    workflows: dict[str, WorkflowInfo] = field(default_factory=dict)
    workflow_names: dict[str, WorkflowInfo] = field(default_factory=dict)
    bounded: set[str] = field(default_factory=set)
    non_retryable: set[str] = field(default_factory=set)
    timeouts: dict[str, float] = field(default_factory=dict)

    def add(self, facts: TemporalFacts, canonical: Callable[[str], str]) -> None:
        self.bounded.update(facts.bounded)
        for target, seconds in facts.timeouts:
            # A workflow may schedule an activity under a package's alias (`export = Export.run`).
            target = canonical(target)
            self.timeouts[target] = max(seconds, self.timeouts.get(target, 0.0))
        self.non_retryable.update(facts.non_retryable)
        for activity in facts.activities:
            self.activities[activity.qualname] = activity
            if activity.name is not None:
                self.activity_names[activity.name] = activity
        for workflow in facts.workflows:
            self.workflows[workflow.qualname] = workflow
            if workflow.name is not None:
                self.workflow_names[workflow.name] = workflow


def project(index: ProjectIndex) -> TemporalProject:
    """The Temporal part of the project index, merged once per index."""
    return index.merged(FACTS_KEY, _merge)


def _merge(index: ProjectIndex) -> TemporalProject:
    found = TemporalProject()
    for module in index.modules.values():
        facts = module.extra.get(FACTS_KEY)
        if isinstance(facts, TemporalFacts):
            found.add(facts, index.canonical)
    return found
