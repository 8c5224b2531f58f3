"""Facts about a module that other modules need: what the project-wide index is made of.

They hold no AST nodes, so they are small and cache well (`jobs_lint.codec`). Only function
summaries hold positions (the lines of the calls on a chain a finding names), so an edit that moves
code without changing what it defines leaves the rest (and the index digest, for modules without
functions) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs_lint.semantic.summaries import ModuleSummary


@dataclass(frozen=True, slots=True)
class Signature:
    """The parameters a caller fills when a task runs (a bound task's `self` left out)."""

    params: tuple[str, ...] = ()
    required: int = 0
    varargs: bool = False
    varkw: bool = False

    def accepts(self, count: int) -> bool:
        """Whether `count` positional arguments fit."""
        return self.varargs or count <= len(self.params)

    def satisfied_by(self, count: int) -> bool:
        """Whether `count` positional arguments fill every required parameter."""
        return count >= self.required


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A Celery task: a decorated function, or a `Task` subclass."""

    qualname: str  # where it is defined: module.function or module.Class
    name: str  # the name it is registered under (explicit `name=` or the qualname)
    signature: Signature
    options: dict[str, Any] = field(default_factory=dict)  # decorator or class attributes
    bases: tuple[str, ...] = ()  # `base=` of a decorator, or the class's bases
    is_class: bool = False
    is_async: bool = False
    # The object the decorator hangs on (`proj.celery.app` in `@app.task`); None when the
    # decorator itself says it is Celery's (`@shared_task`).
    via: str | None = None
    # A decorator of another project module that may make tasks (`@job`, `job = shared_task`
    # there): the index keeps the task only if it does (`celery/factories.py`).
    decorator: str | None = None


@dataclass(slots=True)
class ModuleFacts:
    module: str
    path: str
    imports_celery: bool = False
    apps: list[str] = field(default_factory=list)
    tasks: list[TaskInfo] = field(default_factory=list)
    # Classes that may be task base classes: qualname -> (bases, class-level options).
    classes: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # module-level re-exports and aliases
    config: list[tuple[str, Any]] = field(default_factory=list)  # always Celery configuration
    # Lowercase module globals named like settings: configuration only if some app loads this
    # module with `config_from_object`.
    maybe_config: list[tuple[str, Any]] = field(default_factory=list)
    config_sources: list[str] = field(default_factory=list)  # modules given to config_from_object
    config_opaque: bool = False  # configuration from something the linter cannot read
    defined_names: list[str] = field(default_factory=list)  # module-level functions and classes
    # Scalar globals and class attributes other modules' values may name (`constants.py`).
    constants: dict[str, Any] = field(default_factory=dict)
    # What each function does and calls, for the call graph (`summaries.py`).
    summary: ModuleSummary | None = None
    # Other tools' facts are added here by their semantic modules (ARQ, Temporal).
    extra: dict[str, Any] = field(default_factory=dict)
