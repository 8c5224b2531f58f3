"""ARQ's project facts: the workers and job lists each module registers, and their merge (which
functions are jobs, and of which workers)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex

FACTS_KEY = "arq"  # the key of these facts in `ModuleFacts.extra`
DEFAULT_MAX_TRIES = 5  # `Worker(max_tries=5)`
CRON_MAX_TRIES = 1  # `cron(max_tries=1)`: a cron job is not run again unless told to


@dataclass(frozen=True, slots=True)
class JobRef:
    """One entry of a worker's `functions` or `cron_jobs`."""

    target: str  # the coroutine function's qualified name (or the import string `func` was given)
    via: str  # "functions", "func" or "cron"
    max_tries: Any = None  # what `func`/`cron` was given: int, UNKNOWN, or None when not given


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A `WorkerSettings` class or a `Worker(...)` call."""

    name: str  # the class's qualified name, or `Worker()`
    jobs: tuple[JobRef, ...]
    lists: tuple[str, ...]  # job lists defined in other modules (`functions = ALL_JOBS`)
    max_tries: Any  # int, UNKNOWN, or None when not given (ARQ's default)
    retry_jobs: Any  # False switches `Retry` off
    serializer: Any  # the `job_serializer` qualified name, None when absent, UNKNOWN if unreadable


@dataclass(frozen=True, slots=True)
class ArqFacts:
    workers: tuple[WorkerInfo, ...] = ()
    lists: tuple[tuple[str, tuple[JobRef, ...]], ...] = ()  # module-level lists of jobs by name
    registries: tuple[tuple[str, str], ...] = ()  # (decorator, the list it appends functions to)
    # (project decorator, the coroutine it wraps, the `max_tries` a decorator call gives)
    decorated: tuple[tuple[str, str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Job:
    """A registration of a job function by one worker, with what decides whether it runs again."""

    ref: JobRef
    worker: WorkerInfo

    @property
    def max_tries(self) -> Any:
        """How many times ARQ may run it: int, or UNKNOWN."""
        if self.ref.max_tries is not None:
            return self.ref.max_tries
        if self.ref.via == "cron":
            return CRON_MAX_TRIES
        return DEFAULT_MAX_TRIES if self.worker.max_tries is None else self.worker.max_tries

    @property
    def max_tries_set(self) -> bool:
        """Whether the project chose a number of tries (on the job or its worker)."""
        return self.ref.max_tries is not None or self.worker.max_tries is not None


class ArqProject:
    """Every module's ARQ facts, merged: which functions are jobs, and of which workers."""

    def __init__(self, index: ProjectIndex) -> None:
        self.workers: list[WorkerInfo] = []
        lists: dict[str, tuple[JobRef, ...]] = {}
        fills: dict[str, str] = {}  # decorator -> the list it fills
        decorated: list[tuple[str, str, Any]] = []
        for module in index.modules.values():
            facts = module.extra.get(FACTS_KEY)
            if isinstance(facts, ArqFacts):
                self.workers += facts.workers
                lists.update(facts.lists)
                fills.update(facts.registries)
                decorated += facts.decorated
        filled: dict[str, list[JobRef]] = {}
        for decorator, function, tries in decorated:
            registry = fills.get(index.canonical(decorator))
            if registry is not None:
                filled.setdefault(registry, []).append(JobRef(function, "functions", tries))
        for path, refs in filled.items():
            lists[path] = (*lists.get(path, ()), *refs)
        self._jobs: dict[str, list[Job]] = {}
        for worker in self.workers:
            refs = list(worker.jobs)
            for path in worker.lists:
                refs += lists.get(index.canonical(path), ())
            refs += lists.get(f"{worker.name}.functions", ())  # `WorkerSettings.functions.append(...)`
            for ref in refs:
                self._jobs.setdefault(ref.target, []).append(Job(ref, worker))

    def jobs_for(self, module: str, name: str) -> list[Job]:
        """Registrations of `module.name`, also under a package that re-exports it, or under a
        longer path when this module's directory is a namespace package (`src.jobs.email` for
        `jobs.email`: without `__init__.py` files the module's full path is unknown)."""
        path = f"{module}.{name}"
        jobs = self._jobs.get(path)
        if jobs:
            return jobs
        parts = module.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            jobs = self._jobs.get(".".join([*parts[:cut], name]))
            if jobs:
                return jobs
        targets = [target for target in self._by_name.get(name, ()) if target.endswith(f".{path}")]
        return [job for target in targets for job in self._jobs[target]]

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for target in self._jobs:
            found.setdefault(target.rpartition(".")[2], []).append(target)
        return found

    @cached_property
    def worker_serializers(self) -> set[Any]:
        return {worker.serializer for worker in self.workers if worker.jobs or worker.lists}


def project(index: ProjectIndex) -> ArqProject:
    """The ARQ part of the project index, merged once per index."""
    return index.merged(FACTS_KEY, ArqProject)
