"""`.gitignore` matching, one compiled pattern set per file, last matching pattern wins."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    base: str  # the directory holding the .gitignore
    # Patterns without a slash match a name at any depth; the walk checks every directory on
    # the way down, so they are matched against the entry's name alone (cheap), the others
    # against its path from `base`. Each is one alternation in reverse file order, so the first
    # alternative that matches is the file's last matching pattern; group names carry the line.
    names: re.Pattern[str] | None
    paths: re.Pattern[str] | None

    def match(self, path: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by `!pattern`, None: no pattern matches.

        `path` is absolute; it is inside `base` whenever this file is in its chain of ignores.
        """
        if not path.startswith(self.base):
            return None
        slash = "/" if is_dir else ""
        best: str | None = None
        if self.names is not None:
            found = self.names.fullmatch(path[path.rfind(os.sep) + 1 :] + slash)
            best = found.lastgroup if found else None
        if self.paths is not None:
            relative = path[len(self.base) :].lstrip(os.sep).replace(os.sep, "/")
            found = self.paths.fullmatch(relative + slash)
            if found and (best is None or _line(found.lastgroup) > _line(best)):
                best = found.lastgroup
        return None if best is None else best.startswith("i")


def _line(group: str | None) -> int:
    return int(group[1:]) if group else -1


def load(directory: str) -> IgnoreFile | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    names: list[str] = []
    paths: list[str] = []
    for number, raw in enumerate(lines):
        translated = _translate(raw)
        if translated is not None:
            negated, anchored, body = translated
            (paths if anchored else names).append(f"(?P<{'n' if negated else 'i'}{number}>{body})")
    return IgnoreFile(directory, _alternation(names), _alternation(paths))


def _alternation(parts: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(reversed(parts))) if parts else None


def _translate(raw: str) -> tuple[bool, bool, str] | None:
    """(negated, anchored, regex) for one .gitignore line; None for blanks and comments."""
    line = raw.rstrip()
    if raw.endswith("\\ "):
        line = raw[:-2] + " "
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated or line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    directory_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    body = _glob(line.lstrip("/"))
    if not anchored:
        return negated, False, body + ("/" if directory_only else "/?")
    # Anchored: the path itself, or (for a directory) everything below it.
    return negated, True, body + ("/.*" if directory_only else "(?:/.*)?")


def _glob(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)
