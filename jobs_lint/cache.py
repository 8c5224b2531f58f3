"""The result cache: an unchanged tree re-checks without reading a file.

One file per jobs-lint version and source (`fingerprint.py`) and rule selection, under
`.jobs_lint_cache/` at the project root.
It is data only (`jobs_lint.codec`, never pickle): the cache sits in the tree being linted, and a
repository could commit one. A file that does not load is ignored and replaced.
A file's entry is reused while its size and mtime are unchanged; when they change, its content
digest decides, so touching a file costs a read but not a re-check. Checked results also record
the project index digest they were computed with, since cross-module facts feed every file.

The file is one JSON document with an entry per line, so that a run which changed a few entries
writes the others back as the text they were read from (a pre-commit run re-encoded every
entry: 0.5 s on a 11,000-file tree). Opening it reads each line's stamps and digests, which
come first; diagnostics and facts are decoded when used (decoding every file's facts took a
warm run 0.4 s on that tree, and a warm run whose index digest is unchanged needs none).
"""

from __future__ import annotations

import gc
import json
import os
import re
import tempfile
from dataclasses import dataclass, fields
from typing import Any

from jobs_lint import __version__, codec
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import Walk
from jobs_lint.semantic import index
from jobs_lint.semantic.facts import ModuleFacts


@dataclass(slots=True, eq=False)
class Entry:
    mtime_ns: int
    size: int
    digest: str
    candidate: bool  # contains a needle of a selected rule or of the index
    selection: str = ""  # the settings `candidate` was decided with (`Settings.cache_key`)
    index_digest: str | None = None  # what `diagnostics` were computed against
    # Without facts, both empty: the index digest is made of these, without decoding any facts.
    module: str = ""  # `facts.module`
    facts_digest: str = ""  # `index.facts_digest(facts)`
    # Last, and in this order: a file's line is read up to here at once, the rest when used.
    diagnostics: list[Diagnostic] | None = None
    facts: ModuleFacts | None = None

    def __eq__(self, other: object) -> bool:
        """Equal values, whether read from the file or made in this run."""
        if not isinstance(other, Entry):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _FIELDS)

    def set_facts(self, facts: ModuleFacts | None) -> None:
        self.facts = facts
        self.module = facts.module if facts is not None else ""
        self.facts_digest = index.facts_digest(facts) if facts is not None else ""

    def plain(self) -> Entry:
        """This entry as a plain `Entry` (the class the codec writes and workers are sent)."""
        return self


class _Stored(Entry):
    """An entry as read from the cache file, its diagnostics and facts decoded from their text
    when first used: a warm run uses the diagnostics of the files it reports on and, while the
    index digest is unchanged, no facts at all (decoding every file's was most of its time)."""

    __slots__ = ("_diagnostics_text", "_facts_text")

    def __init__(self, header: tuple[int, int, str, bool, str, str | None, str, str], rest: str) -> None:
        self._diagnostics_text: str | None = None
        self._facts_text: str | None = None
        super().__init__(*header)
        self._diagnostics_text = rest  # "DIAGNOSTICS,FACTS]}"

    def _split(self) -> str | None:
        """Decode the diagnostics; the facts' text stays for later."""
        text, self._diagnostics_text = self._diagnostics_text, None
        if text is not None:
            try:
                diagnostics, end = codec.loads_first(text)
                if not isinstance(diagnostics, list | None) or text[end] != ",":
                    raise codec.DecodeError("not an entry")
            except (codec.DecodeError, IndexError):
                self._damaged()
                return None
            _DIAGNOSTICS.__set__(self, diagnostics)
            self._facts_text = text[end + 1 : -2]
        return self._facts_text

    def _damaged(self) -> None:
        """A line that does not decode: the entry is written anew when the cache is (without
        stamps), and the file read and checked again by the next run, if not by this one."""
        self.mtime_ns = -1
        self._facts_text = None

    @property
    def diagnostics(self) -> list[Diagnostic] | None:
        self._split()
        found: list[Diagnostic] | None = _DIAGNOSTICS.__get__(self)
        return found

    @diagnostics.setter
    def diagnostics(self, value: list[Diagnostic] | None) -> None:
        self._split()
        _DIAGNOSTICS.__set__(self, value)

    @property
    def facts(self) -> ModuleFacts | None:
        text = self._split()
        if text is not None:
            self._facts_text = None
            try:
                facts = codec.loads(text)
            except codec.DecodeError:
                self._damaged()
                facts = None
            _FACTS.__set__(self, facts if isinstance(facts, ModuleFacts) else None)
        found: ModuleFacts | None = _FACTS.__get__(self)
        return found

    @facts.setter
    def facts(self, value: ModuleFacts | None) -> None:
        self._split()
        self._facts_text = None
        _FACTS.__set__(self, value)

    def plain(self) -> Entry:
        return Entry(*(getattr(self, name) for name in _FIELDS))


_FIELDS = tuple(f.name for f in fields(Entry))
_DIAGNOSTICS: Any = Entry.__dict__["diagnostics"]  # the slots themselves, under the properties
_FACTS: Any = Entry.__dict__["facts"]


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
        self.texts: dict[str, str] = {}  # path -> its line as read, while its entry is unchanged
        # path -> facts and their text, written for the entry while it holds those very facts.
        self.facts_texts: dict[str, tuple[ModuleFacts | None, str]] = {}
        # The walks as read and their text: a run that made no new walk writes that text back.
        self.walks_read: tuple[dict[Any, Walk], str] | None = None

    @classmethod
    def disabled(cls) -> Cache:
        return cls(None)

    @classmethod
    def open(cls, directory: str, key: str) -> Cache:
        path = os.path.join(directory, __version__, f"{key}.json")
        # Tens of thousands of small objects that live as long as the run: the cyclic collector
        # would walk them again and again while they are made (a quarter of the time to open).
        collecting = gc.isenabled()
        gc.disable()
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            read = _read_lines(text)
            if read is not None:
                entries, walks, texts, walks_text = read
            else:  # not a file `save` wrote line by line: decoded and checked as a whole
                (entries, walks), texts, walks_text = _checked(codec.loads(text)), {}, None
        except (OSError, UnicodeDecodeError, codec.DecodeError):  # missing, corrupt, or another version's
            return cls(path, {}, {}, dirty=True)
        finally:
            if collecting:
                gc.enable()
        cache = cls(path, entries, walks)
        cache.texts = texts
        if walks_text is not None:
            cache.walks_read = (dict(walks), walks_text)
        return cache

    def get(self, path: str, mtime_ns: int, size: int) -> Entry | None:
        entry = self.entries.get(path)
        if entry is not None and entry.mtime_ns == mtime_ns and entry.size == size:
            return entry
        return None

    def stored(self, path: str) -> Entry | None:
        """The entry of `path`, whatever its stamps, as a plain entry to send to a worker."""
        entry = self.entries.get(path)
        return entry.plain() if entry is not None else None

    def put(self, path: str, entry: Entry, facts_text: str | None = None) -> None:
        """`facts_text`: `codec.dumps(entry.facts)`, when the caller has it."""
        self.entries[path] = entry.plain()
        self.texts.pop(path, None)
        if facts_text is not None:
            self.facts_texts[path] = (entry.facts, facts_text)
        self.dirty = True

    def forget(self, path: str) -> None:
        self.texts.pop(path, None)
        self.facts_texts.pop(path, None)
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
            read = self.walks_read
            if read is not None and self.walks is not None and _same(self.walks, read[0]):
                walks = read[1]
            else:
                walks = codec.dumps(self.walks)
            text = _layout(self.entries, walks, self.texts, self.facts_texts)
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


def _same(walks: dict[Any, Walk], read: dict[Any, Walk]) -> bool:
    """Whether `walks` are those read: a walk once made is never changed, only replaced."""
    return len(walks) == len(read) and all(read.get(key) is walk for key, walk in walks.items())


def _layout(
    entries: dict[str, Entry], walks: str, texts: dict[str, str], facts_texts: dict[str, tuple[ModuleFacts | None, str]]
) -> str:
    lines = ",\n".join(
        (texts.get(path) if entry.mtime_ns >= 0 else None) or _line(path, entry, facts_texts.get(path))
        for path, entry in entries.items()
    )
    head = _HEAD.format(schema=codec.dumps(codec.schema()))
    return f"{head}{lines}{_TAIL.format(walks=walks)}"


def _line(path: str, entry: Entry, facts: tuple[ModuleFacts | None, str] | None) -> str:
    """What `codec.dumps` gives for the path and the entry, with the facts' text given when it is
    the text of the entry's facts (facts last: see `Entry`)."""
    if facts is None or facts[0] is not entry.facts:
        return f"{codec.dumps(path)},{codec.dumps(entry)}"
    head = codec.dumps([getattr(entry, name) for name in _FIELDS[:-1]])
    return f'{codec.dumps(path)},{{"c":"Entry","v":{head[:-1]},{facts[1]}]}}'


# What a line holds up to its diagnostics, which need no decoding into classes.
_LINE = re.compile(
    r'("[^"\\]*(?:\\.[^"\\]*)*"),\{"c":"Entry","v":\[(-?\d+),(-?\d+),"([^"\\]*)",(true|false),"([^"\\]*)",'
    r'(?:null|"([^"\\]*)"),"([^"\\]*)","([^"\\]*)",'
)


def _read_lines(text: str) -> tuple[dict[str, Entry], dict[Any, Walk], dict[str, str], str] | None:
    """Entries, walks, each entry's line and the walks' text, from a file `save` wrote with
    today's schema: each entry's stamps are read now, its diagnostics and facts when used. None
    for another layout."""
    head = _HEAD.format(schema=codec.dumps(codec.schema()))
    if not text.startswith(head):
        return None
    body, _, last = text[len(head) :].rpartition("\n")
    if not last.startswith("]},") or not last.endswith("]}"):
        return None
    walks = codec.loads(last[3:-2])
    if not isinstance(walks, dict) or not all(
        isinstance(walk, Walk) and isinstance(walk.stamps, dict) for walk in walks.values()
    ):
        return None
    entries: dict[str, Entry] = {}
    texts = {}
    for line in body.split("\n") if body else ():
        line = line.removesuffix(",")
        match = _LINE.match(line)
        if match is None or not line.endswith("]}"):
            return None
        quoted = match[1]
        path = json.loads(quoted) if "\\" in quoted else quoted[1:-1]
        header = (int(match[2]), int(match[3]), match[4], match[5] == "true", match[6], match[7], match[8], match[9])
        entries[path] = _Stored(header, line[match.end() :])
        texts[path] = line
    return entries, walks, texts, last[3:-2]
