"""What a def reaches inside its own module, read from the syntax tree: the functions workflow
code runs (they replay with it) and the helpers an activity heartbeats through."""

from __future__ import annotations

import ast
from collections.abc import Collection
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import DefNode

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def module_defs(model: ModuleModel) -> dict[str, DefNode]:
    """Module-level defs and classes by canonical path."""
    return {f"{model.module}.{node.name}": node for node, scope in model.scopes.defs if scope.node is None}


class SameModuleReach:
    def __init__(self, model: ModuleModel, defs: dict[str, DefNode]) -> None:
        self.model = model
        self.defs = defs

    @cached_property
    def _function_names(self) -> frozenset[str]:
        return frozenset(
            name.rpartition(".")[2] for name, node in self.defs.items() if not isinstance(node, ast.ClassDef)
        )

    def reached(self, root: DefNode, stop: Collection[int] = ()) -> list[FunctionNode]:
        """Same-module functions a def or class reaches, transitively: module-level functions it
        names, and for methods, the methods of its class it calls through `self`. Defs whose id
        is in `stop` are neither reached nor followed."""
        model = self.model
        functions = self._function_names
        found: list[FunctionNode] = []
        pending: list[DefNode] = [root]
        if isinstance(root, ast.ClassDef):
            pending = [s for s in root.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        seen = {id(root), *(id(node) for node in pending)}
        while pending:
            node = pending.pop()
            owner = model.owner_class(node)
            scope = model.scope_of(node)
            for child in ast.walk(node):
                target: DefNode | None = None
                if isinstance(child, ast.Name) and child.id in functions:
                    target = self.defs.get(model.qualname(child, scope) or "")
                elif (
                    owner is not None
                    and isinstance(child, ast.Attribute)
                    and isinstance(child.value, ast.Name)
                    and child.value.id in ("self", "cls")
                ):
                    target = _method(owner, child.attr)
                if (
                    isinstance(target, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and id(target) not in seen
                    and id(target) not in stop
                ):
                    seen.add(id(target))
                    found.append(target)
                    pending.append(target)
        return found


def _method(cls: ast.ClassDef, name: str) -> FunctionNode | None:
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            return statement
    return None
