"""Values written as another module's global: `task_acks_late = shared_config.task_acks_late`.

A module's facts keep its module-level constants (`ModuleFacts.constants`): names bound once to
a scalar literal, the scalar class attributes of its classes (`Settings.acks_late`, defaults of a
settings class, pydantic's `BaseSettings` included), and instances made without arguments
(`settings = Settings()`). A value that names a global of another module is kept as a `Ref`, and
the project index resolves it through those constants, a few hops at most. Anything else, or a
name bound more than once, stays `UNKNOWN`: a value the linter cannot see is never a default.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.values import UNKNOWN, literal

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

_MAX_HOPS = 4  # references followed from one module to the next before giving up
_MAX_TEXT = 200  # longer strings are not configuration worth keeping in the facts


@dataclass(frozen=True, slots=True)
class Ref:
    """A value that is the global `path` (`proj.config.base.task_acks_late`) of some module."""

    path: str


def value_of(model: ModuleModel, node: ast.expr, scope: Scope | None, depth: int = 0) -> Any:
    """The literal value of `node`, a `Ref` when it names another module's global, or UNKNOWN.
    Names of this module bound once at module level are followed here."""
    found = literal(node)
    if found is not UNKNOWN or depth > _MAX_HOPS or not isinstance(node, (ast.Name, ast.Attribute)):
        return found
    if isinstance(node, ast.Name):
        bound = model.lookup(node.id, scope)
        if bound is not None and bound[1] is model.module_scope and len(bound[0]) == 1:
            binding = bound[0][0]
            if isinstance(binding, ast.expr):
                return value_of(model, binding, None, depth + 1)
    path = model.qualname(node, scope)
    if path is None or "." not in path or path.startswith(f"{model.module}."):
        return UNKNOWN
    return Ref(path)


def module_constants(model: ModuleModel) -> dict[str, Any]:
    """`ModuleFacts.constants`: what other modules may read of this one's globals."""
    found: dict[str, Any] = {}
    classes = {
        node.name: node for node, scope in model.scopes.defs if isinstance(node, ast.ClassDef) and scope.node is None
    }
    for name, bindings in model.module_scope.bindings.items():
        if len(bindings) != 1 or not isinstance(bindings[0], ast.expr):
            continue
        binding = bindings[0]
        if isinstance(binding, ast.Call) and isinstance(binding.func, ast.Name) and binding.func.id in classes:
            if not binding.args and not binding.keywords:  # arguments may override the defaults
                found[name] = Ref(f"{model.module}.{binding.func.id}")
            continue
        value = value_of(model, binding, None)
        if _worth_keeping(value):
            found[name] = value
    for class_name, node in classes.items():
        for name, bindings in model.scope_of(node).bindings.items():
            if len(bindings) == 1 and isinstance(bindings[0], ast.expr):
                value = value_of(model, bindings[0], model.scope_of(node))
                if _worth_keeping(value):
                    found[f"{class_name}.{name}"] = value
    return dict(sorted(found.items()))


def resolve(index: ProjectIndex, value: Any) -> Any:
    """A fact's value with its `Ref`s resolved through the modules they name (UNKNOWN if not)."""
    for _ in range(_MAX_HOPS):
        if not isinstance(value, Ref):
            return value
        value = _lookup(index, value.path)
    return UNKNOWN if isinstance(value, Ref) else value


def _lookup(index: ProjectIndex, path: str) -> Any:
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = index.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        constants = module.constants
        name, rest = parts[cut], parts[cut + 1 :]
        if name not in constants and rest:
            name = ".".join(parts[cut : cut + 2])  # `Settings.acks_late`
            rest = rest[1:]
        value = constants.get(name, UNKNOWN)
        if rest:
            # `settings.acks_late` where `settings = Settings()`: the class's attribute.
            return Ref(".".join([value.path, *rest])) if isinstance(value, Ref) else UNKNOWN
        return value
    return UNKNOWN


def _worth_keeping(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= _MAX_TEXT
    return isinstance(value, (bool, int, float, Ref))
