"""Dotted module names for files, the way Python would import them."""

from __future__ import annotations

import os


def module_name(path: str) -> str:
    """`src/proj/tasks.py` with `src/proj/__init__.py` present gives `proj.tasks`.

    Walks up while the directory is a package; the first directory without `__init__.py` is the
    import root, as for a project run from its source root.
    """
    directory, filename = os.path.split(os.path.abspath(path))
    stem = filename.removesuffix(".pyi").removesuffix(".py")  # a stub names the module it describes
    parts = [] if stem == "__init__" else [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.append(package)
        if not package:
            break
    return ".".join(reversed(parts)) or stem


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
