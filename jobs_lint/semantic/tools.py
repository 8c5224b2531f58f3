"""The job tools the semantic layer knows, each registered by its own package.

A tool's package (`semantic/celery/`, `semantic/arq/`, ...) says in its `__init__.py`, in one
`register(Tool(...))`, which words make a file worth reading for its facts, how to read a module's
facts, and whether those facts mean the module defines jobs. The core asks `tools()` and never
names a tool; a tool's project-wide merge of its facts is `ProjectIndex.merged`, called from the
same package. Celery's facts are the fields of `ModuleFacts` itself (tasks, apps, configuration),
the others' go under `ModuleFacts.extra[name]`.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobs_lint.semantic.facts import ModuleFacts
    from jobs_lint.semantic.model import ModuleModel


@dataclass(frozen=True, slots=True)
class Tool:
    name: str  # the key of its facts in `ModuleFacts.extra`
    # A file containing none of `needles`, and no word of `patterns` where its pattern matches,
    # holds no facts of this tool and is not parsed for them (`passes.needs_facts`).
    needles: tuple[bytes, ...] = ()
    patterns: tuple[tuple[bytes, re.Pattern[bytes]], ...] = ()
    # The module's facts, for `ModuleFacts.extra` (falsy: none), read only when its text holds
    # one of `words`.
    facts: Callable[[ModuleModel], Any] | None = None
    words: tuple[bytes, ...] = ()
    defines_jobs: bool = False  # facts of this tool mean jobs whose calls are worth following
    # The functions its facts register by name, wherever they are defined (ARQ's `functions`):
    # their calls are followed too.
    named_jobs: Callable[[Any], Iterable[str]] | None = None


_registered: list[Tool] = []


def register(tool: Tool) -> None:
    _registered.append(tool)


@cache
def tools() -> tuple[Tool, ...]:
    """Every tool, once each subpackage of `jobs_lint.semantic` has registered its own."""
    package = importlib.import_module(__name__.rpartition(".")[0])
    for info in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
        if info.ispkg:
            importlib.import_module(info.name)
    return tuple(_registered)


def registered_jobs(facts: ModuleFacts) -> set[str]:
    """The functions a module's facts register as jobs by name, wherever they are defined."""
    found: set[str] = set()
    for tool in tools():
        extra = facts.extra.get(tool.name)
        if tool.named_jobs is not None and extra:
            found.update(tool.named_jobs(extra))
    return found


def defines_jobs(facts: ModuleFacts) -> bool:
    """Tasks, activities, workflows or an ARQ worker: where the calls worth following start."""
    return bool(facts.tasks) or any(tool.defines_jobs and tool.name in facts.extra for tool in tools())
