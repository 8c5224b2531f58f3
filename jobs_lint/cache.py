"""The result cache: an unchanged tree re-checks without reading a file.

One file per jobs-lint version and rule selection, under `.jobs_lint_cache/` at the project root.
It is data only (`jobs_lint.codec`, never pickle): the cache sits in the tree being linted, and a
repository could commit one. A file that does not load is ignored and replaced.
A file's entry is reused while its size and mtime are unchanged; when they change, its content
digest decides, so touching a file costs a read but not a re-check. Checked results also record
the project index digest they were computed with, since cross-module facts feed every file.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from typing import Any

from jobs_lint import __version__, codec
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Walk
from jobs_lint.semantic.facts import ModuleFacts


@dataclass(slots=True)
class Entry:
    mtime_ns: int
    size: int
    digest: str
    candidate: bool  # contains a needle of a selected rule or of the index
    facts: ModuleFacts | None = None
    index_digest: str | None = None  # what `diagnostics` were computed against
    diagnostics: list[Diagnostic] | None = None
    selection: str = ""  # the settings `candidate` was decided with (`Settings.cache_key`)


class Cache:
    def __init__(
        self,
        path: str | None,
        entries: dict[str, Entry] | None = None,
        walks: dict[Any, Walk] | None = None,
        *,
        dirty: bool = False,
    ) -> None:
        self.path = path
        self.entries: dict[str, Entry] = entries or {}
        # Directory walks, reused while no directory or .gitignore they read has changed.
        self.walks: dict[Any, Walk] | None = walks if path is not None else None
        self.dirty = dirty  # a file that did not load is replaced even if nothing changes

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def open(cls, directory: str, key: str) -> Cache:
        path = os.path.join(directory, __version__, f"{key}.json")
        try:
            with open(path, "rb") as handle:
                entries, walks = _checked(codec.loads(handle.read()))
        except (OSError, codec.DecodeError):  # missing, corrupt, or from another version: start afresh
            return cls(path, {}, {}, dirty=True)
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
            text = codec.dumps((codec.schema(), self.entries, self.walks))
            fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, self.path)
        except (OSError, TypeError, ValueError):  # TypeError: a value the codec does not know
            return


def _checked(loaded: Any) -> tuple[dict[str, Entry], dict[Any, Walk]]:
    """What `save` writes, (schema, path -> Entry, key -> Walk), with the schema of today's
    classes and the types an entry is used with; otherwise DecodeError."""
    if isinstance(loaded, tuple) and len(loaded) == 3 and loaded[0] == codec.schema():
        _, entries, walks = loaded
        if (
            isinstance(entries, dict)
            and isinstance(walks, dict)
            and all(_is_entry(entry) for entry in entries.values())
            and all(isinstance(walk, Walk) and isinstance(walk.stamps, dict) for walk in walks.values())
        ):
            return entries, walks
    raise codec.DecodeError("not a jobs-lint cache")


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, Entry)
        and type(entry.mtime_ns) is int
        and type(entry.size) is int
        and isinstance(entry.digest, str)
        and isinstance(entry.selection, str)
        and (entry.facts is None or isinstance(entry.facts, ModuleFacts))
        and (entry.diagnostics is None or isinstance(entry.diagnostics, list))
    )
