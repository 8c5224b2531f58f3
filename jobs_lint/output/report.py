"""What every output format gets: the findings and what they need to render them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from jobs_lint.diagnostics import Diagnostic
from jobs_lint.fixer import applicable
from jobs_lint.source import Source


@dataclass
class Report:
    diagnostics: list[Diagnostic]
    root: str  # the project root: SARIF's URIs are relative to it
    files: dict[str, str] = field(default_factory=dict)  # display path -> absolute path
    unsafe_fixes: bool = False
    color: bool = False
    fixed: int = 0  # findings `--fix` fixed in this run
    quiet: bool = False  # findings only, no summary
    _sources: dict[str, Source | None] = field(default_factory=dict)

    def source(self, path: str) -> Source | None:
        """The file's text, read once, for snippets and fingerprints."""
        if path not in self._sources:
            from jobs_lint.checker import UnreadableSource, decode

            try:
                with open(self.files.get(path, path), "rb") as handle:
                    data = handle.read()
            except OSError:
                self._sources[path] = None
                return None
            try:
                self._sources[path] = decode(path, data)  # in its declared encoding
            except UnreadableSource:
                self._sources[path] = Source(path, data.decode("utf-8", errors="replace"))
        return self._sources[path]

    def fixable(self, diagnostic: Diagnostic) -> bool:
        return applicable(diagnostic, self.unsafe_fixes)

    @cached_property
    def hidden_fixes(self) -> int:
        return sum(1 for d in self.diagnostics if d.fix and not self.fixable(d))

    def relative(self, path: str) -> str:
        absolute = os.path.abspath(self.files.get(path, path))
        return os.path.relpath(absolute, self.root).replace(os.sep, "/")
