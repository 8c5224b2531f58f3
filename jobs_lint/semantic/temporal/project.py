"""Temporal's project facts: the workflows and activities each module defines, the retry options
its calls give, and their merge over the project (`ModuleFacts.extra["temporal"]`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobs_lint.semantic.summaries import COMPLETES_ASYNC, HEARTBEAT
from jobs_lint.semantic.temporal.completion import completers_heartbeat
from jobs_lint.semantic.temporal.names import FACTS_KEY

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """An `@activity.defn` function or method, or a function given to `activity.defn(...)`."""

    qualname: str  # module.function or module.Class.method
    name: str | None  # the name it is registered under; None for a dynamic activity
    is_async: bool
    # It calls `activity.heartbeat` (or a heartbeat helper), itself or in a same-module helper it
    # reaches.
    heartbeats: bool
    # What it creates each time it runs ("an HTTP POST", ...) with no idempotency guard, if anything.
    creates: str | None = None
    # The module-level name `name = activity.defn(...)(function)` binds, when not the function's.
    alias: str | None = None
    # It completes asynchronously (`activity.raise_complete_async()`), itself or in a same-module helper.
    completes_async: bool = False
    module: str = ""  # the module that defines it


def scheduled_as(activity: ActivityInfo) -> Iterator[str]:
    """What a call may name an activity by: where it is defined, the name bound to it, the name
    it is registered under, and the same function or method in each package above its module
    (that package may re-export it, `from .export import export`, unread by the linter)."""
    yield activity.qualname
    if activity.name is not None:
        yield activity.name
    if activity.alias is not None:
        yield activity.alias
    parts = activity.module.split(".")
    for path in (activity.qualname, activity.alias):
        if path is not None and path.startswith(f"{activity.module}."):
            inside = path[len(activity.module) + 1 :]  # `export`, `Exports.write`
            for cut in range(len(parts) - 1, 0, -1):
                yield f"{'.'.join(parts[:cut])}.{inside}"


def heartbeats(index: ProjectIndex, activity: ActivityInfo) -> bool:
    """Whether an activity heartbeats, itself or through the functions it calls in any module, or
    completes asynchronously where whoever completes it may heartbeat for it."""
    if activity.heartbeats or index.calls.reach(activity.qualname, _HEARTBEAT, passed=True) is not None:
        return True
    return completers_heartbeat(index) and completes_async(index, activity)


def completes_async(index: ProjectIndex, activity: ActivityInfo) -> bool:
    """Whether an activity hands its completion to someone else (`activity.raise_complete_async()`),
    itself or through the functions it calls in any module."""
    return activity.completes_async or index.calls.reach(activity.qualname, _COMPLETES, passed=True) is not None


_HEARTBEAT = frozenset({HEARTBEAT})
_COMPLETES = frozenset({COMPLETES_ASYNC})


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
    # (activity, constant of another module) for timeouts given by such a constant, and the
    # activities given a timeout the linter cannot read.
    named_timeouts: tuple[tuple[str, str], ...] = ()
    unread_timeouts: tuple[str, ...] = ()
    # (path, seconds) of this module's constants bound to a literal `timedelta(...)`.
    durations: tuple[tuple[str, float], ...] = ()


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
    unread: set[str] = field(default_factory=set)
    durations: dict[str, float] = field(default_factory=dict)
    named: list[tuple[str, str]] = field(default_factory=list)

    def add(self, facts: TemporalFacts, canonical: Callable[[str], str]) -> None:
        self.bounded.update(facts.bounded)
        self.bounded.update(map(canonical, facts.bounded))
        for target, seconds in facts.timeouts:
            self._timeout(canonical(target), seconds)
        self.unread.update(map(canonical, facts.unread_timeouts))
        self.durations.update(facts.durations)
        self.named.extend((canonical(target), canonical(constant)) for target, constant in facts.named_timeouts)
        self.non_retryable.update(facts.non_retryable)
        for activity in facts.activities:
            self.activities[activity.qualname] = activity
            if activity.alias is not None:
                self.activities[activity.alias] = activity
            if activity.name is not None:
                self.activity_names[activity.name] = activity
        for workflow in facts.workflows:
            self.workflows[workflow.qualname] = workflow
            if workflow.name is not None:
                self.workflow_names[workflow.name] = workflow

    def activity_at(self, path: str, canonical: Callable[[str], str]) -> ActivityInfo | None:
        """The activity a path names, where it is defined or through aliases and re-exports."""
        found = self.activities.get(path) or self.activities.get(canonical(path))
        if found is not None:
            return found
        # A package the linter did not read may re-export an activity of one of its modules
        # (`from .export import export` in `proj/steps/__init__.py`): the one activity defined
        # under that package by the name used is the one.
        under = {
            id(info): info for info in self.activities.values() if path != info.name and path in scheduled_as(info)
        }
        return next(iter(under.values())) if len(under) == 1 else None

    def workflow_at(self, path: str, canonical: Callable[[str], str]) -> WorkflowInfo | None:
        """The workflow class a path names, as `activity_at` finds an activity: where it is
        defined, through aliases, or as the one workflow of that name under a package that
        re-exports it (`from proj.workflows import Sync`, defined in `proj/workflows/sync.py`)."""
        found = self.workflows.get(path) or self.workflows.get(canonical(path))
        if found is not None:
            return found
        package, _, name = path.rpartition(".")
        under = [info for qualname, info in self.workflows.items() if qualname.startswith(f"{package}.")]
        named = [info for info in under if info.qualname.rpartition(".")[2] == name]
        return named[0] if package and len(named) == 1 else None

    def _timeout(self, target: str, seconds: float) -> None:
        # A workflow may schedule an activity under a package's alias (`export = Export.run`).
        self.timeouts[target] = max(seconds, self.timeouts.get(target, 0.0))

    def read_named_timeouts(self) -> None:
        """Timeouts given by another module's constants, once every module's are known."""
        for target, constant in self.named:
            seconds = self.durations.get(constant)
            if seconds is None:
                self.unread.add(target)
            else:
                self._timeout(target, seconds)


def project(index: ProjectIndex) -> TemporalProject:
    """The Temporal part of the project index, merged once per index."""
    return index.merged(FACTS_KEY, _merge)


def _merge(index: ProjectIndex) -> TemporalProject:
    found = TemporalProject()
    for module in index.modules.values():
        facts = module.extra.get(FACTS_KEY)
        if isinstance(facts, TemporalFacts):
            found.add(facts, index.canonical)
    found.read_named_timeouts()
    return found
