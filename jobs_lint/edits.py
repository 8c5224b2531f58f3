"""Building fix edits from `ast` nodes, so rules never do position arithmetic themselves."""

from __future__ import annotations

import ast
import re

from jobs_lint.diagnostics import Edit
from jobs_lint.source import Source

_STRING = re.compile(r"(?P<prefix>[rRuU]?)(?P<quote>'''|\"\"\"|'|\")(?P<body>.*)(?P=quote)", re.DOTALL)


def span(source: Source, node: ast.AST) -> tuple[int, int, int, int]:
    """(line, col, end_line, end_col) of a node, columns in characters, 1-based."""
    line = node.lineno  # type: ignore[attr-defined]
    end_line = node.end_lineno or line  # type: ignore[attr-defined]
    return (
        line,
        source.char_col(line, node.col_offset),  # type: ignore[attr-defined]
        end_line,
        source.char_col(end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
    )


def text_of(source: Source, node: ast.AST) -> str:
    line, col, end_line, end_col = span(source, node)
    return source.text[source.offset(line, col) : source.offset(end_line, end_col)]


def replace(source: Source, node: ast.AST, content: str) -> Edit:
    return Edit(*span(source, node), content)


def replace_string(source: Source, node: ast.AST, value: str) -> Edit | None:
    """Replace a string literal's value, keeping its quotes; None for f-strings and
    implicitly concatenated literals, where a text edit could change more than the value."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return None
    match = _STRING.fullmatch(text_of(source, node))
    if match is None or match.group("quote") in match.group("body"):
        return None
    quote = match.group("quote")
    return replace(source, node, f"{match.group('prefix')}{quote}{value}{quote}")


def delete_element(source: Source, elements: list[ast.expr], position: int) -> Edit:
    """Remove one element of a list, tuple or call's arguments with its separating comma."""
    element = elements[position]
    line, col, end_line, end_col = span(source, element)
    if position + 1 < len(elements):
        after = span(source, elements[position + 1])
        return Edit(line, col, after[0], after[1], "")
    before = span(source, elements[position - 1])
    return Edit(before[2], before[3], end_line, end_col, "")
