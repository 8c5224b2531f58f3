"""The work one process does on one file, in either pass of a run (see `jobs_lint.runner`).

Worker processes keep the modules they parsed for the index, and check them themselves in the
second pass: files that define tasks are usually the ones the rules look at, and are parsed once.
"""

from __future__ import annotations

import ast
import hashlib
import os
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, TypeVar

from jobs_lint import codec, noqa
from jobs_lint.cache import Entry
from jobs_lint.checker import SKIP_FILE, UnreadableSource, check_source, decode, parse
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.rules import RULES, Rule
from jobs_lint.rules.base import Needle
from jobs_lint.semantic.facts import ModuleFacts
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.modules import module_name
from jobs_lint.semantic.scope import ScopeTable
from jobs_lint.semantic.summaries import ModuleSummary
from jobs_lint.semantic.tools import tools
from jobs_lint.settings import Settings
from jobs_lint.source import Source

Item = tuple[str, str, int]  # display path, absolute path, size
T = TypeVar("T")

# Files containing none of these define nothing the index needs (tasks, apps, configuration,
# workers, workflows): each tool says which words its facts need.
FACT_NEEDLES = tuple(needle for tool in tools() for needle in tool.needles)
FACT_PATTERNS = tuple(pattern for tool in tools() for pattern in tool.patterns)


@dataclass(frozen=True, slots=True)
class Plan:
    """The rules one configuration runs (a run has one per pyproject.toml its files follow)."""

    rules: tuple[str, ...]  # the selected rules that run as visitors
    selected: frozenset[str]
    settings: Settings
    key: str  # what cached results computed with it depend on

    @classmethod
    def of(cls, settings: Settings) -> Plan:
        selected = settings.selected()
        rules = tuple(code for code in sorted(selected) if _runs(RULES[code]))
        return cls(rules, selected, settings, settings.cache_key())

    def wanted_by(self, data: bytes, found: Searched | None = None) -> tuple[str, ...]:
        """The rules that want a file with these bytes; `found` is shared with `needs_facts` so
        that each needle is searched for once."""
        found = Searched(data) if found is None else found
        return tuple(code for code in self.rules if RULES[code].wants(data, found))


class Searched(dict[Needle, bool]):
    """The needles searched for in one file so far, shared by the rules' prefilters and the
    index's. The index's byte strings are known absent without a search when a shorter needle
    inside them is (".task(" when ".task" is): on a tree where most files hold no needle, most
    of a cold run's searching is for needles that are not there."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data

    def present(self, needle: bytes) -> bool:
        known = self.get(needle)
        if known is None:
            known = self[needle] = all(self.present(part) for part in _parts(needle)) and needle in self.data
        return known

    def matches(self, pattern: re.Pattern[bytes]) -> bool:
        """Whether `pattern` is found, searched for once however many words lead to it."""
        known = self.get(pattern)
        if known is None:
            known = self[pattern] = pattern.search(self.data) is not None
        return known


def _all_needles() -> frozenset[bytes]:
    words = {n for rule in RULES.values() for group in rule.needles for n in group if type(n) is bytes}
    return frozenset({*words, *FACT_NEEDLES, *(word for word, _ in FACT_PATTERNS)})


@cache
def _parts(needle: bytes) -> tuple[bytes, ...]:
    """The other needles inside `needle`, shortest first."""
    return tuple(sorted((n for n in _all_needles() if n != needle and n in needle), key=len))


_plans: tuple[Plan, ...] = ()
_chosen: dict[str, int] = {}
# path -> text, tree, rules that want it, and its scopes when the first pass built them (both
# passes read the same scopes: they depend on the tree alone).
kept: dict[str, tuple[Source, ast.Module, tuple[str, ...], ScopeTable | None]] = {}
# path -> digest, plan key and the rules that want it (maybe none), for the files not kept above.
chose: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def init_worker(plans: tuple[Plan, ...], chosen: dict[str, int]) -> None:
    global _plans, _chosen
    _plans, _chosen = plans, chosen


def scan_shard(items: list[Item], previous: dict[str, Entry | None]) -> list[tuple[str, Entry, str | None]]:
    """Each file's entry, and its facts as the cache writes them: encoded here, in parallel,
    rather than by the process that saves the cache, while the workers wait."""
    found = []
    for path, absolute, _ in items:
        entry = _scan_one(path, absolute, previous.get(absolute))
        found.append((path, entry, codec.dumps(entry.facts) if entry.facts is not None else None))
    return found


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
    found = Searched(data)
    wanted = plan.wanted_by(data, found)
    candidate = bool(wanted) or not _is_text(data)
    facts = None
    parsed = None
    if needs_facts(data, found):
        parsed = _parse(path, data)
        if parsed is not None:
            source, tree = parsed
            facts, scopes = _own_facts(tree, path, absolute, data)
            if wanted and SKIP_FILE not in data:
                kept[path] = (source, tree, wanted, scopes)
        # Job code that does not parse is reported (JL001) by the check pass.
        candidate = candidate or facts is None
    if _was_callee(previous) and (facts is None or facts.summary is None):
        facts = _resummarised(path, absolute, data, facts, wanted, parsed)
    if path not in kept:  # wanted or not: a module summarised next is not searched again
        chose[path] = (digest, plan.key, wanted)
    entry = Entry(stat.st_mtime_ns, stat.st_size, digest, candidate, plan.key)
    entry.set_facts(facts)
    return entry


def _was_callee(previous: Entry | None) -> bool:
    facts = previous.facts if previous is not None else None
    return facts is not None and facts.summary is not None


def _resummarised(
    path: str,
    absolute: str,
    data: bytes,
    facts: ModuleFacts | None,
    wanted: tuple[str, ...],
    parsed: tuple[Source, ast.Module] | None,
) -> ModuleFacts:
    """The facts of an edited module that job code called into, with its summary made again here,
    as `callees.summarise_callees` would make it: when the summary is unchanged (an edit that moves
    no call), the run knows without reading every file's facts that nothing new is reached (an
    edited helper module made a pre-commit run decode the whole project's facts)."""
    summary = _summary_one(path, absolute, data, wanted, parsed)
    return (
        ModuleFacts(module_of(absolute)[0], path, summary=summary) if facts is None else replace(facts, summary=summary)
    )


def summary_shard(items: list[Item], _: None) -> list[tuple[str, ModuleSummary]]:
    return [(path, _summary_read(path, absolute)) for path, absolute, _ in items]


def _summary_read(path: str, absolute: str) -> ModuleSummary:
    """A module's function summaries: empty when it cannot be read or parsed (the check pass
    reports that where it matters), so that it is not read again while unchanged."""
    try:
        with open(absolute, "rb") as handle:
            data = handle.read()
    except OSError:
        return ModuleSummary()
    return _summary_one(path, absolute, data, _wanted(path, data, _plans[_chosen[path]]))


def _summary_one(
    path: str, absolute: str, data: bytes, wanted: tuple[str, ...], parsed: tuple[Source, ast.Module] | None = None
) -> ModuleSummary:
    module, is_package = module_of(absolute)
    parsed = parsed or _parse(path, data)
    if parsed is None:
        return ModuleSummary()
    model = None
    try:
        model = ModuleModel(parsed[1], path, module, is_package, ProjectIndex.collecting())
        summary = model.summary()
    except (RecursionError, MemoryError):  # deep nesting: no summary, as no facts
        summary = ModuleSummary()
    chose.pop(path, None)
    if wanted and SKIP_FILE not in data:  # checked by this worker next: parsed once
        kept[path] = (*parsed, wanted, model.scopes if model is not None else None)
    return summary


def needs_facts(data: bytes, found: Searched | None = None) -> bool:
    found = Searched(data) if found is None else found
    return any(found.present(n) for n in FACT_NEEDLES) or any(
        found.present(n) and found.matches(p) for n, p in FACT_PATTERNS
    )


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


def facts_of(tree: ast.Module, path: str, absolute: str, data: bytes) -> ModuleFacts | None:
    return _own_facts(tree, path, absolute, data)[0]


def _own_facts(tree: ast.Module, path: str, absolute: str, data: bytes) -> tuple[ModuleFacts | None, ScopeTable | None]:
    """A module's facts, and the scopes they were read with, for the check pass to reuse."""
    module, is_package = module_of(absolute)
    try:
        model = ModuleModel(tree, path, module, is_package, ProjectIndex.collecting())
        return model.facts(data), model.scopes
    except (RecursionError, MemoryError):
        return None, None


def with_shared(work: Callable[[list[Item], Any], list[T]], items: list[Item], shared: bytes) -> list[T]:
    """`work` given what the main process pickled once for every worker (`runner._Workers`)."""
    return work(items, pickle.loads(shared))


def check_shard(items: list[Item], index: ProjectIndex) -> list[tuple[str, list[Diagnostic]]]:
    return [(path, _check_one(path, absolute, index)) for path, absolute, _ in items]


def _check_one(path: str, absolute: str, index: ProjectIndex) -> list[Diagnostic]:
    plan = _plans[_chosen[path]]
    parsed = kept.pop(path, None)
    if parsed is not None:
        source, tree, wanted, scopes = parsed
        return _check_tree(path, absolute, source, tree, replace(plan, rules=wanted), index, scopes)
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
    wanted = _wanted(path, data, plan)
    chose.pop(path, None)
    return check_one_source(path, absolute, source, replace(plan, rules=wanted), index)


def _wanted(path: str, data: bytes, plan: Plan) -> tuple[str, ...]:
    """The rules that want the file, as the facts pass of this worker found them when the file
    and the plan are those it read (a few hundred files a run are checked or summarised without
    being parsed for facts: their needles are not searched for twice)."""
    known = chose.get(path)
    if known is not None and known[1] == plan.key and known[0] == hashlib.blake2b(data, digest_size=16).hexdigest():
        return known[2]
    return plan.wanted_by(data)


def check_one_source(path: str, absolute: str, source: Source, plan: Plan, index: ProjectIndex) -> list[Diagnostic]:
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
    path: str,
    absolute: str,
    source: Source,
    tree: ast.Module,
    plan: Plan,
    index: ProjectIndex,
    scopes: ScopeTable | None = None,
) -> list[Diagnostic]:
    module, is_package = module_of(absolute)
    ignored = plan.settings.ignored_for(path)
    rules: list[type[Rule]] = [RULES[code] for code in plan.rules if code not in ignored]
    try:
        found = check_source(source, tree, module, is_package, index, rules, plan.selected - ignored, scopes)
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


@cache  # a file per entry: a bound below the tree's size would compute them all again
def module_of(absolute: str) -> tuple[str, bool]:
    return module_name(absolute, _import_roots), os.path.basename(absolute) in ("__init__.py", "__init__.pyi")


# Each directory's import root, for as long as `module_of` remembers its files' modules: the
# files of one directory share it, and finding it looks at every directory above.
_import_roots: dict[str, str] = {}
