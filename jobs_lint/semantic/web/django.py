"""Database transactions and ORM objects: Django's and SQLAlchemy's.

Answers the questions job rules ask about the code around an enqueue: is this inside a
transaction that has not committed yet, and is this value a model instance, a query or a request
that should never travel through a broker. A project's own context managers that wrap
`transaction.atomic()` (`with traced_atomic(): ...`) are project facts, under `extra["django"]`.
"""

from __future__ import annotations

import ast
import weakref
from typing import TYPE_CHECKING

from jobs_lint.semantic.scope import Scope

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel

ATOMIC = "django.db.transaction.atomic"
ON_COMMIT = "django.db.transaction.on_commit"
_CONTEXT_MANAGERS = frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"})
_SQLALCHEMY_SESSIONS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlalchemy.ext.asyncio.async_scoped_session",
    }
)
# Session methods that write, and those that end the transaction.
SESSION_WRITES = frozenset({"add", "add_all", "delete", "merge", "execute", "flush", "bulk_save_objects"})
SESSION_ENDS = frozenset({"commit", "rollback", "close"})
# QuerySet methods whose result is a model instance or a query, never plain data.
_ORM_RESULTS = frozenset(
    {
        "all",
        "create",
        "earliest",
        "exclude",
        "filter",
        "first",
        "get",
        "last",
        "latest",
        "order_by",
        "prefetch_related",
        "select_related",
    }
)
_GET_OBJECT = frozenset({"django.shortcuts.get_object_or_404"})
_MAX_DEPTH = 8


def transaction_of(model: ModuleModel, node: ast.expr, scope: Scope) -> str | None:
    """What transaction a `with` item or decorator opens (`transaction.atomic()`), if any."""
    target = node.func if isinstance(node, ast.Call) else node
    path = model.qualname(target, scope)
    if path == ATOMIC:
        return None if _on_replica(node) else "transaction.atomic()"
    if path is not None and path in atomic_wrappers(model.index) | local_atomic_wrappers(model):
        return f"{path.rpartition('.')[2]}()"
    if (
        isinstance(node, ast.Call)
        and isinstance(target, ast.Attribute)
        and target.attr in ("begin", "begin_nested")
        and is_sqlalchemy(model, target.value, scope)
    ):
        return f"{ast.unparse(target)}()"
    return None


def _on_replica(node: ast.expr) -> bool:
    """`atomic(using=REPLICA)`: a read-only transaction, used to pin a replica, writes nothing."""
    if not isinstance(node, ast.Call):
        return False
    using = next((k.value for k in node.keywords if k.arg == "using"), None)
    return using is not None and "replica" in ast.unparse(using).lower()


def is_sqlalchemy(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """Whether an expression is a SQLAlchemy session, engine or connection (or what makes one)."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Call):
        return is_sqlalchemy(model, node.func, scope, depth + 1)
    path = model.qualname(node, scope)
    if path is not None and path.split(".")[0] == "sqlalchemy":
        return True
    if isinstance(node, ast.Attribute):
        return is_sqlalchemy(model, node.value, scope, depth + 1)
    if not isinstance(node, ast.Name):
        return False
    found = model.lookup(node.id, scope)
    if found is None:
        return _annotated_session(model, node.id, scope)
    bindings, owner = found
    for binding in bindings:
        if isinstance(binding, ast.expr) and is_sqlalchemy(model, binding, owner, depth + 1):
            return True
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            for item in binding.items:
                target = item.optional_vars
                if isinstance(target, ast.Name) and target.id == node.id:
                    return is_sqlalchemy(model, item.context_expr, owner, depth + 1)
    return False


def _annotated_session(model: ModuleModel, name: str, scope: Scope) -> bool:
    """A parameter annotated as a SQLAlchemy session (`session: AsyncSession`)."""
    current: Scope | None = scope
    while current is not None:
        node = current.node
        if name in current.params and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                if arg.arg == name and arg.annotation is not None:
                    annotation = arg.annotation
                    if isinstance(annotation, ast.Subscript):  # Annotated[AsyncSession, Depends(...)]
                        inner = annotation.slice
                        annotation = inner.elts[0] if isinstance(inner, ast.Tuple) else inner
                    return model.qualname(annotation, current.parent) in _SQLALCHEMY_SESSIONS
            return False
        current = current.parent
    return False


def is_orm_object(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """A Django model instance or QuerySet: `Order.objects.get(...)`, `get_object_or_404(...)`."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None:
            return False
        bindings, owner = found
        return all(_binds_orm_object(model, b, owner, depth) for b in bindings)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if model.qualname(func, scope) in _GET_OBJECT:
        return True
    if not (isinstance(func, ast.Attribute) and func.attr in _ORM_RESULTS):
        return False
    receiver = func.value
    while isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute):
        if receiver.func.attr not in _ORM_RESULTS:
            return False
        receiver = receiver.func.value
    return isinstance(receiver, ast.Attribute) and receiver.attr == "objects"


def _binds_orm_object(model: ModuleModel, binding: object, owner: Scope, depth: int) -> bool:
    """`x = Order.objects.get(...)`, or `for x in Order.objects.filter(...)`."""
    if isinstance(binding, ast.expr):
        return is_orm_object(model, binding, owner, depth + 1)
    return (
        isinstance(binding, (ast.For, ast.AsyncFor))
        and isinstance(binding.target, ast.Name)
        and is_orm_object(model, binding.iter, owner, depth + 1)
    )


# Project facts ---------------------------------------------------------------------------------


FACTS_KEY = "django"  # the key of these facts in `ModuleFacts.extra`


def facts(model: ModuleModel) -> dict[str, list[str]]:
    """This module's context managers that open a Django transaction, for `ModuleFacts.extra`."""
    wrappers = sorted(local_atomic_wrappers(model))
    return {"atomic_wrappers": wrappers} if wrappers else {}


_local: weakref.WeakKeyDictionary[ModuleModel, frozenset[str]] = weakref.WeakKeyDictionary()


def local_atomic_wrappers(model: ModuleModel) -> frozenset[str]:
    """Module-level `@contextmanager` functions whose body runs inside `transaction.atomic()`."""
    found = _local.get(model)
    if found is None:
        found = frozenset(
            f"{model.module}.{node.name}"
            for node, scope in model.scopes.defs
            if scope.node is None
            and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(model.qualname(d, scope) in _CONTEXT_MANAGERS for d in node.decorator_list)
            and _yields_inside_atomic(model, node)
        )
        _local[model] = found
    return found


def _yields_inside_atomic(model: ModuleModel, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    scope = model.scope_of(node)
    for statement in ast.walk(node):
        if isinstance(statement, (ast.With, ast.AsyncWith)) and any(
            model.qualname(_callee(item.context_expr), scope) == ATOMIC for item in statement.items
        ):
            return any(isinstance(inner, (ast.Yield, ast.YieldFrom)) for inner in ast.walk(statement))
    return False


def atomic_wrappers(index: ProjectIndex) -> frozenset[str]:
    """Every module's transaction context managers, merged once per index."""
    return index.merged(FACTS_KEY, _merge)


def _merge(index: ProjectIndex) -> frozenset[str]:
    return frozenset(
        wrapper
        for module in index.modules.values()
        for wrapper in module.extra.get(FACTS_KEY, {}).get("atomic_wrappers", ())
    )


def _callee(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node
