"""`.gitignore` matching, one compiled pattern set per file, last matching pattern wins."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    base: str  # the directory holding the .gitignore
    # One alternation per file, patterns in reverse order so the first alternative that matches
    # is the last pattern of the file; the group name tells whether it negates.
    pattern: re.Pattern[str] | None

    def match(self, path: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by `!pattern`, None: no pattern matches."""
        if self.pattern is None:
            return None
        relative = os.path.relpath(path, self.base).replace(os.sep, "/")
        if relative.startswith(".."):
            return None
        match = self.pattern.fullmatch(relative + ("/" if is_dir else ""))
        if match is None:
            return None
        return match.lastgroup is not None and match.lastgroup.startswith("i")


def load(directory: str) -> IgnoreFile | None:
    path = os.path.join(directory, ".gitignore")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    parts = []
    for number, raw in enumerate(lines):
        regex = _translate(raw)
        if regex is not None:
            negated, body = regex
            parts.append(f"(?P<{'n' if negated else 'i'}{number}>{body})")
    if not parts:
        return IgnoreFile(directory, None)
    return IgnoreFile(directory, re.compile("|".join(reversed(parts))))


def _translate(raw: str) -> tuple[bool, str] | None:
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
    line = line.lstrip("/")
    body = _glob(line)
    prefix = "" if anchored else "(?:.*/)?"
    # A directory pattern matches the directory (given with a trailing slash) and all inside.
    suffix = "/.*" if directory_only else "(?:/.*)?"
    return negated, prefix + body + suffix


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
