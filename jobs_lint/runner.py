"""A run over a tree: discover, index the project, check each file, in parallel, with the cache.

Two passes over the files that can matter (those containing a needle of a selected rule):
  1. facts: each module's tasks, apps and configuration (cheap, cached by content);
  2. checks: the rules, given the project index built from every module's facts.
Files without a needle are read once and never parsed.
"""

from __future__ import annotations

import ast
import gc
import hashlib
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, TypeVar

from jobs_lint import noqa
from jobs_lint.cache import Cache, Entry
from jobs_lint.checker import SKIP_FILE, UnreadableSource, check_source, decode, parse
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Discovery, discover, display_path
from jobs_lint.rules import RULES, Rule
from jobs_lint.rules.base import Needle
from jobs_lint.semantic.facts import ModuleFacts
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.modules import module_name
from jobs_lint.settings import PerDirectory, Settings
from jobs_lint.source import Source

# Files containing none of these define nothing the index needs (tasks, apps, configuration).
FACT_NEEDLES = (
    b"shared_task",
    b".task(",
    b".task\n",
    b".task\r",
    b".task ",  # @app.task, not self.tasks or .task_id
    b"Task)",
    b"Task,",  # class-based tasks and their bases
    b"countdown=",  # delays that a broker's visibility timeout must exceed
    b"temporalio",  # Temporal workflows and activities
    b"from arq",  # ARQ workers, job lists and pools (`ModuleFacts.extra["arq"]`)
    b"import arq",
    b"WorkerSettings",
)
# Words too common to decide alone: they count only in an import or an assignment, which spares
# parsing the many modules that mention Celery in passing (half the bytes on real trees).
FACT_PATTERNS = (
    (b"elery", re.compile(rb"^[ \t]*(?:from|import)[ \t]+[\w. ,]*celery", re.MULTILINE)),
    (b"CELERY_", re.compile(rb"^[ \t]*CELERY_\w*[ \t]*=", re.MULTILINE)),
    (b"atomic", re.compile(rb"contextmanager")),  # context managers that wrap a Django transaction
)

# Below this many files, forking workers costs more than it saves.
_PARALLEL_THRESHOLD = 24


@dataclass(slots=True)
class Run:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0  # files considered
    index: ProjectIndex = field(default_factory=ProjectIndex)
    sources: dict[str, str] = field(default_factory=dict)  # display path -> absolute path


@dataclass(frozen=True, slots=True)
class _Plan:
    """The rules one configuration runs (a run has one per pyproject.toml its files follow)."""

    rules: tuple[str, ...]  # the selected rules that run as visitors
    selected: frozenset[str]
    settings: Settings
    key: str  # what cached results computed with it depend on

    @classmethod
    def of(cls, settings: Settings) -> _Plan:
        selected = settings.selected()
        rules = tuple(code for code in sorted(selected) if _runs(RULES[code]))
        return cls(rules, selected, settings, settings.cache_key())

    def wanted_by(self, data: bytes) -> tuple[str, ...]:
        found: dict[Needle, bool] = {}
        return tuple(code for code in self.rules if RULES[code].wants(data, found))


def run(paths: Sequence[str], settings: Settings, cache: Cache, per_directory: PerDirectory | None = None) -> Run:
    """Check `paths`. Each file follows `per_directory`'s settings for it (by default `settings`)."""
    per_directory = per_directory or PerDirectory(settings, fixed=True)
    targets = discover(list(paths), settings.filters, cache.walks)
    cache.dirty |= targets.walked
    explicit = {display_path(os.path.normpath(p)) for p in paths if os.path.isfile(p)}
    project = _project_files(paths, targets, settings, cache)
    per_directory.learn([*project.tops, *targets.tops], {**project.directories, **targets.directories})
    plans: dict[int, _Plan] = {}
    chosen: dict[str, int] = {}  # display path -> its plan's number
    numbers: dict[int, int] = {}  # id(settings) -> number
    for path in project.files:
        file_settings = per_directory.for_file(project.absolute[path])
        number = numbers.setdefault(id(file_settings), len(numbers))
        if number not in plans:
            plans[number] = _Plan.of(file_settings)
        chosen[path] = number
    workers = _Workers(tuple(plans[n] for n in range(len(plans))), chosen)
    # Syntax trees are many small objects without cycles, kept alive until checked: the cyclic
    # collector would walk them over and over (measured: 45% of a cold run's CPU). Workers are
    # forked with it off too; what little it would free goes when they exit.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(targets, project, explicit, cache, workers)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): finish in this process rather than hang or stop.
        workers.close()
        return _run(targets, project, explicit, cache, _Workers(workers.plans, chosen, parallel=False))
    finally:
        workers.close()
        if collecting:
            gc.enable()


def _run(targets: Discovery, project: Discovery, explicit: set[str], cache: Cache, workers: _Workers) -> Run:
    absolute = project.absolute
    entries = _scan(project.files, absolute, cache, workers)
    index = ProjectIndex(entry.facts for entry in entries.values() if entry.facts is not None)
    index_digest = index.digest()

    to_check = []
    diagnostics = list(targets.problems)
    for path in targets.files:
        entry = entries.get(path)
        if entry is None:
            continue
        if not entry.candidate and path not in explicit:
            continue
        if entry.index_digest == workers.digest(path, index_digest) and entry.diagnostics is not None:
            diagnostics.extend(replace(d, path=path) for d in entry.diagnostics)
        else:
            to_check.append((path, absolute[path], entry.size))
    for path, found in workers.map(_check_shard, to_check, index):
        entry = entries[path]
        entry.index_digest, entry.diagnostics = workers.digest(path, index_digest), found
        cache.put(absolute[path], entry)
        diagnostics.extend(found)
    diagnostics.sort(key=lambda d: d.sort_key)
    return Run(diagnostics, len(targets.files), index, {p: absolute[p] for p in targets.files})


def check_text(path: str, text: str, index: ProjectIndex, settings: Settings) -> list[Diagnostic]:
    """Check one file's (possibly fixed) text in this process, as the fixer needs."""
    return _check_source(path, os.path.abspath(path), Source(path, text), _Plan.of(settings), index)


def _project_files(paths: Sequence[str], targets: Discovery, settings: Settings, cache: Cache) -> Discovery:
    """The files the index is built from: the whole project, so that cross-module facts hold
    even when only a few files are checked (as pre-commit does)."""
    root = os.path.abspath(settings.root)
    for path in paths:
        absolute = os.path.abspath(path)
        if os.path.isdir(absolute) and (absolute == root or root.startswith(absolute + os.sep)):
            return targets
    whole = discover([settings.root], replace(settings.filters, force_exclude=False), cache.walks)
    cache.dirty |= whole.walked
    whole.files = list(dict.fromkeys([*whole.files, *targets.files]))
    whole.absolute.update(targets.absolute)
    return whole


def _scan(files: list[str], absolute: dict[str, str], cache: Cache, workers: _Workers) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    pending: list[tuple[str, str, int]] = []
    for path in files:
        try:
            stat = os.stat(absolute[path])
        except OSError:
            pending.append((path, absolute[path], 0))
            continue
        entry = cache.get(absolute[path], stat.st_mtime_ns, stat.st_size)
        if entry is not None and entry.selection == workers.plan_of(path).key:
            entries[path] = entry
        else:
            pending.append((path, absolute[path], stat.st_size))
    previous = {path: cache.entries.get(path) for _, path, _ in pending}
    for path, entry in workers.map(_scan_shard, pending, previous):
        entries[path] = entry
        cache.put(absolute[path], entry)
    return entries


# Workers ---------------------------------------------------------------------------------------
# Each worker process keeps the modules it parsed for the index, and checks them itself in the
# second pass: files that define tasks are usually the ones the rules look at, and are parsed once.

Item = tuple[str, str, int]  # display path, absolute path, size
T = TypeVar("T")


class _Workers:
    """A fixed set of worker processes, each sent the same shard of files in both passes."""

    def __init__(self, plans: tuple[_Plan, ...], chosen: dict[str, int], *, parallel: bool = True) -> None:
        self.plans = plans
        self.chosen = chosen
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self.pools: list[ProcessPoolExecutor] = []
        self.home: dict[str, int] = {}  # path -> the pool that parsed it

    def map(self, work: Callable[[list[Item], Any], list[T]], items: list[Item], shared: Any) -> list[T]:
        if not self.pools and (not self.parallel or len(items) < _PARALLEL_THRESHOLD):
            _init_worker(self.plans, self.chosen)
            return work(items, shared)
        if not self.pools:
            count = min(os.cpu_count() or 1, max(2, len(items) // _PARALLEL_THRESHOLD))
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pools = [
                ProcessPoolExecutor(1, mp_context=context, initializer=_init_worker, initargs=(self.plans, self.chosen))
                for _ in range(count)
            ]
        shards = self._shard(items)
        futures = [pool.submit(work, shard, shared) for pool, shard in zip(self.pools, shards, strict=True) if shard]
        return [result for future in futures for result in future.result()]

    def _shard(self, items: list[Item]) -> list[list[Item]]:
        """Files go back to the worker that parsed them; the rest by size, largest first."""
        shards: list[list[Item]] = [[] for _ in self.pools]
        load = [0] * len(self.pools)
        for item in sorted(items, key=lambda item: -item[2]):
            home = self.home.get(item[0])
            if home is None:
                home = self.home[item[0]] = load.index(min(load))
            shards[home].append(item)
            load[home] += item[2] + 1
        return shards

    def plan_of(self, path: str) -> _Plan:
        return self.plans[self.chosen[path]]

    def digest(self, path: str, index_digest: str) -> str:
        """What a file's checked results depend on: the project's facts and its own settings."""
        return f"{index_digest}:{self.plan_of(path).key}"

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)
        self.pools = []


_plans: tuple[_Plan, ...] = ()
_chosen: dict[str, int] = {}
_parsed: dict[str, tuple[Source, ast.Module, tuple[str, ...]]] = {}  # path -> text, tree, rules that want it


def _init_worker(plans: tuple[_Plan, ...], chosen: dict[str, int]) -> None:
    global _plans, _chosen
    _plans, _chosen = plans, chosen


def _scan_shard(items: list[Item], previous: dict[str, Entry | None]) -> list[tuple[str, Entry]]:
    return [(path, _scan_one(path, absolute, previous.get(absolute))) for path, absolute, _ in items]


def _scan_one(path: str, absolute: str, previous: Entry | None) -> Entry:
    plan = _plans[_chosen[path]]
    try:
        stat = os.stat(absolute)
        with open(absolute, "rb") as handle:
            data = handle.read()
    except OSError:
        # Reported by the check pass, which reads the file again.
        return Entry(0, -1, "", candidate=True, selection=plan.key)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    if previous is not None and previous.digest == digest and previous.selection == plan.key:
        return replace(previous, mtime_ns=stat.st_mtime_ns, size=stat.st_size)
    wanted = plan.wanted_by(data)
    candidate = bool(wanted) or not _is_text(data)
    facts = None
    if _needs_facts(data):
        parsed = _parse(path, data)
        if parsed is not None:
            source, tree = parsed
            facts = _facts(tree, path, absolute, data)
            if wanted and SKIP_FILE not in data:
                _parsed[path] = (source, tree, wanted)
        # Job code that does not parse is reported (JL001) by the check pass.
        candidate = candidate or facts is None
    return Entry(stat.st_mtime_ns, stat.st_size, digest, candidate, facts, selection=plan.key)


def _needs_facts(data: bytes) -> bool:
    return any(n in data for n in FACT_NEEDLES) or any(n in data and p.search(data) for n, p in FACT_PATTERNS)


def _is_text(data: bytes) -> bool:
    """Cheap for the common case: ASCII is always text; anything else is decoded once."""
    if data.isascii():
        return b"\0" not in data
    try:
        decode("", data)
    except UnreadableSource:
        return False
    return True


def _parse(path: str, data: bytes) -> tuple[Source, ast.Module] | None:
    try:
        source = decode(path, data)
        return source, parse(source)
    except UnreadableSource:
        return None


def _facts(tree: ast.Module, path: str, absolute: str, data: bytes) -> ModuleFacts | None:
    module, is_package = _module_of(absolute)
    try:
        return ModuleModel(tree, path, module, is_package, ProjectIndex.collecting()).facts(data)
    except (RecursionError, MemoryError):
        return None


def _check_shard(items: list[Item], index: ProjectIndex) -> list[tuple[str, list[Diagnostic]]]:
    return [(path, _check_one(path, absolute, index)) for path, absolute, _ in items]


def _check_one(path: str, absolute: str, index: ProjectIndex) -> list[Diagnostic]:
    plan = _plans[_chosen[path]]
    parsed = _parsed.pop(path, None)
    if parsed is not None:
        source, tree, wanted = parsed
        return _check_tree(path, absolute, source, tree, replace(plan, rules=wanted), index)
    try:
        with open(absolute, "rb") as handle:
            data = handle.read()
        source = decode(path, data)
    except OSError as error:
        return [Diagnostic("JL003", f"Cannot read {path}: {error.strerror}", path, 1, 1, 1, 1)]
    except UnreadableSource as problem:
        return [_problem(path, problem)]
    if SKIP_FILE in data:
        return []
    return _check_source(path, absolute, source, replace(plan, rules=plan.wanted_by(data)), index)


def _check_source(path: str, absolute: str, source: Source, plan: _Plan, index: ProjectIndex) -> list[Diagnostic]:
    try:
        tree = parse(source)
    except UnreadableSource as problem:
        silenced = (
            problem.code not in plan.selected
            or problem.code in plan.settings.ignored_for(path)
            or noqa.silences(source, problem.line, problem.code)
        )
        return [] if silenced else [_problem(path, problem)]
    return _check_tree(path, absolute, source, tree, plan, index)


def _check_tree(
    path: str, absolute: str, source: Source, tree: ast.Module, plan: _Plan, index: ProjectIndex
) -> list[Diagnostic]:
    module, is_package = _module_of(absolute)
    ignored = plan.settings.ignored_for(path)
    rules: list[type[Rule]] = [RULES[code] for code in plan.rules if code not in ignored]
    try:
        found = check_source(source, tree, module, is_package, index, rules, plan.selected - ignored)
    except (RecursionError, MemoryError) as error:
        from jobs_lint.checker import internal_error

        return [internal_error(path, "engine", error)]
    return [d for d in found if d.code not in ignored]


def _runs(rule: type[Rule]) -> bool:
    """Engine codes are reported by the engine, not run as visitors."""
    from jobs_lint.rules.base import EngineDiagnostic

    return not issubclass(rule, EngineDiagnostic)


def _problem(path: str, problem: UnreadableSource) -> Diagnostic:
    return Diagnostic(problem.code, problem.message, path, problem.line, problem.col, problem.line, problem.col)


@lru_cache(maxsize=4096)
def _module_of(absolute: str) -> tuple[str, bool]:
    return module_name(absolute), os.path.basename(absolute) in ("__init__.py", "__init__.pyi")


# One document at a time (standard input, the language server) -----------------------------------


def project_index(settings: Settings, cache: Cache, *, parallel: bool = True) -> ProjectIndex:
    """The index of every module under the project root, built as a run builds it (and from the
    same cache), for checking one document whose text may not be on disk."""
    whole = discover([settings.root], replace(settings.filters, force_exclude=False), cache.walks)
    cache.dirty |= whole.walked
    workers = _Workers((_Plan.of(settings),), dict.fromkeys(whole.files, 0), parallel=parallel)
    try:
        entries = _scan(whole.files, whole.absolute, cache, workers)
    finally:
        workers.close()
        _parsed.clear()  # kept for a second pass that does not come
    return ProjectIndex(entry.facts for entry in entries.values() if entry.facts is not None)


def document_facts(path: str, absolute: str, text: str) -> ModuleFacts | None:
    """What one document's text contributes to the index (None: nothing, or it does not parse)."""
    data = text.encode("utf-8")
    if not _needs_facts(data):
        return None
    try:
        tree = parse(Source(path, text))
    except UnreadableSource:
        return None
    return _facts(tree, path, absolute, data)
