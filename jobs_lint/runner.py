"""A run over a tree: discover, index the project, check each file, in parallel, with the cache.

Two passes over the files that can matter (those containing a needle of a selected rule):
  1. facts: each module's tasks, apps and configuration (cheap, cached by content);
  2. checks: the rules, given the project index built from every module's facts.
Files without a needle are read once and never parsed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, TypeVar

from jobs_lint.cache import Cache, Entry
from jobs_lint.checker import SKIP_FILE, UnreadableSource, check_source, decode, parse
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Discovery, discover, display_path
from jobs_lint.rules import RULES, Rule
from jobs_lint.semantic.facts import ModuleFacts
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.modules import module_name
from jobs_lint.settings import Settings
from jobs_lint.source import Source

# Files containing none of these define nothing the index needs (tasks, apps, configuration).
FACT_NEEDLES = (
    b"celery",
    b"Celery",
    b"CELERY",
    b"shared_task",
    b".task(",
    b".task\n",
    b".task\r",
    b".task ",  # @app.task, not self.tasks or .task_id
    b"Task)",
    b"Task,",  # class-based tasks and their bases
    b"countdown=",  # delays that a broker's visibility timeout must exceed
    b"from arq",  # ARQ workers, job lists and pools (`ModuleFacts.extra["arq"]`)
    b"import arq",
    b"WorkerSettings",
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
    """What workers need to know, sent to each once."""

    rules: tuple[str, ...]  # the selected rules that run as visitors
    selected: frozenset[str]
    settings: Settings

    def wanted_by(self, data: bytes) -> tuple[str, ...]:
        return tuple(code for code in self.rules if RULES[code].wants(data))


def run(paths: Sequence[str], settings: Settings, cache: Cache) -> Run:
    selected = settings.selected()
    plan = _Plan(tuple(code for code in sorted(selected) if _runs(RULES[code])), selected, settings)

    targets = discover(list(paths), settings.filters, cache.walks)
    cache.dirty |= targets.walked
    explicit = {display_path(os.path.normpath(p)) for p in paths if os.path.isfile(p)}
    project = _project_files(paths, targets, settings, cache)
    project_files, absolute = project.files, project.absolute

    entries = _scan(project_files, absolute, plan, cache)
    index = ProjectIndex(entry.facts for entry in entries.values() if entry.facts is not None)
    digest = index.digest()

    to_check = []
    diagnostics = list(targets.problems)
    for path in targets.files:
        entry = entries.get(path)
        if entry is None:
            continue
        if not entry.candidate and path not in explicit:
            continue
        if entry.index_digest == digest and entry.diagnostics is not None:
            diagnostics.extend(replace(d, path=path) for d in entry.diagnostics)
        else:
            to_check.append(path)
    checked = _parallel(_check_worker, [(p, absolute[p]) for p in to_check], (plan, index))
    for path, found in checked:
        entry = entries[path]
        entry.index_digest, entry.diagnostics = digest, found
        cache.put(absolute[path], entry)
        diagnostics.extend(found)
    diagnostics.sort(key=lambda d: d.sort_key)
    return Run(diagnostics, len(targets.files), index, {p: absolute[p] for p in targets.files})


def check_text(path: str, text: str, index: ProjectIndex, settings: Settings) -> list[Diagnostic]:
    """Check one file's (possibly fixed) text in this process, as the fixer needs."""
    selected = settings.selected()
    plan = _Plan(tuple(code for code in sorted(selected) if _runs(RULES[code])), selected, settings)
    return _check_source(path, os.path.abspath(path), Source(path, text), plan, index)


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


def _scan(files: list[str], absolute: dict[str, str], plan: _Plan, cache: Cache) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    pending: list[tuple[str, str, Entry | None]] = []
    for path in files:
        try:
            stat = os.stat(absolute[path])
        except OSError:
            pending.append((path, absolute[path], None))
            continue
        entry = cache.get(absolute[path], stat.st_mtime_ns, stat.st_size)
        if entry is not None:
            entries[path] = entry
        else:
            previous = cache.entries.get(absolute[path])
            pending.append((path, absolute[path], previous))
    for path, entry in _parallel(_scan_worker, pending, (plan, None)):
        entries[path] = entry
        cache.put(absolute[path], entry)
    return entries


# Workers ---------------------------------------------------------------------------------------

_plan: _Plan | None = None
_index: ProjectIndex | None = None


def _init_worker(plan: _Plan, index: ProjectIndex | None) -> None:
    global _plan, _index
    _plan, _index = plan, index


def _scan_worker(item: tuple[str, str, Entry | None]) -> tuple[str, Entry]:
    path, absolute, previous = item
    assert _plan is not None
    try:
        stat = os.stat(absolute)
        with open(absolute, "rb") as handle:
            data = handle.read()
    except OSError:
        # Reported by the check pass, which reads the file again.
        return path, Entry(0, -1, "", candidate=True)
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    if previous is not None and previous.digest == digest:
        return path, replace(previous, mtime_ns=stat.st_mtime_ns, size=stat.st_size)
    candidate = bool(_plan.wanted_by(data)) or not _is_text(data)
    facts = None
    if any(n in data for n in FACT_NEEDLES):
        facts = _facts(path, absolute, data)
        # Job code that does not parse is reported (JL001) by the check pass.
        candidate = candidate or facts is None
    return path, Entry(stat.st_mtime_ns, stat.st_size, digest, candidate, facts)


def _is_text(data: bytes) -> bool:
    """Cheap for the common case: ASCII is always text; anything else is decoded once."""
    if data.isascii():
        return b"\0" not in data
    try:
        decode("", data)
    except UnreadableSource:
        return False
    return True


def _facts(path: str, absolute: str, data: bytes) -> ModuleFacts | None:
    try:
        source = decode(path, data)
        tree = parse(source)
    except UnreadableSource:
        return None
    module, is_package = _module_of(absolute)
    try:
        return ModuleModel(tree, path, module, is_package, ProjectIndex.collecting()).facts()
    except (RecursionError, MemoryError):
        return None


def _check_worker(item: tuple[str, str]) -> tuple[str, list[Diagnostic]]:
    path, absolute = item
    assert _plan is not None and _index is not None
    try:
        with open(absolute, "rb") as handle:
            data = handle.read()
        source = decode(path, data)
    except OSError as error:
        return path, [Diagnostic("JL003", f"Cannot read {path}: {error.strerror}", path, 1, 1, 1, 1)]
    except UnreadableSource as problem:
        return path, [_problem(path, problem)]
    if SKIP_FILE in data:
        return path, []
    return path, _check_source(path, absolute, source, replace(_plan, rules=_plan.wanted_by(data)), _index)


def _check_source(path: str, absolute: str, source: Source, plan: _Plan, index: ProjectIndex) -> list[Diagnostic]:
    try:
        tree = parse(source)
    except UnreadableSource as problem:
        return [_problem(path, problem)]
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
    return module_name(absolute), os.path.basename(absolute) == "__init__.py"


T = TypeVar("T")
R = TypeVar("R")


def _parallel(worker: Callable[[T], R], items: Iterable[T], init: tuple[Any, ...]) -> list[R]:
    items = list(items)
    if len(items) < _PARALLEL_THRESHOLD or (os.cpu_count() or 1) < 2:
        _init_worker(*init)
        return [worker(item) for item in items]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    processes = min(os.cpu_count() or 1, max(1, len(items) // _PARALLEL_THRESHOLD))
    chunk = max(1, len(items) // (processes * 8))
    try:
        with ProcessPoolExecutor(processes, mp_context=context, initializer=_init_worker, initargs=init) as pool:
            return list(pool.map(worker, items, chunksize=chunk))
    except BrokenProcessPool:
        # A worker died (killed, out of memory): finish in this process rather than hang or stop.
        _init_worker(*init)
        return [worker(item) for item in items]
