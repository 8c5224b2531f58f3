"""Which files to check: walk the given paths, honouring excludes and `.gitignore`.

Directory symlinks are followed (a project may link its sources in), so a link to a directory
that contains it is reported as a directory loop instead of being walked forever, and a directory
reached through two links is walked once.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jobs_lint import gitignore
from jobs_lint.diagnostics import Diagnostic

DEFAULT_EXCLUDES = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".jobs_lint_cache",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)


@dataclass(slots=True)
class Discovery:
    files: list[str] = field(default_factory=list)  # as displayed: relative to the cwd if inside
    absolute: dict[str, str] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    walked: bool = False  # a directory had to be listed (the remembered walk was stale)
    # Where configuration is, known without another system call per directory: the directories
    # walked from (all below them were listed), and those holding a pyproject.toml or .git
    # -> HAS_PYPROJECT | HAS_GIT.
    tops: list[str] = field(default_factory=list)
    directories: dict[str, int] = field(default_factory=dict)


HAS_PYPROJECT, HAS_GIT = 1, 2


@dataclass(frozen=True, slots=True)
class Filters:
    root: str
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    respect_gitignore: bool = True
    force_exclude: bool = False

    def excluded(self, path: str, name: str | None = None) -> bool:
        names, name_globs, path_globs = _compiled(self.exclude)
        name = name or os.path.basename(path)
        if name in names or (name_globs is not None and name_globs.fullmatch(name)):
            return True
        if path_globs is None:
            return False
        relative = os.path.relpath(path, self.root).replace(os.sep, "/")
        return path_globs.fullmatch(relative) is not None


@lru_cache(maxsize=16)
def _compiled(
    patterns: tuple[str, ...],
) -> tuple[frozenset[str], re.Pattern[str] | None, re.Pattern[str] | None]:
    """Plain names are a set lookup; globs become one regex for names, one for paths.

    A pattern with a `/` matches the path from the project root (and everything below it);
    any other pattern matches a file or directory name anywhere, as in ruff.
    """
    names = frozenset(p for p in patterns if "/" not in p and not any(c in p for c in "*?["))
    name_globs = [fnmatch.translate(p) for p in patterns if "/" not in p and p not in names]
    path_globs = [fnmatch.translate(p.strip("/")) + "|" + re.escape(p.strip("/")) + "/.*" for p in patterns if "/" in p]
    return (
        names,
        re.compile("|".join(f"(?:{g})" for g in name_globs)) if name_globs else None,
        re.compile("|".join(f"(?:{g})" for g in path_globs)) if path_globs else None,
    )


def display_path(path: str) -> str:
    """Paths are shown relative to the working directory when they are inside it."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute == cwd or absolute.startswith(cwd + os.sep):
        return os.path.relpath(absolute, cwd)
    return path


@dataclass(slots=True)
class Walk:
    """What walking one directory found, and the state it depended on: the modification times
    of every directory walked and every .gitignore read. While none changed, a directory's
    listing is the same, so a warm run re-stats directories instead of listing them."""

    stamps: dict[str, int]  # path -> modification time (a dict: it is cached, and dicts load fast)
    found: Discovery
    # Above the walk, only whether a .gitignore or .git is there matters: a directory's time
    # changes with any file made in it (a temporary directory's, all the time).
    present: dict[str, bool] = field(default_factory=dict)

    def still_valid(self) -> bool:
        try:
            if not all(os.stat(path).st_mtime_ns == mtime for path, mtime in self.stamps.items()):
                return False
        except OSError:
            return False
        return all(os.path.lexists(path) == there for path, there in self.present.items())


# The filters of a directory holding a pyproject.toml, None where its parent's filters hold.
NestedFilters = Callable[[str], "Filters | None"]


def discover(
    paths: list[str], filters: Filters, walks: dict[Any, Walk] | None = None, nested: NestedFilters | None = None
) -> Discovery:
    """The files under `paths`. `walks` (kept in the cache between runs) remembers walks.
    With `nested`, below a directory holding a pyproject.toml its own exclude patterns apply
    (relative to it) instead of those above, as in ruff."""
    found = Discovery()
    seen_dirs: set[tuple[int, int]] = set()
    for given in paths:
        path = os.path.normpath(given)
        if os.path.isdir(path):
            if filters.force_exclude and path != "." and filters.excluded(os.path.abspath(path)):
                continue
            key = (os.getcwd(), os.path.abspath(path), filters, nested is not None)
            walk = walks.get(key) if walks is not None else None
            if walk is None or not walk.still_valid():
                walk = Walk({}, Discovery())
                _walk(path, filters, walk, seen_dirs, nested)
                found.walked = True
                if walks is not None:
                    walks[key] = walk
            found.files.extend(walk.found.files)
            found.absolute.update(walk.found.absolute)
            found.problems.extend(walk.found.problems)
            found.directories.update(walk.found.directories)
            found.tops.extend(walk.found.tops)
        elif os.path.isfile(path):
            if filters.force_exclude and (
                filters.excluded(os.path.abspath(path)) or _ignored(path, filters, is_dir=False)
            ):
                continue
            display = display_path(path)
            found.files.append(display)
            found.absolute[display] = os.path.abspath(path)
        else:
            reason = "No such file or directory" if not os.path.lexists(path) else "Not a file or directory"
            found.problems.append(_problem("JL003", path, f"Cannot read {given}: {reason}"))
    found.files = list(dict.fromkeys(found.files))
    return found


def _walk(top: str, filters: Filters, walk: Walk, seen: set[tuple[int, int]], nested: NestedFilters | None) -> None:
    """Depth-first. Paths are built by joining strings, not recomputed, since this runs for
    every file of the tree."""
    found, stamps = walk.found, walk.stamps
    absolute_top = os.path.abspath(top)
    display_top = display_path(top)
    chain = _ancestor_ignores(absolute_top, walk) if filters.respect_gitignore else ()
    try:
        stat = os.stat(top)
    except OSError as error:
        found.problems.append(_problem("JL003", top, f"Cannot read {top}: {error.strerror}"))
        return
    stamps[absolute_top] = stat.st_mtime_ns
    found.tops.append(absolute_top)
    loops: set[tuple[int, int]] = set()
    respect_gitignore = filters.respect_gitignore  # the run's, as is the .gitignore chain above
    stack = [("" if display_top == "." else display_top, absolute_top, chain, (stat.st_dev, stat.st_ino), filters)]
    while stack:
        display, absolute, chain, key, filters = stack.pop()
        if key in seen:
            continue  # reached through another link already
        seen.add(key)
        try:
            with os.scandir(absolute) as scanner:
                # Real directories before links, so a file is reported under its own path.
                entries = sorted(scanner, key=lambda entry: (entry.is_symlink(), entry.name))
        except OSError as error:
            found.problems.append(
                _problem("JL003", display or ".", f"Cannot read directory {display or '.'}: {error.strerror}")
            )
            continue
        names = {entry.name for entry in entries}
        flags = HAS_PYPROJECT * ("pyproject.toml" in names) | HAS_GIT * (".git" in names)
        if flags:
            found.directories[absolute] = flags
        if nested is not None and flags & HAS_PYPROJECT:
            pyproject = f"{absolute}{os.sep}pyproject.toml"
            with contextlib.suppress(OSError):  # unreadable: reported when its files are checked
                stamps[pyproject] = os.stat(pyproject).st_mtime_ns  # its excludes decide this walk
                filters = nested(absolute) or filters
        excluded = filters.excluded
        if respect_gitignore and ".gitignore" in names:
            own = _load_ignore(absolute, stamps)
            if own is not None:
                chain = (*chain, own)
        subdirectories = []
        for entry in entries:
            name = entry.name
            entry_absolute = f"{absolute}{os.sep}{name}"
            entry_display = f"{display}{os.sep}{name}" if display else name
            if excluded(entry_absolute, name):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if chain and _match(chain, entry_absolute, is_dir=True):
                    continue
                try:
                    info = entry.stat()
                except OSError as error:
                    found.problems.append(
                        _problem("JL003", entry_display, f"Cannot read {entry_display}: {error.strerror}")
                    )
                    continue
                if entry.is_symlink() and _links_to_ancestor(absolute, entry_absolute):
                    link = entry.stat(follow_symlinks=False)
                    if (link.st_dev, link.st_ino) not in loops:
                        loops.add((link.st_dev, link.st_ino))
                        target = display_path(os.path.realpath(entry_absolute))
                        found.problems.append(
                            _problem(
                                "JL004",
                                entry_display,
                                f"Directory loop: {entry_display} links back to {target}",
                            )
                        )
                    continue
                subdirectories.append((entry_display, entry_absolute, chain, (info.st_dev, info.st_ino), filters))
                stamps[entry_absolute] = info.st_mtime_ns
            elif name.endswith((".py", ".pyi")):  # stubs too, as ruff and the pre-commit hook do
                if chain and _match(chain, entry_absolute, is_dir=False):
                    continue
                if entry.is_symlink() and not os.path.exists(entry_absolute):
                    found.problems.append(
                        _problem("JL003", entry_display, f"Cannot read {entry_display}: broken symbolic link")
                    )
                    continue
                found.files.append(entry_display)
                found.absolute[entry_display] = entry_absolute
        stack.extend(reversed(subdirectories))


def _links_to_ancestor(directory: str, link: str) -> bool:
    """Whether a directory link points at the directory holding it, or above: a loop whichever
    way the walk reached it."""
    here = os.path.realpath(directory)
    target = os.path.realpath(link)
    return here == target or here.startswith(target.rstrip(os.sep) + os.sep)


def _ignored(path: str, filters: Filters, *, is_dir: bool) -> bool:
    if not filters.respect_gitignore:
        return False
    absolute = os.path.abspath(path)
    chain = _ancestor_ignores(os.path.dirname(absolute))
    own = gitignore.load(os.path.dirname(absolute))
    return _match((*chain, own) if own else chain, absolute, is_dir=is_dir)


def _match(chain: tuple[gitignore.IgnoreFile, ...], path: str, *, is_dir: bool) -> bool:
    # The deepest .gitignore with an opinion decides.
    for ignore in reversed(chain):
        verdict = ignore.match(path, is_dir)
        if verdict is not None:
            return verdict
    return False


def _load_ignore(directory: str, stamps: dict[str, int] | None) -> gitignore.IgnoreFile | None:
    ignore = gitignore.load(directory)
    if ignore is not None and stamps is not None:
        path = os.path.join(directory, ".gitignore")
        stamps[path] = os.stat(path).st_mtime_ns
    return ignore


def _ancestor_ignores(directory: str, walk: Walk | None = None) -> tuple[gitignore.IgnoreFile, ...]:
    """The .gitignore files above `directory`, up to the repository root (where `.git` is: a
    directory, or a file in a worktree or submodule). `walk` records what they depend on."""
    chain: list[gitignore.IgnoreFile] = []
    if _is_repository_root(directory, walk):
        return ()
    current = os.path.dirname(directory)
    while True:
        ignore = _load_ignore(current, walk.stamps if walk is not None else None)
        if ignore is not None:
            chain.append(ignore)
        elif walk is not None:
            walk.present[os.path.join(current, ".gitignore")] = False
        if _is_repository_root(current, walk) or os.path.dirname(current) == current:
            break
        current = os.path.dirname(current)
    return tuple(reversed(chain))


def _is_repository_root(directory: str, walk: Walk | None) -> bool:
    marker = os.path.join(directory, ".git")
    there = os.path.lexists(marker)
    if walk is not None:
        walk.present[marker] = there
    return there


def _problem(code: str, path: str, message: str) -> Diagnostic:
    return Diagnostic(code, message, path, 1, 1, 1, 1)
