"""What a rule is: a small class with a code, docs, examples, and visitor methods.

A rule defines `visit_<NodeType>(self, node)` and `leave_<NodeType>(self, node)` methods for the
`ast` nodes it cares about, and optionally `finish(self)` for checks over the whole module. It
reads the module through `self.ctx` (its semantic model, the project index, the enclosing task)
and calls `self.report(node, message, fix=...)`.

Its `valid` and `invalid` examples drive the tests (every invalid one must be reported, no valid
one may be) and the docs: the first invalid example is the docs' "Example", the first valid one
its "Use instead".
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from jobs_lint.diagnostics import Applicability, Fix, Landing

if TYPE_CHECKING:
    from jobs_lint.checker import Context
    from jobs_lint.semantic.callgraph import Reach

Needle = bytes | re.Pattern[bytes]


class Finder(Protocol):
    """What a file's bytes hold, searched for once per needle (`passes.Searched`)."""

    def present(self, needle: bytes) -> bool: ...

    def matches(self, pattern: re.Pattern[bytes]) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Plain:
    """Each needle searched for as asked: for one rule alone."""

    data: bytes

    def present(self, needle: bytes) -> bool:
        return needle in self.data

    def matches(self, pattern: re.Pattern[bytes]) -> bool:
        return pattern.search(self.data) is not None


@dataclass(frozen=True)
class Case:
    """An example module. `files` adds other modules of the same project around it."""

    code: str
    path: str = "example.py"
    files: dict[str, str] = field(default_factory=dict)
    fixed: str | None = None  # for an invalid case with a fix: the module after `--fix`
    # For an invalid case: the line reported in the example's module and a part of the message.
    line: int | None = None
    message: str | None = None
    # One of `files` checked with the example's module. A finding the example reaches in it is
    # reported there, on the effect's line: `line` and `message` are then that file's.
    checked: str | None = None


def Valid(code: str, **kwargs: object) -> Case:
    return Case(code, **kwargs)  # type: ignore[arg-type]


def Invalid(code: str, **kwargs: object) -> Case:
    return Case(code, **kwargs)  # type: ignore[arg-type]


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case
    summary: ClassVar[str]  # one line, for listings and SARIF's shortDescription
    # A file is checked by this rule only if, for every group, it contains one of the group's
    # byte strings. Keep them as specific as the rule allows: most files never need parsing.
    # Every group must match: a byte string is looked for as is, a pattern searched for (put a
    # group of byte strings before a pattern: patterns are slow on files that match nothing).
    needles: ClassVar[tuple[tuple[Needle, ...], ...]] = ()
    fix: ClassVar[Applicability | None] = None  # the kind of fix the rule can offer
    default: ClassVar[bool] = True  # enabled without being selected
    valid: ClassVar[tuple[Case, ...]] = ()
    invalid: ClassVar[tuple[Case, ...]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._reported_lines: set[int] = set()  # lines of findings reached through calls
        self._reported_effects: set[tuple[int, str, int]] = set()  # with `per_effect`: line, effect's file and line
        self._calls_by_line: dict[int, list[ast.Call]] | None = None  # the module's, when a finding moves

    @classmethod
    def wants(cls, data: bytes, found: Finder | None = None) -> bool:
        """Whether a file with these bytes could hold a finding of this rule. `found` remembers
        needles already searched for, which rules share, so that each is searched once per file."""
        search = _Plain(data) if found is None else found
        for group in cls.needles:
            for needle in group:
                if search.present(needle) if type(needle) is bytes else search.matches(needle):  # type: ignore[arg-type]
                    break
            else:
                return False
        return True

    def report(
        self, node: ast.AST, message: str, fix: Fix | None = None, related: tuple[tuple[str, int, str], ...] = ()
    ) -> None:
        """Report a finding at `node`; `related` lists the hops of a chain of calls that leads to
        it (`Reach.related`), for the outputs to show."""
        self.ctx.report(self.code, node, message, fix, related)

    def report_reach(
        self, call: ast.Call, caller: str, reach: Reach, message: str, *, per_effect: bool = False
    ) -> None:
        """Report a finding that `call`, in the body of `caller` (a job, a task, an activity),
        reaches through the functions it calls: on the line of the effect when the effect lies in
        this module, else on the deepest call of the chain made in this module, else on `call`.
        The hops are the related locations, from `caller`'s call on when the finding moved. One
        finding per rule and line: several jobs reaching one effect share it. With `per_effect`,
        one per line and effect: a call that reaches several effects in other modules has a
        finding for each, each landing on its own effect.

        An effect in another module of the project gives the finding a `Landing` there: when that
        file is checked in the same run, the finding is reported on the effect's line in it
        (`jobs_lint.landing`), once however many jobs reach it."""
        path = self.ctx.source.path
        deepest = next((hop for hop in reversed(reach.hops) if hop.path == path), None)
        node: ast.AST = call
        related = reach.related
        if deepest is not None:
            node = self._call_on(deepest.line, deepest.calls) or call
        via = f"`{caller}` calls `{reach.hops[0].function}`"
        if node is not call:
            related = ((path, call.lineno, via), *related)
        line = getattr(node, "lineno", 0)
        last = reach.hops[-1]
        if per_effect:
            effect = (line, last.path, last.line)
            if effect in self._reported_effects:
                return
            self._reported_effects.add(effect)
        elif line in self._reported_lines:
            return
        else:
            self._reported_lines.add(line)
        landing = None
        if last.path != path:
            # The landed finding lists this module's call line first, unless `related` has it;
            # read in the effect's module, its chain starts from the job.
            landed = message.replace(f"`{reach.chain}`", f"`{caller} -> {reach.chain}`", 1)
            landing = Landing(last.path, last.line, last.calls, via if node is call else "", caller, landed)
        self.ctx.report(self.code, node, message, None, related, landing)

    def _call_on(self, line: int, callee: str) -> ast.Call | None:
        """The call a hop names on a line of this module: the one whose callee ends like the
        hop's (`self.client.post` for `Client.post`), else the first on the line."""
        if self._calls_by_line is None:  # indexed once, the first time a finding moves
            self._calls_by_line = {}
            for node in ast.walk(self.ctx.model.tree):
                if isinstance(node, ast.Call):
                    self._calls_by_line.setdefault(node.lineno, []).append(node)
        on_line = self._calls_by_line.get(line, [])
        last = callee.rpartition(".")[2]
        named = [node for node in on_line if ast.unparse(node.func).rpartition(".")[2] == last]
        candidates = named or on_line
        return min(candidates, key=lambda node: node.col_offset) if candidates else None

    def finish(self) -> None:
        """Called once after the module has been walked."""

    @classmethod
    def docs(cls) -> str:
        from jobs_lint.rules.docs import render

        return render(cls)


class EngineDiagnostic(Rule):
    """A code the engine itself reports (unreadable input, internal errors): always enabled,
    unless `silenceable` and ignored by name (`--ignore`, `per-file-ignores`, `# noqa`)."""

    silenceable: ClassVar[bool] = False
