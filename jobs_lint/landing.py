"""Findings reached through calls, reported on the effect they reach when its file is checked.

A rule decides a finding in the job's module, where it sees the job: its options, its guards,
where the call sits. An effect the job reaches in another module of the project is reported there
on the job's call line, with a `Landing` naming the effect's file and line. The run knows which
files it checks: when the effect's file is one of them, the finding moves to the effect's line in
it, where the bug is (`requests.post`, `session.commit()`), and the job's call line becomes its
first related location. When that file is not checked (a pre-commit run given the job's file
alone), the finding stays on the call line, so that it is still seen. A run given the effect's
file without the job's checks the job's module too (`CallGraph.reaching_files`, in the runner)
and keeps only what lands in the checked files.

Several jobs reaching one effect give one finding per rule and line: the first job (by file and
line) is named, the others counted and listed as related locations. A finding the effect's own
module reports on that line already wins. A `# noqa` on the call line silences the finding in
the job's module, before it moves; one on the effect's line (or its statement's first line)
silences it here, and counts as used for that file's unused-noqa check (JL010).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from jobs_lint import noqa
from jobs_lint.checker import UnreadableSource, decode, parse
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.source import Source

_UNUSED = re.compile(r"\(unused: ([A-Z0-9, ]+)\)$")


@dataclass(slots=True)
class Landed:
    diagnostics: list[Diagnostic]
    # path -> codes a noqa comment there silenced for a finding that moved in: `--fix` keeps them.
    silenced: dict[str, set[str]] = field(default_factory=dict)


def land(diagnostics: list[Diagnostic], checked: Collection[str], absolute: Mapping[str, str]) -> Landed:
    """Move the findings whose effect lies in a checked file there. `absolute` maps a checked
    file's display path to the path to read it from."""
    moving: dict[tuple[str, int, str], list[Diagnostic]] = {}
    kept: list[Diagnostic] = []
    for d in diagnostics:
        if d.landing is not None and d.landing.path != d.path and d.landing.path in checked:
            moving.setdefault((d.landing.path, d.landing.line, d.code), []).append(d)
        else:
            kept.append(d)
    if not moving:
        return Landed(diagnostics)
    present = {(d.path, d.line, d.code) for d in kept}
    by_file: dict[str, list[list[Diagnostic]]] = {}
    for key, group in moving.items():
        if key not in present:
            by_file.setdefault(key[0], []).append(sorted(group, key=lambda d: d.sort_key))
    landed = Landed(kept)
    used: dict[tuple[str, int], set[str]] = {}
    for path, groups in by_file.items():
        parsed = _read(path, absolute.get(path, path))
        if parsed is None:  # unreadable now (reported as such): the findings stay where they were
            kept.extend(d for group in groups for d in group)
            continue
        source, tree = parsed
        calls = _calls_by_line(tree, {group[0].landing.line for group in groups if group[0].landing})
        remaining, silenced = noqa.suppress_only(source, tree, [_merged(source, calls, group) for group in groups])
        kept.extend(remaining)
        for line, codes in silenced.items():
            used[(path, line)] = codes
            landed.silenced.setdefault(path, set()).update(codes)
    if used:
        landed.diagnostics = [d for d in kept if not used_after_all(d, used.get((d.path, d.line), set()))]
    return landed


def _merged(source: Source, calls: dict[int, list[ast.Call]], group: list[Diagnostic]) -> Diagnostic:
    """One finding on the effect's line for every job that reaches it: the first one's."""
    first, others = group[0], group[1:]
    landing = first.landing
    assert landing is not None
    line, col, end_line, end_col = _position(source, calls.get(landing.line, []), landing.line, landing.callee)
    message = landing.message
    jobs = {other.landing.job for other in others if other.landing} - {landing.job}
    if jobs:
        message += f" (also reached from {len(jobs)} other job{'s' if len(jobs) > 1 else ''})"
    own = ((first.path, first.line, landing.via),) if landing.via else ()
    related = (*own, *first.related, *(hop for other in others for hop in _call_line(other)))
    return replace(
        first,
        message=message,
        path=landing.path,
        line=line,
        col=col,
        end_line=end_line,
        end_col=end_col,
        related=related,
        fix=None,
    )


def _call_line(d: Diagnostic) -> tuple[tuple[str, int, str], ...]:
    """Where a job's module reported the finding, as a related location (`related` starts with
    it when the finding was on a deeper call than the job's own)."""
    if d.landing is not None and d.landing.via:
        return ((d.path, d.line, d.landing.via),)
    return d.related[:1]


def _position(source: Source, calls: list[ast.Call], line: int, callee: str) -> tuple[int, int, int, int]:
    """The effect's call on its line (its callee's last name decides among several), else the
    line's text."""
    last = callee.rpartition(".")[2]
    named = [call for call in calls if ast.unparse(call.func).rpartition(".")[2] == last] or calls
    if named:
        call = min(named, key=lambda call: call.col_offset)
        end_line = call.end_lineno or line
        return (
            line,
            source.char_col(line, call.col_offset),
            end_line,
            source.char_col(end_line, call.end_col_offset or 0),
        )
    text = source.line(line)
    return line, len(text) - len(text.lstrip()) + 1, line, len(text.rstrip()) + 1


def _calls_by_line(tree: ast.Module, lines: set[int]) -> dict[int, list[ast.Call]]:
    found: dict[int, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno in lines:
            found.setdefault(node.lineno, []).append(node)
    return found


def moved_in(d: Diagnostic) -> bool:
    """Whether a finding was decided in a job's module and moved to this file's effect line."""
    return d.landing is not None and d.landing.path == d.path


def used_after_all(d: Diagnostic, codes: set[str]) -> bool:
    """Whether an unused-noqa finding names only `codes`, which the directive silenced for a
    finding that moved in after the file's own check."""
    match = _UNUSED.search(d.message) if d.code == noqa.UNUSED_NOQA else None
    return match is not None and set(match.group(1).split(", ")) <= codes


def _read(path: str, absolute: str) -> tuple[Source, ast.Module] | None:
    try:
        with open(absolute, "rb") as handle:
            source = decode(path, handle.read())
        return source, parse(source)
    except (OSError, UnreadableSource):
        return None
