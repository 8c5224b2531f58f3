"""A source file's text with the position arithmetic that diagnostics and fixes need."""

from __future__ import annotations

import bisect
import re
from functools import cached_property

# Line endings as Python's tokenizer sees them. `str.splitlines` also breaks at \v, \f, \x1c-\x1e,
# \x85, \u2028 and \u2029, which Python does not: after one, every line number would be off.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class Source:
    """Decoded text of one file. `ast` reports UTF-8 byte columns; users see characters.

    `encoding` is the one the file declares (PEP 263, or a UTF-8 BOM as `utf-8-sig`): a fixed
    file is written back in it.
    """

    def __init__(self, path: str, text: str, encoding: str = "utf-8") -> None:
        self.path = path
        self.text = text
        self.encoding = encoding

    @cached_property
    def lines(self) -> list[str]:
        return _LINE.findall(self.text) or [""]

    @cached_property
    def line_offsets(self) -> list[int]:
        offsets = [0]
        for line in self.lines:
            offsets.append(offsets[-1] + len(line))
        return offsets

    def line(self, lineno: int) -> str:
        """The text of a 1-based line without its line ending ('' past the end)."""
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].rstrip("\r\n")
        return ""

    def line_of(self, offset: int) -> int:
        """The 1-based line an absolute character offset is on."""
        return min(bisect.bisect_right(self.line_offsets, offset), len(self.lines))

    def char_col(self, lineno: int, byte_col: int) -> int:
        """Convert an `ast` UTF-8 byte offset on a line to a 1-based character column."""
        line = self.line(lineno)
        if line.isascii():
            return byte_col + 1
        return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")) + 1

    def offset(self, lineno: int, col: int) -> int:
        """Absolute character offset of a 1-based (line, column) position."""
        lineno = max(1, min(lineno, len(self.lines) + 1))
        if lineno > len(self.lines):
            return len(self.text)
        return self.line_offsets[lineno - 1] + col - 1
