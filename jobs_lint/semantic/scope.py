"""Name bindings per scope, collected in one pass over a module's statements.

This is the cheap core of the semantic layer: which names a module imports (and as what), defines
and assigns, per function. Everything else (is this a task, a result, a Celery app?) is answered
from these bindings, so rules never track imports themselves.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from jobs_lint.semantic.modules import resolve_relative

# `try: ... except* ...` (3.11+) binds names the same way as a plain try.
_TRY: tuple[type[ast.stmt], ...] = tuple(node for node in (ast.Try, getattr(ast, "TryStar", None)) if node is not None)

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True, slots=True)
class Imported:
    """A name bound by an import statement to a dotted path (`from celery import chord as c`)."""

    qualname: str
    node: ast.stmt


# What a name can be bound to: an assigned expression, an import, a def or class, or the statement
# that binds it in a way that carries no value we can read (a for-loop target, `except ... as e`).
Binding = ast.expr | Imported | DefNode | ast.stmt | ast.comprehension


@dataclass(eq=False, slots=True)
class Scope:
    node: ast.AST | None  # None for the module
    parent: Scope | None
    is_class: bool = False
    params: set[str] = field(default_factory=set)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)

    def bind(self, name: str, value: Binding) -> None:
        self.bindings.setdefault(name, []).append(value)


@dataclass(eq=False, slots=True)
class ScopeTable:
    module: Scope
    by_node: dict[int, Scope]
    defs: list[tuple[DefNode, Scope]]  # every def and class, with the scope it is defined in
    star_imports: list[str]
    # Calls that are whole statements (`app.conf.update(...)`, `app = Celery(...)`): where
    # configuration is written.
    statement_calls: list[tuple[ast.Call, Scope]] = field(default_factory=list)
    # `x.attr = value` and `x[key] = value` (`app.conf.task_serializer = "json"`).
    item_assignments: list[tuple[ast.Attribute | ast.Subscript, ast.expr, Scope]] = field(default_factory=list)


def build_scopes(tree: ast.Module, module: str, is_package: bool) -> ScopeTable:
    module_scope = Scope(None, None)
    table = ScopeTable(module_scope, {}, [], [])
    _Collector(table, module, is_package).statements(tree.body, module_scope)
    return table


class _Collector:
    def __init__(self, table: ScopeTable, module: str, is_package: bool) -> None:
        self.table = table
        self.module = module
        self.is_package = is_package

    def statements(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self.statement(stmt, scope)

    def statement(self, stmt: ast.stmt, scope: Scope) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.definition(stmt, scope)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    scope.bind(alias.asname, Imported(alias.name, stmt))
                else:
                    top = alias.name.split(".")[0]
                    scope.bind(top, Imported(top, stmt))
        elif isinstance(stmt, ast.ImportFrom):
            base = self.import_base(stmt)
            for alias in stmt.names:
                if alias.name == "*":
                    self.table.star_imports.append(base)
                    continue
                scope.bind(alias.asname or alias.name, Imported(f"{base}.{alias.name}", stmt))
        elif isinstance(stmt, ast.Expr):
            if isinstance(stmt.value, ast.Call):
                self.table.statement_calls.append((stmt.value, scope))
        elif isinstance(stmt, ast.Assign):
            if isinstance(stmt.value, ast.Call):
                self.table.statement_calls.append((stmt.value, scope))
            for target in stmt.targets:
                self.target(target, stmt.value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.target(stmt.target, stmt.value, scope)
        elif isinstance(stmt, (ast.AugAssign, ast.For, ast.AsyncFor)):
            self.target(stmt.target, stmt, scope)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if item.optional_vars is not None:
                    self.target(item.optional_vars, stmt, scope)
        elif isinstance(stmt, _TRY):
            for handler in getattr(stmt, "handlers", ()):
                if handler.name:
                    scope.bind(handler.name, handler)
        elif isinstance(stmt, (ast.Global, ast.Nonlocal)):
            scope.declared_global.update(stmt.names)
        for child_body in _bodies(stmt):
            self.statements(child_body, scope)

    def definition(self, node: DefNode, scope: Scope) -> None:
        scope.bind(node.name, node)
        self.table.defs.append((node, scope))
        inner = Scope(node, scope, is_class=isinstance(node, ast.ClassDef))
        self.table.by_node[id(node)] = inner
        if not isinstance(node, ast.ClassDef):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.params.add(arg.arg)
        self.statements(node.body, inner)

    def target(self, target: ast.expr, value: Binding, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            scope.bind(target.id, value)
        elif isinstance(target, (ast.Attribute, ast.Subscript)) and isinstance(value, ast.expr):
            self.table.item_assignments.append((target, value, scope))
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                # Unpacking hides which part of the value each name gets.
                inner = element.value if isinstance(element, ast.Starred) else element
                self.target(inner, target, scope)

    def import_base(self, stmt: ast.ImportFrom) -> str:
        if stmt.level:
            return resolve_relative(self.module, self.is_package, stmt.level, stmt.module)
        return stmt.module or ""


def _bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """Nested statement lists that belong to the same scope as `stmt`."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return []
    bodies = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            bodies.append(value)
    for handler in getattr(stmt, "handlers", ()):
        bodies.append(handler.body)
    for case in getattr(stmt, "cases", ()):
        bodies.append(case.body)
    return bodies
