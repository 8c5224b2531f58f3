"""Which files to check: walk the given paths, honouring excludes and `.gitignore`.

Directory symlinks are followed (a project may link its sources in), so a link back to one of
its own ancestors is reported as a directory loop instead of being walked forever.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from jobs_lint import gitignore
from jobs_lint.diagnostics import Diagnostic

DEFAULT_EXCLUDES = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".jobs_lint_cache", ".mypy_cache",
    ".nox", ".pants.d", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", "__pycache__",
    "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
)


@dataclass(slots=True)
class Discovery:
    files: list[str] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Filters:
    root: str
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    respect_gitignore: bool = True
    force_exclude: bool = False

    def excluded(self, path: str) -> bool:
        name = os.path.basename(path)
        relative = os.path.relpath(path, self.root).replace(os.sep, "/")
        for pattern in self.exclude:
            if "/" in pattern:
                if fnmatch.fnmatch(relative, pattern.strip("/")) or relative.startswith(pattern.rstrip("/") + "/"):
                    return True
            elif fnmatch.fnmatch(name, pattern):
                return True
        return False


def display_path(path: str) -> str:
    """Paths are shown relative to the working directory when they are inside it."""
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    if absolute == cwd or absolute.startswith(cwd + os.sep):
        return os.path.relpath(absolute, cwd)
    return path


def discover(paths: list[str], filters: Filters) -> Discovery:
    found = Discovery()
    seen_dirs: set[tuple[int, int]] = set()
    for given in paths:
        path = os.path.normpath(given)
        if os.path.isdir(path):
            if filters.excluded(os.path.abspath(path)) and path not in (".", "") and filters.force_exclude:
                continue
            _walk(path, filters, found, seen_dirs)
        elif os.path.isfile(path):
            if filters.force_exclude and (
                filters.excluded(os.path.abspath(path)) or _ignored(path, filters, is_dir=False)
            ):
                continue
            found.files.append(display_path(path))
        else:
            reason = "No such file or directory" if not os.path.lexists(path) else "Not a file or directory"
            found.problems.append(_problem("JL003", path, f"Cannot read {given}: {reason}"))
    found.files = list(dict.fromkeys(found.files))
    return found


def _walk(top: str, filters: Filters, found: Discovery, seen: set[tuple[int, int]]) -> None:
    absolute_top = os.path.abspath(top)
    chain = _ancestor_ignores(absolute_top) if filters.respect_gitignore else ()
    try:
        stat = os.stat(top)
    except OSError as error:
        found.problems.append(_problem("JL003", top, f"Cannot read {top}: {error.strerror}"))
        return
    stack = [(top, absolute_top, chain, ((stat.st_dev, stat.st_ino),))]
    seen.add((stat.st_dev, stat.st_ino))
    while stack:
        directory, absolute, chain, ancestors = stack.pop()
        if filters.respect_gitignore:
            own = gitignore.load(absolute)
            if own is not None:
                chain = (*chain, own)
        try:
            with os.scandir(directory) as entries:
                listing = sorted(entries, key=lambda entry: entry.name)
        except OSError as error:
            found.problems.append(_problem("JL003", directory, f"Cannot read directory {display_path(directory)}: {error.strerror}"))
            continue
        subdirectories = []
        for entry in listing:
            entry_absolute = os.path.join(absolute, entry.name)
            if filters.excluded(entry_absolute):
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
                    found.problems.append(_problem("JL003", entry.path, f"Cannot read {display_path(entry.path)}: {error.strerror}"))
                    continue
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    target = os.path.realpath(entry.path)
                    found.problems.append(
                        _problem("JL004", entry.path, f"Directory loop: {display_path(entry.path)} links back to {display_path(target)}")
                    )
                    continue
                if key in seen:
                    continue  # reached through another link already
                seen.add(key)
                subdirectories.append((entry.path, entry_absolute, chain, (*ancestors, key)))
            elif entry.name.endswith(".py") and (entry.is_file() or entry.is_symlink()):
                if chain and _match(chain, entry_absolute, is_dir=False):
                    continue
                if entry.is_symlink() and not os.path.exists(entry.path):
                    found.problems.append(_problem("JL003", entry.path, f"Cannot read {display_path(entry.path)}: broken symbolic link"))
                    continue
                found.files.append(display_path(entry.path))
        stack.extend(reversed(subdirectories))


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


def _ancestor_ignores(directory: str) -> tuple[gitignore.IgnoreFile, ...]:
    """The .gitignore files above `directory`, up to the repository root."""
    chain: list[gitignore.IgnoreFile] = []
    if os.path.isdir(os.path.join(directory, ".git")):
        return ()
    current = os.path.dirname(directory)
    while True:
        ignore = gitignore.load(current)
        if ignore is not None:
            chain.append(ignore)
        if os.path.isdir(os.path.join(current, ".git")) or os.path.dirname(current) == current:
            break
        current = os.path.dirname(current)
    return tuple(reversed(chain))


def _problem(code: str, path: str, message: str) -> Diagnostic:
    return Diagnostic(code, message, display_path(path), 1, 1, 1, 1)
