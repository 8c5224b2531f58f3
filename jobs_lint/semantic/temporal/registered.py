"""Activities made by calling `activity.defn` rather than decorating with it.

`export = activity.defn(name="export")(export_impl)` and `export = activity.defn(export)` at
module level register a function defined above, often swapped for a mock in tests
(`activity.defn(...)(run if not testing else mock_run)`, where `mock_run = run`). The def is the
activity's body; the name bound is what workflows import and schedule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jobs_lint.semantic.temporal.names import ACTIVITY_DEFN, public

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

_MAX_HOPS = 4  # `a = b`, `b = c` ... followed back to a def before giving up
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def wrapped_activities(model: ModuleModel) -> Iterator[tuple[FunctionNode, ast.Call, str]]:
    """(the function's def, the `activity.defn` call that names it, the module-level name bound)
    for each `name = activity.defn(...)(function)` or `name = activity.defn(function)`."""
    body = model.tree.body
    for position, statement in enumerate(body):
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(statement.value, ast.Call)
            and len(statement.value.args) == 1
        ):
            continue
        call = statement.value
        if isinstance(call.func, ast.Call) and _is_defn(model, call.func.func):
            defn = call.func  # activity.defn(name=...)(function)
        elif _is_defn(model, call.func) and not call.keywords:
            defn = call  # activity.defn(function)
        else:
            continue
        function = _function_before(body[:position], call.args[0], 0)
        if function is not None:
            yield function, defn, statement.targets[0].id


def _is_defn(model: ModuleModel, node: ast.expr) -> bool:
    return public(model.qualname(node, model.module_scope)) == ACTIVITY_DEFN


def _function_before(statements: list[ast.stmt], node: ast.expr, hops: int) -> FunctionNode | None:
    """The module-level def a name holds where it is read, after the statements above it; one
    def for both arms of `a if testing else b` (else None: which one runs is not known)."""
    if hops > _MAX_HOPS:
        return None
    if isinstance(node, ast.IfExp):
        body = _function_before(statements, node.body, hops + 1)
        return body if body is not None and body is _function_before(statements, node.orelse, hops + 1) else None
    if not isinstance(node, ast.Name):
        return None
    for position in range(len(statements) - 1, -1, -1):
        statement = statements[position]
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == node.id:
            return statement
        if isinstance(statement, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == node.id for target in statement.targets
        ):
            if len(statement.targets) != 1:
                return None
            return _function_before(statements[:position], statement.value, hops + 1)
        if _binds(statement, node.id):
            return None  # imported, or bound in a way not followed
    return None


def _binds(statement: ast.stmt, name: str) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return any((alias.asname or alias.name.partition(".")[0]) == name for alias in statement.names)
    if isinstance(statement, (ast.ClassDef, ast.AnnAssign, ast.AugAssign)):
        target = statement.name if isinstance(statement, ast.ClassDef) else statement.target
        return target == name or (isinstance(target, ast.Name) and target.id == name)
    return False
