"""A run over a tree: discover, index the project, check each file, in parallel, with the cache.

Two passes over the files that can matter (those containing a needle of a selected rule):
  1. facts: each module's tasks, apps and configuration (cheap, cached by content);
  2. checks: the rules, given the project index built from every module's facts.
Files without a needle are read once and never parsed.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache as cache_result
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from jobs_lint import landing, passes
from jobs_lint.cache import Cache, Entry
from jobs_lint.callees import summarise_callees
from jobs_lint.checker import UnreadableSource, parse
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Discovery, NestedFilters, discover, display_path
from jobs_lint.semantic.facts import ModuleFacts
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.summaries import ModuleSummary
from jobs_lint.settings import ConfigError, PerDirectory, Settings
from jobs_lint.source import Source

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

# Below this many files, forking workers costs more than it saves.
_PARALLEL_THRESHOLD = 24


@dataclass(slots=True)
class Run:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: int = 0  # files considered
    # Made when first asked for (to fix): a run whose files are unchanged reads no facts.
    index_of: Callable[[], ProjectIndex] = ProjectIndex
    sources: dict[str, str] = field(default_factory=dict)  # display path -> absolute path
    # display path -> codes its noqa comments silenced for findings that moved in (`landing`)
    silenced: dict[str, set[str]] = field(default_factory=dict)

    @property
    def index(self) -> ProjectIndex:
        return self.index_of()


def run(paths: Sequence[str], settings: Settings, cache: Cache, per_directory: PerDirectory | None = None) -> Run:
    """Check `paths`. Each file follows `per_directory`'s settings for it (by default `settings`)."""
    per_directory = per_directory or PerDirectory(settings, fixed=True)
    nested = per_directory.nested_filters
    targets = discover(list(paths), settings.filters, cache.walks, nested)
    cache.dirty |= targets.walked
    explicit = {display_path(os.path.normpath(p)) for p in paths if os.path.isfile(p)}
    project = _project_files(paths, targets, settings, cache, nested)
    per_directory.learn([*project.tops, *targets.tops], {**project.directories, **targets.directories})
    plans: dict[int, passes.Plan] = {}
    chosen: dict[str, int] = {}  # display path -> its plan's number
    numbers: dict[int, int] = {}  # id(settings) -> number
    for path in project.files:
        file_settings = per_directory.for_file(project.absolute[path])
        number = numbers.setdefault(id(file_settings), len(numbers))
        if number not in plans:
            plans[number] = passes.Plan.of(file_settings)
        chosen[path] = number
    workers = _Workers(tuple(plans[n] for n in range(len(plans))), chosen)
    # Syntax trees are many small objects without cycles, kept alive until checked: the cyclic
    # collector would walk them over and over (measured: 45% of a cold run's CPU). Workers are
    # forked with it off too; what little it would free goes when they exit.
    collecting = gc.isenabled()
    gc.disable()
    gc.unfreeze()  # what an earlier run in this process left (below) may be collected again
    try:
        return _run(targets, project, explicit, cache, workers)
    except WorkersLost:
        # A worker died (killed, out of memory): finish in this process rather than hang or stop.
        workers.close()
        return _run(targets, project, explicit, cache, _Workers(workers.plans, chosen, parallel=False))
    finally:
        workers.close()
        passes.kept.clear()  # what a run in this process (no workers) did not use
        passes.chose.clear()
        if collecting:
            # Millions of objects were made with the collector off, and the report and the cache
            # still use them: its next pass would walk them all, twice (0.9 s CPU on the bench
            # corpus). Frozen, they are freed by reference counting alone.
            gc.freeze()
            gc.enable()


def _indexed(
    files: list[str], absolute: dict[str, str], cache: Cache, workers: _Workers
) -> tuple[dict[str, Entry], Callable[[], ProjectIndex]]:
    """Every file's cache entry, with the summaries of the modules job code calls into, and the
    project index made of their facts, when first asked for."""
    entries, calls_changed = _scan(files, absolute, cache, workers)
    if calls_changed:  # otherwise every summary the calls need is cached: following finds nothing new
        summarise_callees(
            files,
            entries,
            module_of=lambda path: passes.module_of(absolute[path])[0],
            summarise=lambda paths: workers.map(
                passes.summary_shard, [(p, absolute[p], entries[p].size) for p in paths], None
            ),
            cache=lambda path, entry: cache.put(absolute[path], entry),
        )

    def index() -> ProjectIndex:
        # Entries without a facts digest hold no facts: their text is not even decoded.
        return ProjectIndex(e.facts for e in entries.values() if e.facts_digest and e.facts is not None)

    return entries, cache_result(index)


def _index_digest(entries: dict[str, Entry]) -> str:
    """`ProjectIndex.digest` of the entries' facts, from the digests their entries keep."""
    return ProjectIndex.digest_of((e.module, path, e.facts_digest) for path, e in entries.items() if e.facts_digest)


def _run(targets: Discovery, project: Discovery, explicit: set[str], cache: Cache, workers: _Workers) -> Run:
    absolute = project.absolute
    entries, index = _indexed(project.files, absolute, cache, workers)
    index_digest = _index_digest(entries)

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
    checked = set(targets.files)
    # Job modules left out of a partial run (pre-commit given a helper module) still decide the
    # findings that land on the checked files' effects; only those are kept.
    reaching = index().calls.reaching_files(checked) if len(project.files) > len(checked) else set()
    for path in sorted(reaching):
        entry = entries.get(path)
        if entry is None or not entry.candidate or path not in absolute:
            continue
        if entry.index_digest == workers.digest(path, index_digest) and entry.diagnostics is not None:
            diagnostics.extend(d for d in entry.diagnostics if _lands_in(d, checked))
        else:
            to_check.append((path, absolute[path], entry.size))
    for path, found in workers.map(passes.check_shard, to_check, index()) if to_check else ():
        entry = entries[path]
        entry.index_digest, entry.diagnostics = workers.digest(path, index_digest), found
        cache.put(absolute[path], entry)
        diagnostics.extend(d for d in found if path in checked or _lands_in(d, checked))
    landed = landing.land(diagnostics, checked, absolute)
    landed.diagnostics.sort(key=lambda d: d.sort_key)
    sources = {p: absolute[p] for p in targets.files}
    return Run(landed.diagnostics, len(targets.files), index, sources, landed.silenced)


def _lands_in(d: Diagnostic, checked: set[str]) -> bool:
    return d.landing is not None and d.landing.path in checked


def check_text(path: str, text: str, index: ProjectIndex, settings: Settings) -> list[Diagnostic]:
    """Check one file's (possibly fixed) text in this process, as the fixer needs."""
    return passes.check_one_source(path, os.path.abspath(path), Source(path, text), passes.Plan.of(settings), index)


def _project_files(
    paths: Sequence[str], targets: Discovery, settings: Settings, cache: Cache, nested: NestedFilters | None
) -> Discovery:
    """The files the index is built from: the whole project, so that cross-module facts hold
    even when only a few files are checked (as pre-commit does)."""
    root = os.path.abspath(settings.root)
    inside = False
    for path in paths:
        absolute = os.path.abspath(path)
        if os.path.isdir(absolute) and (absolute == root or root.startswith(absolute + os.sep)):
            return targets  # they hold the whole project
        inside |= absolute.startswith(root + os.sep)
    if not inside:
        return targets  # the root (the working directory, when nothing marks one) holds none of them
    try:
        whole = discover([settings.root], replace(settings.filters, force_exclude=False), cache.walks, nested)
    except ConfigError:
        # A broken sub-project configuration outside the checked paths: as in ruff, a run that
        # checks none of its files does not fail on it; the index is then the checked files'.
        return targets
    cache.dirty |= whole.walked
    whole.files = list(dict.fromkeys([*whole.files, *targets.files]))
    whole.absolute.update(targets.absolute)
    return whole


def _scan(files: list[str], absolute: dict[str, str], cache: Cache, workers: _Workers) -> tuple[dict[str, Entry], bool]:
    """Every file's entry, and whether a file read anew may call into modules not summarised
    yet: it is new, or its summary changed (an edit that changes no function's calls or lines,
    as a comment at the end, leaves what is summarised as it was)."""
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
    previous = {path: cache.stored(path) for _, path, _ in pending}
    calls_changed = False
    for path, entry, facts_text in workers.map(passes.scan_shard, pending, previous):
        entries[path] = entry
        cache.put(absolute[path], entry, facts_text)
        before = previous.get(absolute[path])
        calls_changed = calls_changed or before is None or _summary(before) != _summary(entry)
    return entries, calls_changed


def _summary(entry: Entry) -> ModuleSummary | None:
    return entry.facts.summary if entry.facts is not None else None


# Workers ---------------------------------------------------------------------------------------
# Each runs `jobs_lint.passes` on its shard of the files, and keeps what it parsed between passes.

T = TypeVar("T")


class WorkersLost(Exception):
    """A worker process died (killed, out of memory): the run goes on without workers."""


class _Workers:
    """A fixed set of worker processes, each sent the same shard of files in both passes."""

    def __init__(self, plans: tuple[passes.Plan, ...], chosen: dict[str, int], *, parallel: bool = True) -> None:
        self.plans = plans
        self.chosen = chosen
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self.pools: list[ProcessPoolExecutor] = []
        self.home: dict[str, int] = {}  # path -> the pool that parsed it

    def map(self, work: Callable[[list[passes.Item], Any], list[T]], items: list[passes.Item], shared: Any) -> list[T]:
        if not self.pools and (not self.parallel or len(items) < _PARALLEL_THRESHOLD):
            passes.init_worker(self.plans, self.chosen)
            return work(items, shared)
        # Imported here: a run of a few files (pre-commit's) forks no worker.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        if not self.pools:
            count = min(os.cpu_count() or 1, max(2, len(items) // _PARALLEL_THRESHOLD))
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            self.pools = [
                ProcessPoolExecutor(
                    1, mp_context=context, initializer=passes.init_worker, initargs=(self.plans, self.chosen)
                )
                for _ in range(count)
            ]
        shards = self._shard(items)
        if shared is not None:
            # What every worker gets (the index: megabytes) is pickled once, not once per worker.
            work, shared = partial(passes.with_shared, work), pickle.dumps(shared, pickle.HIGHEST_PROTOCOL)
        try:
            pairs = zip(self.pools, shards, strict=True)
            futures = [pool.submit(work, shard, shared) for pool, shard in pairs if shard]
            return [result for future in futures for result in future.result()]
        except BrokenProcessPool as error:
            raise WorkersLost from error

    def _shard(self, items: list[passes.Item]) -> list[list[passes.Item]]:
        """Files go back to the worker that parsed them; the rest by size, largest first."""
        shards: list[list[passes.Item]] = [[] for _ in self.pools]
        load = [0] * len(self.pools)
        for item in sorted(items, key=lambda item: -item[2]):
            home = self.home.get(item[0])
            if home is None:
                home = self.home[item[0]] = load.index(min(load))
            shards[home].append(item)
            load[home] += item[2] + 1
        return shards

    def plan_of(self, path: str) -> passes.Plan:
        return self.plans[self.chosen[path]]

    def digest(self, path: str, index_digest: str) -> str:
        """What a file's checked results depend on: the project's facts and its own settings."""
        return f"{index_digest}:{self.plan_of(path).key}"

    def close(self) -> None:
        for pool in self.pools:
            pool.shutdown(cancel_futures=True)
        self.pools = []


# One document at a time (standard input, the language server) -----------------------------------


def project_index(settings: Settings, cache: Cache, *, parallel: bool = True) -> ProjectIndex:
    """The index of every module under the project root, built as a run builds it (and from the
    same cache), for checking one document whose text may not be on disk."""
    whole = discover([settings.root], replace(settings.filters, force_exclude=False), cache.walks)
    cache.dirty |= whole.walked
    workers = _Workers((passes.Plan.of(settings),), dict.fromkeys(whole.files, 0), parallel=parallel)
    try:
        _, index = _indexed(whole.files, whole.absolute, cache, workers)
    finally:
        workers.close()
        passes.kept.clear()  # kept for a second pass that does not come
        passes.chose.clear()
    return index()


def document_facts(path: str, absolute: str, text: str) -> ModuleFacts | None:
    """What one document's text contributes to the index (None: nothing, or it does not parse)."""
    data = text.encode("utf-8")
    if not passes.needs_facts(data):
        return None
    try:
        tree = parse(Source(path, text))
    except UnreadableSource:
        return None
    return passes.facts_of(tree, path, absolute, data)
