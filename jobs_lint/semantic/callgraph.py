"""The project's call graph: what a call reaches through the functions it calls, in any module.

Built once per project index from every module's function summaries (`summaries.py`). A question
is a set of effect kinds ("does this reach a blocking call?"); the first time one is asked, a
breadth-first search backwards from every function that has such an effect itself gives each
function its nearest one and the next call towards it: linear in the size of the graph, cycles
included, and never deeper than `MAX_DEPTH` calls. Every later question is a dictionary lookup.

Calls whose target the summaries could not name, or that name nothing the project defines, are
not edges: what the linter cannot see stays silent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from jobs_lint.semantic.blocking import sync_client_call
from jobs_lint.semantic.call_sites import PASSED, RETURNED, CallSite, ClassSummary
from jobs_lint.semantic.reads import is_request
from jobs_lint.semantic.summaries import BLOCKING, CREATES, IO, SENDS, Effect, FunctionSummary

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex

MAX_DEPTH = 6  # calls followed from the function called to the one with the effect
_MAX_WALKED = 256  # functions a walk over everything a call reaches visits at most
_MAX_BASES = 8  # base classes followed to find a method
_CREATED = frozenset({CREATES, SENDS})


@dataclass(frozen=True, slots=True)
class Hop:
    """One function on the way to an effect, and what it calls there."""

    function: str  # its name for messages: `send_invoice`, `Billing.charge`
    path: str  # the file it is defined in
    line: int  # where it calls the next function (or makes the call with the effect)
    calls: str  # what it calls there: the next function's name, or the effect's callee
    qualname: str = ""  # the function's qualified name


@dataclass(frozen=True, slots=True)
class Reach:
    """How a call gets to an effect: the functions on the way, the first being the one called."""

    effect: Effect
    hops: tuple[Hop, ...]
    function: str  # the qualified name of the function called

    @property
    def chain(self) -> str:
        """`send_invoice -> Billing.charge -> requests.post`."""
        return " -> ".join([*(hop.function for hop in self.hops), self.effect.callee])

    @property
    def related(self) -> tuple[tuple[str, int, str], ...]:
        """Each hop as (path, line, text), for a diagnostic's related locations."""
        return tuple((hop.path, hop.line, f"`{hop.function}` calls `{hop.calls}`") for hop in self.hops)


@dataclass(frozen=True, slots=True)
class _Step:
    distance: int
    effect: Effect
    next: str | None = None  # the function called towards the effect; None: the effect is here
    site: CallSite | None = None


class CallGraph:
    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.functions: dict[str, tuple[FunctionSummary, str]] = {}
        self.classes: dict[str, ClassSummary] = {}
        self.instances: dict[str, str] = {}
        for module in index.modules.values():
            summary = module.summary
            if summary is None:
                continue
            for function in summary.functions:
                self.functions[function.qualname] = (function, module.path)
            for cls in summary.classes:
                self.classes[cls.qualname] = cls
            for name, cls_name in summary.instances:
                self.instances[f"{module.module}.{name}"] = cls_name
        self._resolved: dict[str, str | None] = {}
        self._callers: dict[str, list[tuple[str, CallSite]]] | None = None
        self._nearest: dict[tuple[frozenset[str], bool], dict[str, _Step]] = {}
        self._add_client_requests()

    def _add_client_requests(self) -> None:
        """Give each function the requests it sends through a sync client a project factory
        returns (`client = s3_client()` then `client.put_object(...)`): its own effects, which
        its module alone could not see."""
        for qualname, (summary, path) in list(self.functions.items()):
            found = []
            for site in summary.calls:
                request = self.client_request(site) if site.method else None
                if request is not None:
                    callee, instead = request
                    found += [Effect(BLOCKING, instead, callee, site.line), Effect(IO, "", callee, site.line)]
            if found:
                effects = tuple(sorted((*summary.effects, *found), key=lambda e: e.line))
                self.functions[qualname] = (replace(summary, effects=effects), path)

    def client_request(self, site: CallSite) -> tuple[str, str] | None:
        """(the callee, what to use instead) when a call on what a factory returns is a request
        through a sync client (`blocking.sync_client_call`)."""
        cls = self._returned_class(site)
        if cls is None:
            return None
        called = f"{cls}.{site.method}"
        instead = sync_client_call(called)
        return (called, instead) if instead is not None else None

    def _returned_class(self, site: CallSite) -> str | None:
        factory = self.resolve(site.target) if site.method else None
        returned = self.functions[factory][0].returns_class if factory is not None else None
        return self.index.canonical(returned) if returned else None

    # Names ---------------------------------------------------------------------------------

    def resolve(self, target: str) -> str | None:
        """The project function a qualified name calls: a function, a method found through the
        class's bases, a method of a module-level instance or of an attribute whose class is
        known, or a class's `__init__`. None when the project defines no such function."""
        if target in self._resolved:
            return self._resolved[target]
        self._resolved[target] = None  # a cycle of aliases resolves to nothing
        found = self._resolve(self.index.canonical(target))
        self._resolved[target] = found
        return found

    def _resolve(self, path: str) -> str | None:
        if path in self.functions:
            return path
        if path in self.classes:
            return self._method(path, "__init__")
        owner, _, attr = path.rpartition(".")
        if not owner:
            return None
        cls = self._class_of(owner)
        return self._method(cls, attr) if cls is not None else None

    def _class_of(self, path: str) -> str | None:
        """The class of the object a qualified name holds (`proj.billing.Billing`: itself)."""
        canonical = self.index.canonical
        if path in self.classes:
            return path
        instance = self.instances.get(path)
        if instance is not None:
            return canonical(instance)
        owner, _, attr = path.rpartition(".")
        if owner in self.classes:  # `Service.client`: an attribute set in a class or its bases
            for base in self._bases(owner):
                for name, cls in self.classes[base].attributes:
                    if name == attr:
                        return canonical(cls)
        return None

    def _method(self, cls: str, name: str) -> str | None:
        for base in self._bases(cls):
            path = f"{base}.{name}"
            if path in self.functions:
                return path
        return None

    def ancestors(self, cls: str) -> list[str]:
        """The bases of a project class and of its project bases, nearest first, as qualified
        names: those the project defines and those it imports (`django.views.generic.View`)."""
        return [self.index.canonical(base) for found in self._bases(cls) for base in self.classes[found].bases]

    def _bases(self, cls: str) -> list[str]:
        """A class and its project base classes, nearest first."""
        found: list[str] = []
        pending = [cls]
        while pending and len(found) < _MAX_BASES:
            current = pending.pop(0)
            summary = self.classes.get(current)
            if summary is None or current in found:
                continue
            found.append(current)
            pending.extend(self.index.canonical(base) for base in summary.bases)
        return found

    def summary(self, qualname: str) -> FunctionSummary | None:
        found = self.functions.get(qualname)
        return found[0] if found else None

    # Reach ---------------------------------------------------------------------------------

    def reach(self, site: CallSite | str, kinds: frozenset[str], *, passed: bool = False) -> Reach | None:
        """The nearest effect of one of `kinds` that a call (a call site, or a qualified name
        called) leads to, and how. With `passed`, functions passed as arguments count as called.
        An idempotency guard stops what a function creates after it (`CREATES`, `SENDS`) from counting, as
        does a getter for the requests it makes to get the answer it returns (`reads.py`), and
        sync functions a decorator runs in a thread stop what blocks (`BLOCKING`)."""
        if isinstance(site, str):
            site = CallSite(site, 0, site)
        if site.kind == PASSED and not passed:
            return None
        function = self._callee(site)
        if function is None:
            return None
        nearest = self._nearest_effects(kinds, passed)
        if function not in nearest:
            return None
        hops = []
        current: str | None = function
        step = nearest[function]
        while current is not None:
            step = nearest[current]
            summary, path = self.functions[current]
            if step.next is None or step.site is None:
                hops.append(Hop(summary.name, path, step.effect.line, step.effect.callee, current))
            else:
                hops.append(Hop(summary.name, path, step.site.line, self.functions[step.next][0].name, current))
            current = step.next
        return Reach(step.effect, tuple(hops), function)

    def effects_reached(self, function: str, kinds: frozenset[str]) -> list[tuple[Reach, bool]]:
        """Every effect of one of `kinds` that a project function has or reaches through the
        functions it calls (or passes), breadth first, each function visited once, at most
        `MAX_DEPTH` calls away and `_MAX_WALKED` functions in all: with how it gets there and
        whether it runs in a loop (of the function that has it, or around a call on the way)."""
        start = self.resolve(function)
        if start is None:
            return []
        found: list[tuple[Reach, bool]] = []
        seen = {start}
        # With each function: whether a loop runs around it, and whether a getter asks through it.
        queue: deque[tuple[str, tuple[Hop, ...], bool, bool]] = deque([(start, (), False, False)])
        while queue:
            current, hops, looped, asked = queue.popleft()
            summary, path = self.functions[current]
            for effect in summary.effects:
                if effect.kind in kinds and not (asked and effect.kind in _CREATED and is_request(effect.what)):
                    hop = Hop(summary.name, path, effect.line, effect.callee, current)
                    found.append((Reach(effect, (*hops, hop), start), looped or _in_loop(summary, effect.line)))
            if len(hops) >= MAX_DEPTH:
                continue
            for site in summary.calls:
                callee = self._callee(site)
                if callee is None or callee in seen or len(seen) >= _MAX_WALKED:
                    continue
                seen.add(callee)
                hop = Hop(summary.name, path, site.line, self.functions[callee][0].name, current)
                loop = looped or _in_loop(summary, site.line)
                queue.append((callee, (*hops, hop), loop, asked or site.line in summary.reads))
        return found

    def continues_after(self, reach: Reach) -> bool:
        """Whether a function on the way has statements after its hop: a failure or a
        cancellation there comes after the effect, and a re-run repeats it."""
        for hop in reach.hops:
            summary = self.summary(hop.qualname)
            if summary is not None and hop.line < summary.last_statement:
                return True
        return False

    def reaching_files(self, paths: set[str]) -> set[str]:
        """The files of the functions that reach a function defined in `paths`, at most
        `MAX_DEPTH` calls away, cycles included: the job modules whose findings may land on an
        effect in those files (`jobs_lint.landing`), a walk backwards over the callers."""
        callers = self._caller_edges()
        distance = {name: 0 for name, (_, path) in self.functions.items() if path in paths}
        queue = deque(distance)
        found: set[str] = set()
        while queue:
            callee = queue.popleft()
            if distance[callee] >= MAX_DEPTH:
                continue
            for caller, _ in callers.get(callee, ()):
                if caller not in distance:
                    distance[caller] = distance[callee] + 1
                    found.add(self.functions[caller][1])
                    queue.append(caller)
        return found - paths

    def _nearest_effects(self, kinds: frozenset[str], passed: bool) -> dict[str, _Step]:
        key = (kinds, passed)
        found = self._nearest.get(key)
        if found is not None:
            return found
        guards, threads = bool(kinds & _CREATED), BLOCKING in kinds

        def stops(summary: FunctionSummary, line: int) -> bool:
            guarded = guards and 0 < summary.guarded_from <= line
            return guarded or (threads and summary.offloaded)

        nearest: dict[str, _Step] = {}
        queue: deque[str] = deque()
        for qualname, (summary, _) in self.functions.items():
            effect = next((e for e in summary.effects if e.kind in kinds and not stops(summary, e.line)), None)
            if effect is not None:
                nearest[qualname] = _Step(0, effect)
                queue.append(qualname)
        callers = self._caller_edges()
        while queue:
            callee = queue.popleft()
            step = nearest[callee]
            if step.distance >= MAX_DEPTH:
                continue
            asks = guards and is_request(step.effect.what)
            for caller, site in callers.get(callee, ()):
                if caller in nearest or (site.kind == PASSED and not passed):
                    continue
                summary = self.functions[caller][0]
                if stops(summary, site.line) or (asks and site.line in summary.reads):
                    continue
                nearest[caller] = _Step(step.distance + 1, step.effect, callee, site)
                queue.append(caller)
        self._nearest[key] = nearest
        return nearest

    def _callee(self, site: CallSite) -> str | None:
        if site.method:  # a method of the project class a factory returns
            cls = self._returned_class(site)
            if cls is None or cls not in self.classes or "." in site.method:
                return None
            return self._method(cls, site.method)
        callee = self.resolve(site.target)
        if callee is not None and site.kind == RETURNED:
            returned = self.functions[callee][0].returns
            return self.resolve(returned) if returned else None
        return callee

    def _caller_edges(self) -> dict[str, list[tuple[str, CallSite]]]:
        """For each function, the functions that call it (or pass it) and where."""
        if self._callers is not None:
            return self._callers
        callers: dict[str, list[tuple[str, CallSite]]] = {}
        for qualname, (summary, _) in self.functions.items():
            for site in summary.calls:
                callee = self._callee(site)
                if callee is not None and callee != qualname:
                    callers.setdefault(callee, []).append((qualname, site))
        self._callers = callers
        return callers


def _in_loop(summary: FunctionSummary, line: int) -> bool:
    return any(first <= line <= last for first, last in summary.loops)
