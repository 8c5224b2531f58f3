"""The project-wide index: facts every module contributes, merged once per run.

It answers the cross-module questions (is `proj.celery.app` a Celery app? which tasks exist and
with what signature? is a time limit configured anywhere?) for every file's model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from jobs_lint.semantic import constants
from jobs_lint.semantic.celery import factories, names
from jobs_lint.semantic.facts import ModuleFacts, TaskInfo

if TYPE_CHECKING:
    from jobs_lint.semantic.callgraph import CallGraph

T = TypeVar("T")

_MAX_ALIAS_HOPS = 10


class ProjectIndex:
    def __init__(self, facts: Iterable[ModuleFacts] = (), *, complete: bool = True) -> None:
        # An incomplete index (while the facts themselves are being collected) treats every
        # unknown object as possibly Celery's; the complete one decides.
        self.complete = complete
        self.modules = {module.module: module for module in sorted(facts, key=lambda m: _precedence(m.module, m.path))}
        self.aliases: dict[str, str] = {}
        self.apps: set[str] = set()
        self.classes: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {}
        self.config_modules: set[str] = set()
        self.uses_celery = False
        self.config_opaque = False
        for module in self.modules.values():
            self.aliases.update(module.aliases)
            self.classes.update(module.classes)
            self.config_modules.update(module.config_sources)
            self.uses_celery |= module.imports_celery
            self.config_opaque |= module.config_opaque
        self._canonical: dict[str, str] = {}
        self._merged: dict[str, Any] = {}
        self.apps = {self.canonical(app) for module in self.modules.values() for app in module.apps}
        self.apps |= factories.factory_apps(self)
        self.tasks: dict[str, TaskInfo] = {}
        for module in self.modules.values():
            for task in module.tasks:
                made = self._made(task)
                if made is not None and self._is_real_task(made):
                    self.tasks[task.qualname] = made
        self.task_names = {task.name for task in self.tasks.values()}
        self.config: dict[str, list[Any]] = {}
        for module in self.modules.values():
            entries = module.config
            if module.module in self.config_modules or module.module.endswith("celeryconfig"):
                entries = entries + module.maybe_config
            for key, value in entries:
                self.config.setdefault(key, []).append(self.resolve(value))

    @classmethod
    def collecting(cls) -> ProjectIndex:
        """The empty index a module's own facts are collected with."""
        return cls(complete=False)

    def digest(self) -> str:
        """Changes whenever a fact any module could depend on changes."""
        return self.digest_of((module.module, module.path, facts_digest(module)) for module in self.modules.values())

    @staticmethod
    def digest_of(modules: Iterable[tuple[str, str, str]]) -> str:
        """The digest of the index made of modules given as (name, path, `facts_digest`), as
        `digest` gives it: a run whose files are unchanged knows it without decoding any facts."""
        chosen = {name: known for name, _, known in sorted(modules, key=lambda m: _precedence(m[0], m[1]))}
        text = repr(sorted(chosen.items()))
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    # Names -----------------------------------------------------------------------------------

    def canonical(self, path: str) -> str:
        """Follow re-exports and aliases (`proj.celery_app` -> `proj.celery.app`)."""
        cached = self._canonical.get(path)
        if cached is not None:
            return cached
        result = path
        for _ in range(_MAX_ALIAS_HOPS):
            parts = result.split(".")
            for cut in range(len(parts), 0, -1):
                target = self.aliases.get(".".join(parts[:cut]))
                if target is not None:
                    result = ".".join([target, *parts[cut:]])
                    break
            else:
                break
        result = names.CANONICAL.get(result, result)
        self._canonical[path] = result
        return result

    def defines_module_of(self, path: str) -> bool:
        """Whether the module `path` belongs to is in the index, so its absence means something."""
        module, _, _ = path.rpartition(".")
        return module in self.modules

    # Celery ----------------------------------------------------------------------------------

    def is_app(self, path: str) -> bool:
        return path in self.apps

    def could_be_app(self, path: str) -> bool:
        """An object the index cannot see could be an app, if the project uses Celery at all."""
        if path in self.apps:
            return True
        if not self.complete:
            return True
        return self.uses_celery and not self.defines_module_of(path)

    def is_task_class(self, path: str, depth: int = 0) -> bool:
        if path == names.TASK_CLASS:
            return True
        owner, _, attr = path.rpartition(".")
        if attr == "Task" and self.is_app(owner):
            return True
        entry = self.classes.get(path)
        if entry is None:
            return not self.complete and not path.startswith("builtins")
        return depth < 8 and any(self.is_task_class(base, depth + 1) for base in entry[0] if base)

    def task_options(self, task: TaskInfo) -> dict[str, Any]:
        """A task's options with those inherited from its base classes (nearest wins), or from
        the task class its app gives every task."""
        merged: dict[str, Any] = {}
        given = factories.app_task_class(self, task.via)  # the app's, unless its own bases say
        for base in reversed(task.bases or ((given,) if given else ())):
            merged.update(self._class_options(base, 0))
        merged.update(task.options)
        return merged

    def _class_options(self, path: str, depth: int) -> dict[str, Any]:
        entry = self.classes.get(path)
        if entry is None or depth > 8:
            return {}
        bases, options = entry
        merged: dict[str, Any] = {}
        for base in reversed(bases):
            merged.update(self._class_options(base, depth + 1))
        merged.update(options)
        return merged

    def setting(self, key: str) -> list[Any]:
        """Every value the project gives a setting (empty: never set where we can see)."""
        return self.config.get(key, [])

    def resolve(self, value: Any) -> Any:
        """A value read from a module, with what it names in other modules resolved
        (`shared_config.task_acks_late`): literal, or UNKNOWN."""
        return constants.resolve(self, value)

    def merged(self, key: str, merge: Callable[[ProjectIndex], T]) -> T:
        """A tool's project-wide merge of its modules' facts (`arq.project(index)`, ...), made
        once per index."""
        if key not in self._merged:
            self._merged[key] = merge(self)
        found: T = self._merged[key]
        return found

    @cached_property
    def calls(self) -> CallGraph:
        """The project's call graph: what a call reaches through other functions."""
        from jobs_lint.semantic.callgraph import CallGraph

        return CallGraph(self)

    def _made(self, task: TaskInfo) -> TaskInfo | None:
        """A task whose decorator is another module's, made by it if it is a task decorator."""
        if task.decorator is None:
            return task
        factory = factories.index_factory(self, task.decorator)
        return factory.applied(task) if factory is not None else None

    def _is_real_task(self, task: TaskInfo) -> bool:
        if task.is_class:
            return any(self.is_task_class(base) for base in task.bases if base)
        return task.via is None or self.could_be_app(task.via)


def _precedence(module: str, path: str) -> tuple[str, bool, str]:
    """Sorted by path too: where two files claim one module name (two projects checked at once),
    the same one wins whatever order the facts arrive in. A module's code wins over its stub
    (`.pyi`), which comes first and is replaced."""
    return module, path.endswith(".py"), path


def facts_digest(module: ModuleFacts) -> str:
    """A module's share of the index digest: its facts but not its path."""
    # Facts are dataclasses, tuples, lists, dicts and literals, whose repr depends on their
    # values only (facts hold no sets, whose order would change from one process to the next).
    return hashlib.blake2b(repr(_without_path(module)).encode(), digest_size=16).hexdigest()


def _without_path(module: ModuleFacts) -> tuple[Any, ...]:
    return (
        module.imports_celery,
        module.apps,
        module.tasks,
        module.classes,
        module.aliases,
        module.config,
        module.maybe_config,
        module.config_sources,
        module.config_opaque,
        module.defined_names,
        module.constants,
        module.extra,
        module.summary,
    )
