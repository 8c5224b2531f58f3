"""`# noqa` suppressions: which lines cover a finding, which directives are unused, adding them.

A directive on a finding's own line suppresses it, and so does one on the first line of the
multi-line statement that contains it, or on the first decorator of the def it reports on.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass, field, replace

from jobs_lint.diagnostics import Diagnostic, Edit, Fix
from jobs_lint.source import Source

UNUSED_NOQA = "JL010"
_DIRECTIVE = re.compile(
    r"#\s*noqa(?::[\s]*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?",
    re.IGNORECASE,
)
_OUR_CODE = re.compile(r"JL[0-9]{3}")
_JL_DIRECTIVE = re.compile(r"noqa:[^\n]*JL[0-9]", re.IGNORECASE)


@dataclass(slots=True)
class Directive:
    line: int
    col: int  # 1-based column of the `#`
    end_col: int  # end of the directive (the codes list)
    codes: list[str] | None  # None: a blanket noqa comment
    used: set[str] = field(default_factory=set)


def directives(source: Source, tree: ast.Module | None = None, only: set[int] | None = None) -> dict[int, Directive]:
    """The `# noqa` comments of a file by line (`only` some lines): real comments, not text
    that looks like one inside a string."""
    lines = [n for n in (only or range(1, len(source.lines) + 1)) if "noqa" in source.line(n).lower()]
    if not lines:
        return {}
    in_strings = _multiline_string_lines(tree) if tree is not None else set()
    found: dict[int, Directive] = {}
    for line in lines:
        if line in in_strings:
            continue
        for token in _line_tokens(source.line(line)):
            if token.type != tokenize.COMMENT:
                continue
            match = _DIRECTIVE.search(token.string)
            if match is None:
                continue
            col = token.start[1]
            codes = match.group("codes")
            found[line] = Directive(
                line=line,
                col=col + match.start() + 1,
                end_col=col + match.end() + 1,
                codes=[c.upper() for c in re.split(r"[\s,]+", codes.strip())] if codes else None,
            )
    return found


def _line_tokens(line: str) -> list[tokenize.TokenInfo]:
    """Tokens of one physical line; a line inside brackets still tokenizes up to its end."""
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(line).readline):
            tokens.append(token)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return tokens


def _multiline_string_lines(tree: ast.Module) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            end = node.end_lineno or node.lineno
            if end > node.lineno:
                inside.update(range(node.lineno + 1, end + 1))
    return inside


def apply_suppressions(
    source: Source, tree: ast.Module, diagnostics: list[Diagnostic], selected: frozenset[str]
) -> list[Diagnostic]:
    check_unused = UNUSED_NOQA in selected and _JL_DIRECTIVE.search(source.text) is not None
    if not diagnostics and not check_unused:
        return diagnostics
    covering = _StatementLines(tree)
    located = [replace(d, noqa_lines=covering.lines_for(d.line)) for d in diagnostics]
    wanted = {line for d in located for line in d.noqa_lines}
    if check_unused:
        wanted.update(source.line_of(match.start()) for match in _JL_DIRECTIVE.finditer(source.text))
    table = directives(source, tree, wanted)
    kept = [d for d in located if not _suppressed(d, d.noqa_lines, table)]
    if check_unused:
        kept.extend(_unused(source, table, selected))
    return kept


def suppress_only(
    source: Source, tree: ast.Module, diagnostics: list[Diagnostic]
) -> tuple[list[Diagnostic], dict[int, set[str]]]:
    """The diagnostics no `# noqa` silences, and the codes each directive's line silenced: for
    findings added to a file after its own check (`jobs_lint.landing`), whose directives the
    file's unused-noqa check could not count."""
    covering = _StatementLines(tree)
    located = [replace(d, noqa_lines=covering.lines_for(d.line)) for d in diagnostics]
    table = directives(source, tree, {line for d in located for line in d.noqa_lines})
    kept = [d for d in located if not _suppressed(d, d.noqa_lines, table)]
    return kept, {line: directive.used for line, directive in table.items() if directive.used}


def silences(source: Source, line: int, code: str) -> bool:
    """Whether a `# noqa` on `line` silences `code`, in a file that does not parse (JL001):
    with no syntax tree, the line alone is tokenized."""
    directive = directives(source, None, {line}).get(line)
    return directive is not None and (directive.codes is None or code in directive.codes)


def _suppressed(diagnostic: Diagnostic, lines: tuple[int, ...], table: dict[int, Directive]) -> bool:
    for line in lines:
        directive = table.get(line)
        if directive is None:
            continue
        if directive.codes is None:
            return True
        if diagnostic.code in directive.codes:
            directive.used.add(diagnostic.code)
            return True
    return False


def _unused(source: Source, table: dict[int, Directive], selected: frozenset[str]) -> list[Diagnostic]:
    from jobs_lint.rules import RULES

    found = []
    for directive in table.values():
        if directive.codes is None:
            continue  # a blanket noqa may serve other tools
        ours = [code for code in directive.codes if _OUR_CODE.fullmatch(code)]
        unused = [code for code in ours if code not in directive.used]
        if not unused:
            continue
        unknown = [code for code in unused if code not in RULES]
        disabled = [code for code in unused if code in RULES and code not in selected]
        stale = [code for code in unused if code in RULES and code in selected]
        parts = []
        if stale:
            parts.append(f"unused: {', '.join(stale)}")
        if disabled:
            parts.append(f"non-enabled: {', '.join(disabled)}")
        if unknown:
            parts.append(f"unknown: {', '.join(unknown)}")
        remaining = [code for code in directive.codes if code not in unused]
        found.append(
            Diagnostic(
                UNUSED_NOQA,
                f"Unused `noqa` directive ({'; '.join(parts)})",
                source.path,
                directive.line,
                directive.col,
                directive.line,
                directive.end_col,
                _removal(source, directive, remaining),
            )
        )
    return found


def _removal(source: Source, directive: Directive, remaining: list[str]) -> Fix:
    line, col, end_col = directive.line, directive.col, directive.end_col
    if remaining:
        return Fix("Remove unused codes", (Edit(line, col, line, end_col, f"# noqa: {', '.join(remaining)}"),))
    text = source.line(line)
    if text[end_col - 1 :].strip():
        # `
        return Fix("Remove unused `noqa` directive", (Edit(line, col, line, end_col, "#"),))
    start = col
    while start > 1 and text[start - 2] in " \t":
        start -= 1
    return Fix("Remove unused `noqa` directive", (Edit(line, start, line, end_col, ""),))


class _StatementLines:
    """For a line, the lines whose `# noqa` also covers it: a descent through the statements
    that contain it, each found by bisection, so a file's findings cost O(log n) each."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self._starts: dict[int, list[int]] = {}  # id(body) -> first line of each statement

    def _containing(self, body: list[ast.stmt], line: int) -> ast.stmt | None:
        starts = self._starts.get(id(body))
        if starts is None:
            starts = self._starts[id(body)] = [_first_line(s) for s in body]
        position = bisect.bisect_right(starts, line) - 1
        if position < 0:
            return None
        statement = body[position]
        return statement if line <= (statement.end_lineno or statement.lineno) else None

    def lines_for(self, line: int) -> tuple[int, ...]:
        found = [line]
        body: list[ast.stmt] = self.tree.body
        while body:
            statement = self._containing(body, line)
            if statement is None:
                break
            inner = _inner_bodies(statement)
            header_end = min((_first_line(b[0]) for b in inner if b), default=(statement.end_lineno or 0) + 1) - 1
            if not inner or line <= header_end:
                for candidate in (statement.lineno, _first_line(statement)):
                    if candidate not in found:
                        found.append(candidate)
                break
            body = next((b for b in inner if b and _first_line(b[0]) <= line <= (b[-1].end_lineno or 0)), [])
        return tuple(found)


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return min((d.lineno for d in decorators), default=statement.lineno) if decorators else statement.lineno


def _inner_bodies(statement: ast.stmt) -> list[list[ast.stmt]]:
    bodies: list[list[ast.stmt]] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(statement, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for holder in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
        bodies.append(holder.body)
    return bodies


def add_noqa_edits(source: Source, diagnostics: list[Diagnostic]) -> list[Edit]:
    """Edits that suppress `diagnostics` in place (`--add-noqa`), one directive per line."""
    comment_lines = _commentable_lines(source)
    existing = directives(source)
    wanted: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        lines = diagnostic.noqa_lines or (diagnostic.line,)
        # Prefer the statement's first line, where a reader looks for it.
        target = next((ln for ln in sorted(lines) if ln in comment_lines), None)
        if target is not None:
            wanted.setdefault(target, set()).add(diagnostic.code)
    edits = []
    for line, codes in sorted(wanted.items()):
        directive = existing.get(line)
        text = source.line(line)
        if directive is not None and directive.codes is not None:
            merged = sorted(set(directive.codes) | codes)
            edits.append(Edit(line, directive.col, line, directive.end_col, f"# noqa: {', '.join(merged)}"))
        elif directive is None:
            stripped = len(text.rstrip())
            edits.append(Edit(line, stripped + 1, line, len(text) + 1, f"  # noqa: {', '.join(sorted(codes))}"))
    return edits


def _commentable_lines(source: Source) -> set[int]:
    """Lines that end in code where a comment may follow (not inside a string, not after `\\`)."""
    lines: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source.text).readline):
            if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
                lines.add(token.start[0])
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return set()
    return lines
