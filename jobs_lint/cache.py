"""The result cache: an unchanged tree re-checks without reading a file.

One file per jobs-lint version and rule selection, under `.jobs_lint_cache/` at the project root.
It is data only (`jobs_lint.codec`, never pickle): the cache sits in the tree being linted, and a
repository could commit one. A file that does not load is ignored and replaced.
A file's entry is reused while its size and mtime are unchanged; when they change, its content
digest decides, so touching a file costs a read but not a re-check. Checked results also record
the project index digest they were computed with, since cross-module facts feed every file.

The file is one JSON document with an entry per line, so that a run which changed a few entries
writes the others back as the text they were read from (a pre-commit run re-encoded every
entry: 0.5 s on a 11,000-file tree).
"""

from __future__ import annotations

import json
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
        self.texts: dict[str, str] = {}  # path -> its entry as read, while it is unchanged

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def open(cls, directory: str, key: str) -> Cache:
        path = os.path.join(directory, __version__, f"{key}.json")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            entries, walks = _checked(codec.loads(text))
        except (OSError, UnicodeDecodeError, codec.DecodeError):  # missing, corrupt, or another version's
            return cls(path, {}, {}, dirty=True)
        cache = cls(path, entries, walks)
        cache.texts = _entry_texts(text, entries)
        return cache

    def get(self, path: str, mtime_ns: int, size: int) -> Entry | None:
        entry = self.entries.get(path)
        if entry is not None and entry.mtime_ns == mtime_ns and entry.size == size:
            return entry
        return None

    def put(self, path: str, entry: Entry) -> None:
        self.entries[path] = entry
        self.texts.pop(path, None)
        self.dirty = True

    def forget(self, path: str) -> None:
        self.texts.pop(path, None)
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
            text = _layout(self.entries, self.walks, self.texts)
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


# The layout `save` writes: what `codec.dumps((schema, entries, walks))` would, one entry a line.
_HEAD = '{{"(":[{schema},{{"{{":[\n'
_TAIL = "\n]}},{walks}]}}"


def _layout(entries: dict[str, Entry], walks: dict[Any, Walk] | None, texts: dict[str, str]) -> str:
    lines = ",\n".join(
        f"{codec.dumps(path)},{texts.get(path) or codec.dumps(entry)}" for path, entry in entries.items()
    )
    head = _HEAD.format(schema=codec.dumps(codec.schema()))
    return f"{head}{lines}{_TAIL.format(walks=codec.dumps(walks))}"


def _entry_texts(text: str, entries: dict[str, Entry]) -> dict[str, str]:
    """Each entry's text in a file `save` wrote (already decoded and checked as a whole); none
    for a file of another layout, which is then written anew."""
    head = _HEAD.format(schema=codec.dumps(codec.schema()))
    if not text.startswith(head):
        return {}
    decoder = json.JSONDecoder()
    texts = {}
    for line in text[len(head) :].split("\n")[:-1]:
        try:
            path, end = decoder.raw_decode(line)
        except ValueError:
            return {}
        if not isinstance(path, str) or line[end : end + 1] != ",":
            return {}
        texts[path] = line[end + 1 :].removesuffix(",")
    return texts if texts.keys() == entries.keys() else {}
