"""Proof that a fix removed only what it meant to: every token outside the edited ranges,
comments included, is still in the fixed text, in the same order.

libcst 1.9 drops misindented trailing comments on a round trip (`'x = 1\\n  # a\\n\\n  # b\\n'`
comes back without `# a`), and a fix that adds an import goes through libcst: without this check
`--fix` would write the loss back. Tokens are compared by kind and text, so moving code down (an
added import) is fine, and whitespace-only tokens are left out: a fix may re-indent.
"""

from __future__ import annotations

import bisect
import io
import tokenize
from collections.abc import Iterator

from jobs_lint.source import Source

_LAYOUT = frozenset({tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER})


def lost_text(before: str, after: str, edited: list[tuple[int, int]]) -> str | None:
    """A one-line description of the first token of `before` outside the `edited` character
    ranges (sorted, not overlapping) that `after` lacks; None when every one survived, or when
    `before` does not tokenize (then the parse check decides)."""
    starts = [start for start, _ in edited]
    try:
        kept = [(pair, line) for pair, line, start, end in _tokens(before) if not _touches(start, end, edited, starts)]
        remaining = (pair for pair, _, _, _ in _tokens(after))
        for pair, line in kept:
            if not any(other == pair for other in remaining):  # consumes `remaining` up to a match
                text = pair[1] if len(pair[1]) <= 60 else pair[1][:57] + "..."
                return f"it would remove `{text}` (line {line})"
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def _tokens(text: str) -> Iterator[tuple[tuple[int, str], int, int, int]]:
    """(kind, text), line, and start and end offsets of each token that is not layout."""
    source = Source("", text)
    offsets = source.line_offsets
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in _LAYOUT:
            continue
        (line, col), (end_line, end_col) = token.start, token.end
        yield (token.type, token.string), line, offsets[line - 1] + col, offsets[end_line - 1] + end_col


def _touches(start: int, end: int, edited: list[tuple[int, int]], starts: list[int]) -> bool:
    """Whether an edit overlaps the token [start, end); an insertion only strictly inside it.
    Only the last edit that starts before the token ends can: edits do not overlap."""
    last = bisect.bisect_left(starts, end) - 1
    return last >= 0 and start < edited[last][1]
