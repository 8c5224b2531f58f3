"""The result cache: an unchanged tree re-checks without reading a file.

One pickle per jobs-lint version and rule selection, under `.jobs_lint_cache/` at the project root.
A file's entry is reused while its size and mtime are unchanged; when they change, its content
digest decides, so touching a file costs a read but not a re-check. Checked results also record
the project index digest they were computed with, since cross-module facts feed every file.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from typing import Any

from jobs_lint import __version__
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Walk
from jobs_lint.semantic.facts import ModuleFacts

# Changes whenever a cached dataclass changes shape (facts, summaries, diagnostics), so that a
# cache written by another build of the same version is not read as this one's.
LAYOUT = "summaries-1"


@dataclass(slots=True)
class Entry:
    mtime_ns: int
    size: int
    digest: str
    candidate: bool  # contains a needle of a selected rule or of the index
    facts: ModuleFacts | None = None
    index_digest: str | None = None  # what `diagnostics` were computed against
    diagnostics: list[Diagnostic] | None = None


class Cache:
    def __init__(
        self, path: str | None, entries: dict[str, Entry] | None = None, walks: dict[Any, Walk] | None = None
    ) -> None:
        self.path = path
        self.entries: dict[str, Entry] = entries or {}
        # Directory walks, reused while no directory or .gitignore they read has changed.
        self.walks: dict[Any, Walk] | None = walks if path is not None else None
        self.dirty = False

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def open(cls, directory: str, key: str) -> Cache:
        path = os.path.join(directory, __version__, f"{key}-{LAYOUT}.pickle")
        try:
            with open(path, "rb") as handle:
                entries, walks = pickle.load(handle)
        except Exception:  # missing, truncated or from an incompatible version: start afresh
            entries, walks = {}, {}
        return cls(path, entries, walks)

    def get(self, path: str, mtime_ns: int, size: int) -> Entry | None:
        entry = self.entries.get(path)
        if entry is not None and entry.mtime_ns == mtime_ns and entry.size == size:
            return entry
        return None

    def put(self, path: str, entry: Entry) -> None:
        self.entries[path] = entry
        self.dirty = True

    def forget(self, path: str) -> None:
        if self.entries.pop(path, None) is not None:
            self.dirty = True

    def save(self) -> None:
        """Write atomically; a cache that cannot be written is not an error."""
        if self.path is None or not self.dirty:
            return
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, exist_ok=True)
            root = os.path.dirname(directory)
            marker = os.path.join(root, ".gitignore")
            if not os.path.exists(marker):
                with open(marker, "w") as handle:
                    handle.write("# Created by jobs-lint\n*\n")
            fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((self.entries, self.walks), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self.path)
        except OSError:
            return
