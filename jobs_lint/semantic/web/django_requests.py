"""Django requests run in a transaction: `ATOMIC_REQUESTS` and the views it wraps.

With `DATABASES[alias]["ATOMIC_REQUESTS"] = True`, Django runs every view in a transaction that
commits when the response is ready: a task sent from the view, or from what it calls, reaches the
broker before the commit. The settings' values and the module's candidate views are facts
(`ModuleFacts.extra["django_requests"]`); `atomic_view` decides with the whole project whether a
function is such a view.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic import constants

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel

FACTS_KEY = "django_requests"  # the key of these facts in `ModuleFacts.extra`
ATOMIC_REQUESTS = "ATOMIC_REQUESTS"
NON_ATOMIC = "django.db.transaction.non_atomic_requests"
# Where Django's and DRF's view classes live, and the methods of a view that handle a request.
_VIEW_MODULES = ("django.views.", "rest_framework.views.", "rest_framework.generics.", "rest_framework.viewsets.")
_HANDLERS = frozenset(
    {
        *("get", "post", "put", "patch", "delete", "dispatch", "form_valid", "form_invalid"),
        *("perform_create", "perform_update", "perform_destroy", "create", "update", "partial_update", "destroy"),
    }
)


def facts(model: ModuleModel) -> dict[str, list[Any]]:
    """The `ATOMIC_REQUESTS` values this module's settings give and its candidate views."""
    found: dict[str, list[Any]] = {}
    requests = _atomic_requests(model)
    if requests:
        found["atomic_requests"] = requests
    views = _candidate_views(model)
    if views:
        found["views"] = views
    return found


def _atomic_requests(model: ModuleModel) -> list[Any]:
    """The values of `ATOMIC_REQUESTS` in this module's `DATABASES`: in the dict literal
    (`DATABASES = {"default": {"ATOMIC_REQUESTS": True}}`) or set on it afterwards
    (`DATABASES["default"]["ATOMIC_REQUESTS"] = True`); literals or `Ref`s to other modules."""
    found: list[Any] = []
    for statement in model.tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
            if isinstance(target, ast.Name) and target.id == "DATABASES" and isinstance(value, ast.Dict):
                for alias in value.values:
                    if isinstance(alias, ast.Dict):
                        found.extend(
                            constants.value_of(model, option, None)
                            for key, option in zip(alias.keys, alias.values, strict=True)
                            if isinstance(key, ast.Constant) and key.value == ATOMIC_REQUESTS
                        )
            elif _sets_atomic_requests(target):
                found.append(constants.value_of(model, value, None))
    return found


def _sets_atomic_requests(target: ast.expr) -> bool:
    """`DATABASES[alias]["ATOMIC_REQUESTS"]`."""
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.slice, ast.Constant)
        and target.slice.value == ATOMIC_REQUESTS
        and isinstance(target.value, ast.Subscript)
        and isinstance(target.value.value, ast.Name)
        and target.value.value.id == "DATABASES"
    )


def _candidate_views(model: ModuleModel) -> list[str]:
    """What may be a view here, whose calls are summarised when the project sets
    `ATOMIC_REQUESTS` (`atomic_view` decides, with the whole project): functions taking
    `request` first in a `views` module, request handler methods of classes with a base."""
    found = []
    in_views = _is_views_module(model.module)
    for node in model.tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and in_views and _takes_request(node):
            found.append(f"{model.module}.{node.name}")
        elif isinstance(node, ast.ClassDef) and node.bases:
            found.extend(
                f"{model.module}.{node.name}.{method.name}"
                for method in node.body
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name in _HANDLERS
            )
    return found


def _is_views_module(module: str) -> bool:
    return any(part == "views" or part.endswith("_views") for part in module.split("."))


def _takes_request(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = [*function.args.posonlyargs, *function.args.args]
    return bool(args) and args[0].arg == "request"


def atomic_requests(index: ProjectIndex) -> bool:
    """Whether the project's settings run every request in a transaction: some `DATABASES`
    alias sets `ATOMIC_REQUESTS` to True, and no settings module sets it to anything else or to
    a value the linter cannot read (`env.bool(...)`): unknown is not True."""
    return index.merged(FACTS_KEY, _merge_atomic_requests)


def _merge_atomic_requests(index: ProjectIndex) -> bool:
    values = [
        index.resolve(value)
        for module in index.modules.values()
        for value in module.extra.get(FACTS_KEY, {}).get("atomic_requests", ())
    ]
    return bool(values) and all(value is True for value in values)


def views_to_follow(extras: Iterable[dict[str, Any]]) -> set[str]:
    """The candidate views whose calls the call graph must summarise: every module's (the
    `FACTS_KEY` facts in `extras`), when some settings module sets `ATOMIC_REQUESTS` to
    anything (its value may come from another module); none otherwise."""
    facts = list(extras)
    if not any(extra.get("atomic_requests") for extra in facts):
        return set()
    return {view for extra in facts for view in extra.get("views", ())}


def atomic_view(model: ModuleModel, function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name of the view `function` is, when `ATOMIC_REQUESTS` runs it in a transaction: a
    function taking `request` first in a `views` module, or a request handler method (`post`,
    `form_valid`, `perform_create`, ...) of a class deriving from a Django or DRF view. None for
    anything else, and for views marked `@transaction.non_atomic_requests`."""
    if not atomic_requests(model.index) or _non_atomic(model, function.decorator_list):
        return None
    owner = model.owner_class(function)
    if owner is None:
        routed = _is_views_module(model.module) and _takes_request(function)
        return function.name if routed and model.function_qualname(function) else None
    if function.name not in _HANDLERS or _non_atomic(model, owner.decorator_list):
        return None
    qualname = model.function_qualname(function)
    if qualname is None:
        return None
    ancestors = model.index.calls.ancestors(qualname.rpartition(".")[0])
    return f"{owner.name}.{function.name}" if any(map(_is_view_class, ancestors)) else None


def _non_atomic(model: ModuleModel, decorators: list[ast.expr]) -> bool:
    """`@transaction.non_atomic_requests`, bare, called, or in `method_decorator(...)`."""
    return any(
        isinstance(node, (ast.Name, ast.Attribute)) and (model.qualname(node, model.module_scope) == NON_ATOMIC)
        for decorator in decorators
        for node in ast.walk(decorator)
    )


def _is_view_class(path: str) -> bool:
    return path.startswith(_VIEW_MODULES)
