"""Applying fixes: edits to text, imports through libcst, and a re-check after each round.

Edits come from `ast` positions; libcst adds the imports a fix needs (merging with existing
imports, after docstrings and `__future__` imports) and proves the result is still a module.
"""

from __future__ import annotations

import ast
import bisect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from jobs_lint.diagnostics import Applicability, Diagnostic, Edit, Fix
from jobs_lint.preserve import lost_text
from jobs_lint.source import Source

MAX_ROUNDS = 10  # a fix can expose another; stop before two fixes can undo each other forever


@dataclass(slots=True)
class FixedFile:
    text: str
    fixed: Counter[str] = field(default_factory=Counter)  # code -> fixes applied
    remaining: list[Diagnostic] = field(default_factory=list)
    refused: str | None = None  # why a round of fixes was not applied, if one was refused


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    fix = diagnostic.fix
    return fix is not None and (fix.applicability is Applicability.SAFE or unsafe)


def fix_text(
    text: str,
    diagnostics: list[Diagnostic],
    recheck: Callable[[str], list[Diagnostic]],
    unsafe: bool,
) -> FixedFile:
    result = FixedFile(text, remaining=diagnostics)
    for _ in range(MAX_ROUNDS):
        wanted = [(d.code, d.fix) for d in result.remaining if applicable(d, unsafe) and d.fix]
        if not wanted:
            break
        new_text, applied, result.refused = apply_fixes(result.text, wanted)
        if not applied or new_text == result.text:
            break
        result.text = new_text
        result.fixed.update(applied)
        result.remaining = recheck(new_text)
    return result


def apply_fixes(text: str, fixes: list[tuple[str, Fix]]) -> tuple[str, list[str], str | None]:
    """Apply the fixes that do not overlap an earlier one: the text, their codes, and why none
    was applied when the result would lose text or no longer parse."""
    source = Source("", text)
    taken: list[tuple[int, int]] = []  # sorted, non-overlapping: each fix is checked by bisection
    chosen: list[tuple[int, int, str]] = []
    codes: list[str] = []
    imports: list[tuple[str, str | None]] = []
    for code, fix in sorted(fixes, key=lambda item: _start(source, item[1])):
        ranges = [(source.offset(e.line, e.col), source.offset(e.end_line, e.end_col), e.content) for e in fix.edits]
        if any(_overlaps(start, end, taken) for start, end, _ in ranges):
            continue  # the next round re-checks and offers it again
        for start, end, _ in ranges:
            bisect.insort(taken, (start, end))
        chosen.extend(ranges)
        codes.append(code)
        imports.extend(fix.imports)
    if not chosen:
        return text, [], None
    new_text = _spliced(text, chosen)
    if imports:
        new_text = _add_imports(new_text, imports)
    lost = lost_text(text, new_text, sorted((start, end) for start, end, _ in chosen))
    if lost is not None:
        return text, [], lost
    try:
        ast.parse(new_text)
    except SyntaxError as error:  # never write a file that no longer parses
        return text, [], f"the fixed file would not parse ({error.msg}, line {error.lineno})"
    return new_text, codes, None


def apply_edits(text: str, edits: list[Edit]) -> str:
    source = Source("", text)
    return _spliced(
        text, [(source.offset(e.line, e.col), source.offset(e.end_line, e.end_col), e.content) for e in edits]
    )


def _spliced(text: str, replacements: list[tuple[int, int, str]]) -> str:
    """The text with non-overlapping (start, end, content) replacements, built in one pass."""
    parts: list[str] = []
    position = 0
    for start, end, content in sorted(replacements, key=lambda r: (r[0], r[1])):
        parts.append(text[position:start])
        parts.append(content)
        position = max(position, end)
    parts.append(text[position:])
    return "".join(parts)


def _start(source: Source, fix: Fix) -> int:
    return min(source.offset(e.line, e.col) for e in fix.edits) if fix.edits else 0


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    """Whether [start, end) overlaps a taken range, or starts where one starts (two insertions
    at one place). Only the ranges either side of `start` can: the others are further away."""
    after = bisect.bisect_left(taken, (start, -1))
    if after < len(taken) and (taken[after][0] == start or taken[after][0] < end):
        return True
    return after > 0 and start < taken[after - 1][1]


def _add_imports(text: str, imports: list[tuple[str, str | None]]) -> str:
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    for module, name in dict.fromkeys(imports):
        AddImportsVisitor.add_needed_import(context, module, name)
    tree = cst.parse_module(text)
    return AddImportsVisitor(context).transform_module(tree).code
