"""Objects that carry file contents: instances of a class with a field annotated `bytes`,
directly or through the classes of its fields (`EmailModel.attachments: list[Attachment]`,
`Attachment.content: bytes`).

Pydantic models and dataclasses that hold documents travel as a whole when they are sent: the
field that holds the bytes is easy to miss where the object is enqueued. Module facts record the
annotated fields of the classes of modules that annotate something as `bytes`; the project merges
them, and an expression's class is told from a parameter's annotation, a loop over a field, and
local variables. Classes in modules that mention no `bytes` annotation are unknown.
"""

from __future__ import annotations

import ast
import re
import weakref
from typing import TYPE_CHECKING

from jobs_lint.semantic import syntax

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

FACTS_KEY = "fields"  # `ModuleFacts.extra`: class qualname -> ((field, type, many), ...)
# A module whose text matches this annotates something as bytes: its classes are recorded.
NEEDLE = re.compile(rb":[ \t]*(?:[\w.]+\[)*bytes\b")
_BYTES = frozenset({"bytes", "bytearray"})
_WRAPPERS = frozenset({"Optional", "Annotated", "Union"})
_MANY = frozenset({"List", "list", "Sequence", "Tuple", "tuple", "Set", "set", "FrozenSet", "frozenset", "Iterable"})
_MAX_DEPTH = 8

Field = tuple[str, str, bool]  # name, the qualified name of its type, whether it holds many


def facts(model: ModuleModel) -> dict[str, tuple[Field, ...]]:
    """The annotated fields of this module's module-level classes, for `ModuleFacts.extra`."""
    found: dict[str, tuple[Field, ...]] = {}
    for node in model.tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = []
        for statement in node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                typed = annotation_type(model, statement.annotation, model.module_scope)
                if typed is not None:
                    fields.append((statement.target.id, *typed))
        if fields:
            found[f"{model.module}.{node.name}"] = tuple(fields)
    return found


def annotation_type(model: ModuleModel, node: ast.expr | None, scope: Scope | None) -> tuple[str, bool] | None:
    """The class an annotation names and whether it holds many of them: `bytes`,
    `Optional[X]`, `X | None`, `List[X]`, `list[X] = []`."""
    many = False
    for _ in range(_MAX_DEPTH):
        if isinstance(node, ast.BinOp):  # `X | None`
            node = node.right if _is_none(node.left) else node.left
            continue
        if isinstance(node, ast.Subscript):
            outer = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            inner = node.slice
            parts = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if outer in _MANY:
                many = True
            elif outer not in _WRAPPERS:
                return None
            kept = [part for part in parts if not _is_none(part)]
            if not kept or (outer == "Union" and len(kept) > 1):
                return None
            node = kept[0]
            continue
        if node is None:
            return None
        path = model.qualname(node, scope)
        return (model.index.canonical(path), many) if path is not None else None
    return None


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


class _Project:
    def __init__(self, index: ProjectIndex) -> None:
        self.fields: dict[str, dict[str, tuple[str, bool]]] = {}
        for module in index.modules.values():
            for cls, fields in module.extra.get(FACTS_KEY, {}).items():
                self.fields[cls] = {name: (path, many) for name, path, many in fields}
        self._carried: dict[str, str | None] = {}

    def carried(self, cls: str) -> str | None:
        """Where a class's objects hold bytes (`Attachment.content`), through at most a few fields."""
        if cls in self._carried:
            return self._carried[cls]
        self._carried[cls] = None  # a class that holds itself holds nothing more
        found = None
        for name, (path, _) in self.fields.get(cls, {}).items():
            if path in _BYTES:
                found = f"{cls.rpartition('.')[2]}.{name}"
                break
            inner = self.carried(path) if path in self.fields else None
            if inner is not None:
                found = inner
                break
        self._carried[cls] = found
        return found


_projects: weakref.WeakKeyDictionary[ProjectIndex, _Project] = weakref.WeakKeyDictionary()


def _project(index: ProjectIndex) -> _Project:
    found = _projects.get(index)
    if found is None:
        found = _projects[index] = _Project(index)
    return found


def carried_bytes(model: ModuleModel, node: ast.expr, scope: Scope) -> str | None:
    """Where an object (or the objects of a list) that an expression holds keeps bytes."""
    typed = type_of(model, node, scope)
    return _project(model.index).carried(typed[0]) if typed is not None else None


def type_of(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> tuple[str, bool] | None:
    """The class of the object(s) an expression holds, as far as annotations show."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Attribute):
        owner = type_of(model, node.value, scope, depth + 1)
        if owner is None or owner[1]:
            return None
        return _project(model.index).fields.get(owner[0], {}).get(node.attr)
    if not isinstance(node, ast.Name):
        return None
    found = model.lookup(node.id, scope)
    if found is None:
        return annotation_type(model, parameter_annotation(node.id, scope), scope)
    bindings, owner_scope = found
    if len(bindings) != 1:
        return None
    binding = bindings[0]
    if isinstance(binding, (ast.For, ast.AsyncFor)) and isinstance(binding.target, ast.Name):
        iterated = type_of(model, binding.iter, owner_scope, depth + 1)
        return (iterated[0], False) if iterated is not None and iterated[1] else None
    return type_of(model, binding, owner_scope, depth + 1) if isinstance(binding, ast.expr) else None


def parameter_annotation(name: str, scope: Scope | None) -> ast.expr | None:
    """The annotation of the parameter `name` of the function around `scope`, if it has one."""
    current = scope
    while current is not None:
        node = current.node
        if name in current.params and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return syntax.parameter_annotation(node, name)
        current = current.parent
    return None
