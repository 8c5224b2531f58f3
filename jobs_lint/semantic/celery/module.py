"""Celery facts of one module: its apps, its tasks and the configuration it writes."""

from __future__ import annotations

import ast
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.celery import names
from jobs_lint.semantic.celery.config import ConfigEntry, ConfigReader
from jobs_lint.semantic.celery.factories import (
    APP_CALLS,
    APP_FACTORIES,
    APP_TASK_CLASSES,
    FACTORIES,
    TaskFactory,
    index_factory,
    module_factories,
    project_app_factories,
)
from jobs_lint.semantic.celery.tasks import (
    COUNTDOWN,
    RENAMES_TASKS,
    decorator_base,
    longest_countdown,
    options_of,
    renames_tasks,
)
from jobs_lint.semantic.constants import module_constants
from jobs_lint.semantic.facts import ModuleFacts, Signature, TaskInfo
from jobs_lint.semantic.scope import Scope
from jobs_lint.semantic.syntax import keyword_node
from jobs_lint.semantic.values import literal, string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

# Task options read from decorators and class bodies.
TASK_OPTIONS = frozenset(
    {
        "acks_late",
        "acks_on_failure_or_timeout",
        "autoretry_for",
        "base",
        "bind",
        "default_retry_delay",
        "dont_autoretry_for",
        "expires",
        "ignore_result",
        "max_retries",
        "name",
        "priority",
        "queue",
        "rate_limit",
        "reject_on_worker_lost",
        "retry_backoff",
        "retry_backoff_max",
        "retry_jitter",
        "retry_kwargs",
        "serializer",
        "soft_time_limit",
        "throws",
        "time_limit",
        "track_started",
        "typing",
    }
)


class CeleryModule:
    """Computed lazily, fact by fact, so that resolving one fact may consult another."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model
        self._reading_factories = False

    @cached_property
    def imports_celery(self) -> bool:
        return self.model.imports("celery")

    @cached_property
    def apps(self) -> frozenset[str]:
        """Module-level names bound to a Celery application."""
        model = self.model
        found = set()
        for name, bindings in model.module_scope.bindings.items():
            if all(self._makes_app(binding) for binding in bindings):
                found.add(f"{model.module}.{name}")
        return frozenset(found)

    def _makes_app(self, binding: object, scope: Scope | None = None, depth: int = 0) -> bool:
        model = self.model
        if isinstance(binding, ast.Call):
            path = model.qualname(binding.func, scope)
            if path == names.APP_CLASS or path in model.local_app_classes:
                return True
            factory = self._local_function(path) if depth < 2 else None
            if factory is not None:
                return self._returns_app(factory, depth + 1)
            return path is not None and model.index.complete and path in project_app_factories(model.index)
        if isinstance(binding, ast.Name) and scope is not None:
            found = model.lookup(binding.id, scope)
            return found is not None and all(self._makes_app(b, found[1], depth) for b in found[0])
        if isinstance(binding, (ast.Name, ast.Attribute)):
            return model.qualname(binding, scope) == names.CURRENT_APP
        return False

    @cached_property
    def app_factories(self) -> list[str]:
        """Module-level functions of this module that return a new app (`make_celery(flask_app)`)."""
        model = self.model
        if not (self.imports_celery or model.local_app_classes):
            return []  # an app is made of `Celery`, which such a module cannot name
        return sorted(
            f"{model.module}.{node.name}"
            for node, scope in model.scopes.defs
            if isinstance(node, ast.FunctionDef) and scope.node is None and self._returns_app(node, 1)
        )

    @cached_property
    def app_calls(self) -> dict[str, str]:
        """Module-level names bound to what a function of another project module returns
        (`celery = make_celery(app)`): apps if the index finds that function is an app factory."""
        model = self.model
        top = model.module.split(".")[0]
        found = {}
        for name, bindings in model.module_scope.bindings.items():
            call = bindings[0]
            if len(bindings) != 1 or not isinstance(call, ast.Call) or f"{model.module}.{name}" in self.apps:
                continue
            path = model.qualname(call.func)
            if path is not None and path.split(".")[0] == top and not path.startswith(f"{model.module}."):
                found[f"{model.module}.{name}"] = path
        return found

    @cached_property
    def app_task_classes(self) -> dict[str, str]:
        """The task class each app of this module gives every task it makes: `Celery(...,
        task_cls=Base)` (a class, or "module:Class") or `app.Task = Base`."""
        model = self.model
        found: dict[str, str] = {}
        for name, bindings in model.module_scope.bindings.items():
            path = f"{model.module}.{name}"
            if path in self.apps and len(bindings) == 1 and isinstance(bindings[0], ast.Call):
                node = keyword_node(bindings[0], "task_cls")
                text = string_value(node)
                cls = text.replace(":", ".") if text else model.qualname(node) if node is not None else None
                if cls:
                    found[path] = cls
        for target, value, scope in model.scopes.item_assignments:
            if isinstance(target, ast.Attribute) and target.attr == "Task":
                owner = model.qualname(target.value, scope)
                cls = model.qualname(value, scope)
                if owner in self.apps and cls:
                    found[owner] = cls
        return dict(sorted(found.items()))

    @cached_property
    def _module_functions(self) -> dict[str, ast.FunctionDef]:
        """Module-level functions by qualified name, the first definition of a name kept: looked
        up once per call in the module, so a scan per lookup would make a module quadratic."""
        found: dict[str, ast.FunctionDef] = {}
        for node, scope in self.model.scopes.defs:
            if isinstance(node, ast.FunctionDef) and scope.node is None:
                found.setdefault(f"{self.model.module}.{node.name}", node)
        return found

    def _local_function(self, path: str | None) -> ast.FunctionDef | None:
        """A module-level function of this module named by `path` (`create_app`)."""
        return None if path is None else self._module_functions.get(path)

    def _returns_app(self, factory: ast.FunctionDef, depth: int) -> bool:
        """An app factory: every `return` gives back a new `Celery(...)`."""
        scope = self.model.scope_of(factory)
        returns = [node.value for node in ast.walk(factory) if isinstance(node, ast.Return)]
        return bool(returns) and all(value is not None and self._makes_app(value, scope, depth) for value in returns)

    # Tasks -----------------------------------------------------------------------------------

    @cached_property
    def task_defs(self) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, TaskInfo]]:
        found = []
        for node, scope in self.model.scopes.defs:
            info = self._class_task(node, scope) if isinstance(node, ast.ClassDef) else self._function_task(node, scope)
            if info is not None:
                found.append((node, info))
        return found

    @cached_property
    def tasks_by_node(self) -> dict[int, TaskInfo]:
        return {id(node): info for node, info in self.task_defs}

    @cached_property
    def tasks_by_path(self) -> dict[str, TaskInfo]:
        return {info.qualname: info for _, info in self.task_defs}

    def _function_task(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> TaskInfo | None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            made = self.task_decorator(target, scope)
            if made is None:
                continue
            options = options_of(decorator.keywords) if isinstance(decorator, ast.Call) else {}
            path = self.model.def_path(node.name, scope, methods=False)
            base = decorator_base(decorator)
            info = TaskInfo(
                qualname=path,
                name=options["name"] if isinstance(options.get("name"), str) else path,
                signature=_signature(node.args, drop_first=options.get("bind") is True),
                options=options,
                bases=(self.model.qualname(base, scope) or "",) if base is not None else (),
                is_async=isinstance(node, ast.AsyncFunctionDef),
                decorator=made if isinstance(made, str) else None,
            )
            return made.applied(info) if isinstance(made, TaskFactory) else info
        return None

    def task_decorator(self, target: ast.expr, scope: Scope) -> TaskFactory | str | None:
        """What `@target` makes tasks with: a `TaskFactory` (`shared_task`, `app.task`, or a
        project's decorator made of them, with the options it fixes), the path of a decorator of
        another project module that only the project index can judge (while collecting facts),
        or None when it makes no task."""
        model = self.model
        path = model.qualname(target, scope)
        if path == names.SHARED_TASK:
            return TaskFactory()
        local = None if self._reading_factories or path is None else self.factories.get(path)
        if local is not None:
            return local
        # Another module of this project: judged by the index, once every module's facts are in.
        elsewhere = path is not None and _in_project(path, model.module) and not path.startswith(f"{model.module}.")
        if isinstance(target, ast.Attribute) and target.attr == "task":
            owner = model.qualname(target.value, scope)
            if owner is None or owner.split(".")[0] in names.OTHER_TASK_LIBRARIES:
                return None
            if owner in self.apps or model.is_app(owner):
                return TaskFactory(via=owner)
            if owner.startswith(f"{model.module}.") and owner.count(".") == model.module.count(".") + 1:
                return None  # a module-level object of ours that is not an app
            if model.index.complete and path is not None:
                return index_factory(model.index, path)
            # `module.task` may be a factory of that module as well as an app's decorator. A
            # factory built on it is read before the index exists: it takes it for an app's.
            return path if elsewhere and not self._reading_factories else TaskFactory(via=owner)
        if path is None:
            return None
        if model.index.complete:
            return index_factory(model.index, path)
        return path if elsewhere else None

    @cached_property
    def factories(self) -> dict[str, TaskFactory]:
        """This module's own task decorators (`factories.py`); a factory built on another of
        this module's is not one (it would be read while they are being found)."""
        self._reading_factories = True
        try:
            return module_factories(self)
        finally:
            self._reading_factories = False

    def _class_task(self, node: ast.ClassDef, scope: Scope) -> TaskInfo | None:
        run = next(
            (
                stmt
                for stmt in node.body
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "run"
            ),
            None,
        )
        if run is None or not self.is_task_class(node, scope):
            return None
        options = self.class_options(node)
        path = self.model.def_path(node.name, scope, methods=False)
        return TaskInfo(
            qualname=path,
            name=options["name"] if isinstance(options.get("name"), str) else path,
            signature=_signature(run.args, drop_first=True),
            options=options,
            bases=tuple(self.model.qualname(base, scope) or "" for base in node.bases),
            is_class=True,
            is_async=isinstance(run, ast.AsyncFunctionDef),
        )

    def is_task_class(self, node: ast.ClassDef, scope: Scope, depth: int = 0) -> bool:
        model = self.model
        for base in node.bases:
            path = model.qualname(base, scope)
            if path is None or depth > 8:
                continue
            if isinstance(base, ast.Attribute) and base.attr == "Task":
                owner = model.qualname(base.value, scope)
                if owner is not None and (owner in self.apps or model.is_app(owner)):
                    return True
            local = self._local_class(path)
            if local is not None:
                if self.is_task_class(local, scope, depth + 1):
                    return True
            elif model.index.is_task_class(path):
                return True
        return False

    @cached_property
    def _module_classes(self) -> dict[str, ast.ClassDef]:
        """Module-level classes by qualified name, the first definition of a name kept."""
        found: dict[str, ast.ClassDef] = {}
        for node, scope in self.model.scopes.defs:
            if isinstance(node, ast.ClassDef) and scope.node is None:
                found.setdefault(f"{self.model.module}.{node.name}", node)
        return found

    def _local_class(self, path: str) -> ast.ClassDef | None:
        return self._module_classes.get(path)

    def class_options(self, node: ast.ClassDef) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for name, bindings in self.model.scope_of(node).bindings.items():
            if name in TASK_OPTIONS and isinstance(bindings[-1], ast.expr):
                options[name] = literal(bindings[-1])
        return options

    # Configuration ---------------------------------------------------------------------------

    @cached_property
    def _configuration(self) -> tuple[list[ConfigEntry], list[ConfigEntry], list[str], bool]:
        reader = ConfigReader(self.model)
        reader.read()
        return reader.entries, reader.maybe, reader.sources, reader.opaque

    @property
    def config(self) -> list[ConfigEntry]:
        """Configuration this module certainly writes."""
        entries, maybe, _, _ = self._configuration
        if self.model.module in self.model.index.config_modules or self.model.module.endswith("celeryconfig"):
            entries = entries + maybe
        index = self.model.index
        return [ConfigEntry(e.key, index.resolve(e.value), e.node) for e in entries]

    # Summary ---------------------------------------------------------------------------------

    def facts(self, *, countdowns: bool = True) -> ModuleFacts:
        model = self.model
        entries, maybe, sources, opaque = self._configuration
        facts = ModuleFacts(
            module=model.module,
            path=model.path,
            imports_celery=self.imports_celery,
            apps=sorted(self.apps),
            tasks=[info for _, info in self.task_defs],
            config=[(entry.key, entry.value) for entry in entries],
            maybe_config=[(entry.key, entry.value) for entry in maybe],
            config_sources=sources,
            config_opaque=opaque,
            constants=module_constants(model),
        )
        countdown = longest_countdown(model) if countdowns else None
        if countdown is not None:
            facts.extra[COUNTDOWN] = countdown
        if self.factories:
            facts.extra[FACTORIES] = dict(sorted(self.factories.items()))
        if self.app_factories:
            facts.extra[APP_FACTORIES] = self.app_factories
        if self.app_calls:
            facts.extra[APP_CALLS] = self.app_calls
        if self.app_task_classes:
            facts.extra[APP_TASK_CLASSES] = self.app_task_classes
        if renames_tasks(model):
            facts.extra[RENAMES_TASKS] = True
        for node, scope in model.scopes.defs:
            if scope.node is None:
                facts.defined_names.append(node.name)
                if isinstance(node, ast.ClassDef) and node.bases:
                    bases = tuple(model.qualname(base, scope) or "" for base in node.bases)
                    facts.classes[f"{model.module}.{node.name}"] = (bases, self.class_options(node))
        for name, bindings in model.module_scope.bindings.items():
            own = f"{model.module}.{name}"
            target = model.qualname(ast.Name(id=name))
            if len(bindings) == 1 and target is not None and target != own:
                facts.aliases[own] = target
        return facts


def _in_project(path: str, module: str) -> bool:
    """Whether a name may be one of the project's own: in this module's top package, or named for
    the tasks it makes (`common.celery_tasks.retry_task`), as the prefilter assumes
    (`names.PROJECT_DECORATOR`): a project of several top packages keeps its factories in one."""
    return path.split(".")[0] == module.split(".")[0] or "task" in path.rpartition(".")[2].lower()


def _signature(args: ast.arguments, *, drop_first: bool) -> Signature:
    positional = [arg.arg for arg in (*args.posonlyargs, *args.args)]
    defaults = len(args.defaults)
    if drop_first and positional:
        positional = positional[1:]
    return Signature(
        params=tuple(positional),
        required=max(0, len(positional) - defaults),
        varargs=args.vararg is not None,
        varkw=args.kwarg is not None,
    )
