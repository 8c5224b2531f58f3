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
_COPIES = frozenset({"list", "tuple", "sorted", "set"})
# SQLAlchemy: session methods that load one mapped object by class, query results that are
# mapped objects, the steps that refine a query, and what builds a select.
_SESSION_GETS = frozenset({"get", "get_one"})
_SQLALCHEMY_RESULTS = frozenset({"all", "first", "one", "one_or_none", "get", "scalar_one", "scalar_one_or_none"})
_QUERY_STEPS = frozenset(
    {"filter", "filter_by", "where", "order_by", "options", "join", "limit", "offset", "distinct", "unique"}
)
_SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.future.select", "sqlmodel.select"})
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
        return annotated_session(model, node.id, scope)
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


def annotated_session(model: ModuleModel, name: str, scope: Scope) -> bool:
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
    """A model instance, a list of them or a query: Django's `Order.objects.get(...)`,
    `get_object_or_404(...)`, `[o for o in orders]`, SQLAlchemy's `session.get(Order, id)` or
    `session.scalars(select(Order)).all()`, also through local variables."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Await):
        return is_orm_object(model, node.value, scope, depth + 1)
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None:
            return False
        bindings, owner = found
        # `orders = orders.select_related(...)` keeps what `orders` was.
        others = [b for b in bindings if not (isinstance(b, ast.expr) and _refines(b, node.id))]
        return bool(others) and all(_binds_orm_object(model, b, owner, depth) for b in others)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
        return _picks_from_orm(model, node, scope, depth)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    path = model.qualname(func, scope)
    if path in _GET_OBJECT:
        return True
    if path in _COPIES and len(node.args) == 1:
        return is_orm_object(model, node.args[0], scope, depth + 1)
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in _SQLALCHEMY_RESULTS and _is_sqlalchemy_query(model, func.value, scope):
        return True
    if (
        (func.attr in _SESSION_GETS and node.args and _is_entity(node.args[0]))
        or (func.attr == "scalar" and node.args and _selects_entity(model, node.args[0], scope))
    ) and is_sqlalchemy(model, func.value, scope):
        return True
    if func.attr not in _ORM_RESULTS:
        return False
    receiver = func.value
    while isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute):
        if receiver.func.attr not in _ORM_RESULTS:
            return False
        receiver = receiver.func.value
    if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
        return True
    return isinstance(receiver, ast.Name) and is_orm_object(model, receiver, scope, depth + 1)


def _refines(binding: ast.expr, name: str) -> bool:
    """`name.filter(...).order_by(...)`: a query refined from the same name."""
    while isinstance(binding, ast.Call) and isinstance(binding.func, ast.Attribute):
        binding = binding.func.value
    return isinstance(binding, ast.Name) and binding.id == name


def _picks_from_orm(
    model: ModuleModel, node: ast.ListComp | ast.GeneratorExp | ast.SetComp, scope: Scope, depth: int
) -> bool:
    """`[user for user in users if ...]`: the elements themselves, of a query or a list of rows."""
    first = node.generators[0]
    return (
        isinstance(node.elt, ast.Name)
        and isinstance(first.target, ast.Name)
        and first.target.id == node.elt.id
        and is_orm_object(model, first.iter, scope, depth + 1)
    )


def _is_sqlalchemy_query(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """`session.query(Order)...`, `session.scalars(select(Order)...)` or
    `(await session.execute(select(Order))).scalars()`: a query whose rows are mapped objects."""
    for _ in range(_MAX_DEPTH):
        if isinstance(node, ast.Await):
            node = node.value
            continue
        if isinstance(node, ast.Name):  # `result = await session.execute(select(Order))`
            found = model.lookup(node.id, scope)
            if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
                return False
            node, scope = found[0][0], found[1]
            continue
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            return False
        attr, receiver = node.func.attr, node.func.value
        if attr == "query":
            return bool(node.args) and all(map(_is_entity, node.args)) and is_sqlalchemy(model, receiver, scope)
        if attr in ("scalars", "execute", "scalar"):
            if node.args and _selects_entity(model, node.args[0], scope):
                return is_sqlalchemy(model, receiver, scope)
            if attr == "scalars" and not node.args:  # `result.scalars()` of an `execute(select(Order))`
                node = receiver
                continue
            return False
        if attr not in _QUERY_STEPS:
            return False
        node = receiver
    return False


def _selects_entity(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """`select(Order)`, refined (`.where(...)`, `.options(...)`), or a name bound to one."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
            return False
        node, scope = found[0][0], found[1]
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _QUERY_STEPS:
        node = node.func.value
    return (
        isinstance(node, ast.Call)
        and model.qualname(node.func, scope) in _SELECTS
        and bool(node.args)
        and all(map(_is_entity, node.args))
    )


def _is_entity(node: ast.expr) -> bool:
    """A class name (`Order`, `models.Order`), not a column (`Order.id`) or a function."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    return name[:1].isupper() and not name.isupper()


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
