"""Task decorators made by the project: `job = shared_task`, `job = app.task(queue="mail")`, and
functions that return one (`def periodic(**kw): return lambda f: shared_task(**kw)(f)`,
`def task(*a, **kw): return app.task(*a, base=Tracked, **kw)`, `functools.partial(shared_task,
acks_late=True)`), in any module.

A module's factories are facts (`ModuleFacts.extra[FACTORIES]`), with the options they fix; a
function decorated with a project decorator that its module cannot judge alone is kept as a
candidate task (`TaskInfo.decorator`), which the index keeps only if the decorator is a factory.
Apps are made the same way: a function of one module that returns a new `Celery(...)` makes an
app of the name another module binds to its result, and the task class an app gives every task
(`task_cls=`, `app.Task = ...`) is a fact of the app.

A module that uses a project decorator is read for facts when the decorator's name, or a name
it imports, ends in `task` (`@task`, `@base.my_task(...)`, `from proj.base import task as job`:
`names.PROJECT_DECORATOR`) or the module has a Celery word of its own; the prefilter cannot know
other names, and those modules' tasks stay unknown.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.celery import names
from jobs_lint.semantic.celery.tasks import SPLAT, decorator_base, options_of
from jobs_lint.semantic.facts import Signature, TaskInfo

if TYPE_CHECKING:
    from jobs_lint.semantic.celery.module import CeleryModule
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.scope import Scope

FACTORIES = "celery.factories"  # `ModuleFacts.extra` key: path -> TaskFactory
# `ModuleFacts.extra` keys: functions returning a new app, and module-level names bound to what a
# function of another module returns (apps when that function is an app factory).
APP_FACTORIES = "celery.app_factories"
APP_CALLS = "celery.app_calls"
APP_TASK_CLASSES = "celery.app_task_classes"  # app -> the task class it gives every task
_PARTIAL = "functools.partial"
_MAX_DEPTH = 3  # nested defs and lambdas followed inside one factory


@dataclass(frozen=True, slots=True)
class TaskFactory:
    """What a project's task decorator adds to the tasks it makes."""

    options: dict[str, Any] = field(default_factory=dict)  # the options it fixes (`queue="mail"`)
    bases: tuple[str, ...] = ()  # its `base=`
    via: str | None = None  # the app of an `app.task` inside it; None for `shared_task`

    def applied(self, task: TaskInfo) -> TaskInfo:
        """A task made by this decorator: its own options win over the fixed ones."""
        options = {**self.options, **task.options}
        signature = task.signature
        if self.options.get("bind") is True and task.options.get("bind") is not True and signature.params:
            params = signature.params[1:]
            signature = Signature(params, max(0, signature.required - 1), signature.varargs, signature.varkw)
        name = task.name
        if isinstance(self.options.get("name"), str) and "name" not in task.options:
            name = self.options["name"]
        return replace(
            task,
            options=options,
            name=name,
            signature=signature,
            bases=task.bases or self.bases,
            via=self.via,
            decorator=None,
        )


def module_factories(celery: CeleryModule) -> dict[str, TaskFactory]:
    """This module's task decorators, by path: functions returning one, and names bound to one
    made by a call (`job = app.task(queue="mail")`). Plain aliases (`job = shared_task`) are
    aliases, which the index follows itself."""
    model = celery.model
    found: dict[str, TaskFactory] = {}
    for name, bindings in model.module_scope.bindings.items():
        if len(bindings) != 1:
            continue
        binding = bindings[0]
        factory = None
        if isinstance(binding, (ast.FunctionDef, ast.AsyncFunctionDef)):
            factory = _returned(celery, binding, 0)
        elif isinstance(binding, ast.Call):
            factory = decorator_call(celery, binding, model.module_scope)
        if factory is not None:
            found[f"{model.module}.{name}"] = factory
    return found


def decorator_call(celery: CeleryModule, call: ast.Call, scope: Scope, passed: str | None = None) -> TaskFactory | None:
    """`shared_task(queue="mail")` or `app.task(*a, base=Tracked, **kw)`: a task decorator with
    the options it fixes. `**kw` of the factory's own `**kwargs` (`passed`) are the options of
    the decorated function's use site; any other `**` may hold any option."""
    func = call.func
    if call.args and celery.model.qualname(func, scope) == _PARTIAL:
        func = call.args[0]  # `partial(shared_task, autoretry_for=...)`: its keywords are fixed options
    made = celery.task_decorator(func, scope)
    if not isinstance(made, TaskFactory):
        return None
    options = {**made.options, **options_of(call.keywords)}
    passthrough = [k for k in call.keywords if k.arg is None]
    if passthrough and all(isinstance(k.value, ast.Name) and k.value.id == passed for k in passthrough):
        options.pop(SPLAT, None)  # the use site's own options, which the use site shows
    base = decorator_base(call)
    bases = (celery.model.qualname(base, scope) or "",) if base is not None else ()
    return TaskFactory(options, bases or made.bases, made.via)


def _returned(celery: CeleryModule, function: ast.FunctionDef | ast.AsyncFunctionDef, depth: int) -> TaskFactory | None:
    """The decorator every `return` of a factory gives back, if they agree."""
    if depth > _MAX_DEPTH:
        return None
    scope = celery.model.scope_of(function)
    passed = function.args.kwarg.arg if function.args.kwarg is not None else None
    values = [node.value for node in _own_returns(function)]
    if not values or any(value is None for value in values):
        return None
    factories = [_decorator_value(celery, value, scope, passed, depth) for value in values if value is not None]
    first = factories[0]
    return first if first is not None and all(factory == first for factory in factories) else None


def _decorator_value(
    celery: CeleryModule, node: ast.expr, scope: Scope, passed: str | None, depth: int
) -> TaskFactory | None:
    if isinstance(node, ast.Lambda):
        return _decorator_value(celery, node.body, scope, passed, depth + 1)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Call):  # `shared_task(**kw)(f)`: the task it makes
            return decorator_call(celery, node.func, scope, passed)
        return decorator_call(celery, node, scope, passed)
    if isinstance(node, ast.Name):  # `return decorate`, a def inside the factory
        found = celery.model.lookup(node.id, scope)
        if (
            found is not None
            and len(found[0]) == 1
            and isinstance(found[0][0], (ast.FunctionDef, ast.AsyncFunctionDef))
        ):
            return _returned(celery, found[0][0], depth + 1)
    return None


def _own_returns(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Return]:
    """The function's own `return` statements. A return is a statement, so only statement
    bodies are walked, never expressions: this runs for every module-level function of every
    module the facts pass reads, most of which are no factory."""
    found: list[ast.Return] = []
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            found.append(node)
        elif type(node) not in _NESTED:
            for name in _BODIES:
                body = getattr(node, name, None)
                if type(body) is list:
                    stack.extend(body)
    return found


# Nested scopes, whose returns are their own; and the fields of a statement (or of an `except`
# clause, a `case`) that hold statements.
_NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def index_factory(index: ProjectIndex, path: str) -> TaskFactory | None:
    """The task decorator `path` names in the project, if it is one (`shared_task` under another
    name, `app.task` of a known app, or a factory of any module)."""
    target = index.canonical(path)
    if target == names.SHARED_TASK:
        return TaskFactory()
    made = index.merged(FACTORIES, _merge).get(target)
    if made is not None:
        return made
    owner, _, attr = target.rpartition(".")
    # An app's decorator; an object the index cannot see may be an app, as when read alone.
    return TaskFactory(via=owner) if attr == "task" and index.could_be_app(owner) else None


def _merge(index: ProjectIndex) -> dict[str, TaskFactory]:
    merged: dict[str, TaskFactory] = {}
    for module in index.modules.values():
        merged.update(module.extra.get(FACTORIES, {}))
    return merged


def project_app_factories(index: ProjectIndex) -> frozenset[str]:
    """Every module's functions that return a new app."""
    return index.merged(
        APP_FACTORIES,
        lambda index: frozenset(
            path for module in index.modules.values() for path in module.extra.get(APP_FACTORIES, ())
        ),
    )


def factory_apps(index: ProjectIndex) -> set[str]:
    """Names bound to what an app factory of another module returns (`celery = make_celery(app)`)."""
    made = project_app_factories(index)
    return {
        name
        for module in index.modules.values()
        for name, path in module.extra.get(APP_CALLS, {}).items()
        if index.canonical(path) in made
    }


def app_task_class(index: ProjectIndex, via: str | None) -> str | None:
    """The task class a task's app gives it (`Celery(task_cls=...)`, `app.Task = ...`); for a
    shared task, the one every app of the project gives, if they all give the same."""
    classes: dict[str, str] = index.merged(
        APP_TASK_CLASSES,
        lambda index: {
            index.canonical(app): cls
            for module in index.modules.values()
            for app, cls in module.extra.get(APP_TASK_CLASSES, {}).items()
        },
    )
    if via is not None:
        return classes.get(index.canonical(via))
    return index.merged(f"{APP_TASK_CLASSES}.shared", lambda index: _common_task_class(index, classes))


def _common_task_class(index: ProjectIndex, classes: dict[str, str]) -> str | None:
    """The task class every app of the project gives, if they all give the same: asked for
    each shared task, so made once per index."""
    given = {classes.get(app) for app in index.apps}
    return given.pop() if len(given) == 1 else None
