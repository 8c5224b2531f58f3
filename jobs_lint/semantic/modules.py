"""Dotted module names for files, the way Python would import them, and which of them are tests."""

from __future__ import annotations

import os
import re
from functools import lru_cache

# A word that says "test" in a module, directory or function name: `test_x`, `x_test`, `tests`,
# `conftest`, `testing`, `pytest_plugin`, `unittest_helpers`.
_TEST_WORD = re.compile(r"(^|[^a-z])(tests?|testing|conftest|pytest|unittest)([^a-z]|$)", re.IGNORECASE)
_TEST_DIRECTORIES = frozenset({"tests", "test", "testing"})


def module_name(path: str, roots: dict[str, str] | None = None) -> str:
    """`src/proj/tasks.py` with `src/proj/__init__.py` present gives `proj.tasks`.

    The import root is the directory above the topmost package (a directory with `__init__.py`)
    among the file's ancestors, as for a project run from its source root. Directories without
    `__init__.py` between packages are namespace packages (PEP 420: `onyx/__init__.py` and
    `onyx/background/celery/apps/light.py` give `onyx.background.celery.apps.light`), looked for
    a few levels above the last package, and never above a project's root (`pyproject.toml`).
    `roots` remembers each directory's import root, for callers that name many modules at once.
    """
    directory, filename = os.path.split(os.path.abspath(path))
    stem = filename.removesuffix(".pyi").removesuffix(".py")  # a stub names the module it describes
    parts = [] if stem == "__init__" else [stem]
    root = roots.get(directory) if roots is not None else None
    if root is None:
        root = _import_root(directory)
        if roots is not None:
            roots[directory] = root
    if root != directory:
        parts.extend(reversed(os.path.relpath(directory, root).split(os.sep)))
    return ".".join(reversed(parts)) or stem


# How many directories without `__init__.py` may lie between a module and a package above it.
_NAMESPACE_LEVELS = 4
_PROJECT_ROOT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", ".git", "manage.py")
# Those that make a package's own directory a project root: `setup.py` may be a module of it.
_ROOT_BESIDE_PACKAGE = ("pyproject.toml", ".git", "manage.py")


def _import_root(directory: str) -> str:
    root = directory
    current, gap = directory, 0
    while True:
        if os.path.isfile(os.path.join(current, "__init__.py")):
            # A project's root is its import root even with an `__init__.py` (a Django project
            # with `manage.py` beside it), unless a project lies above it (`lemur/manage.py` is a
            # module of `lemur`); a directory named `proj@v2` is no package.
            if not os.path.basename(current).isidentifier() or _own_root(current):
                return current
            gap = 0
            root = os.path.dirname(current)
        else:
            gap += 1
            if gap > _NAMESPACE_LEVELS or _is_project_root(current):
                # `keep/api/__init__.py` under a project whose `pyproject.toml` packages `keep`:
                # `keep` is a namespace package, and the project's root the import root.
                if gap == 2 and _declares_package(current, os.path.basename(root)):
                    return current
                # No package at all below a project's root (`backend/app/arq/tasks.py` beside
                # `backend/pyproject.toml`, imported as `app.arq.tasks`): namespace packages
                # from the root, as when the project runs from it.
                if root == directory and current != directory and gap <= _NAMESPACE_LEVELS:
                    return current
                return root
        parent = os.path.dirname(current)
        if parent == current:
            return root
        current = parent


def _own_root(package: str) -> bool:
    parent = os.path.dirname(package)
    return (
        _is_project_root(package, _ROOT_BESIDE_PACKAGE)
        and not _is_project_root(parent)
        and not os.path.isfile(os.path.join(parent, "__init__.py"))
    )


def _is_project_root(directory: str, files: tuple[str, ...] = _PROJECT_ROOT_FILES) -> bool:
    return any(os.path.exists(os.path.join(directory, f)) for f in files)


@lru_cache(maxsize=256)
def _declares_package(project: str, name: str) -> bool:
    """Whether a project's `pyproject.toml` packages a directory by its name (Poetry's
    `packages = [{include = "keep"}]`, setuptools' `packages = ["keep"]`)."""
    try:
        with open(os.path.join(project, "pyproject.toml"), encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return False
    quoted = rf"[\"']{re.escape(name)}[\"']"
    return re.search(rf"include\s*=\s*{quoted}|packages\s*=\s*\[[^\]]*{quoted}", text) is not None


def resolve_relative(current_module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module of `from {'.' * level}{target} import ...` written in `current_module`."""
    parts = current_module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    if target:
        parts.append(target)
    return ".".join(part for part in parts if part)


def is_test_name(name: str) -> bool:
    """A module, directory or function named for tests."""
    return _TEST_WORD.search(name) is not None


def is_test_module(module: str, path: str | None = None) -> bool:
    """Test code: a module named for tests or inside a test package, or, given its path as the
    run shows it, a file named for tests or in a `tests` directory (`tests/settings.py` outside
    any package). Directories count by their exact name only (`tests`, `test`, `testing`): a
    checkout under `/tmp/pytest-0/test_x0/` is not test code."""
    if is_test_name(module):
        return True
    if path is None:
        return False
    *directories, name = path.replace("\\", "/").split("/")
    return is_test_name(name) or any(directory in _TEST_DIRECTORIES for directory in directories)
