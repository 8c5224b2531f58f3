"""Values too heavy or too live to travel through a broker: open files and their contents."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

# Calls whose result is a file's contents.
_CONTENT_METHODS = frozenset({"read", "read_bytes", "read_text", "getvalue", "readlines"})
_CONTENT_FUNCTIONS = frozenset(
    {"base64.b64encode", "base64.urlsafe_b64encode", "base64.encodebytes", "base64.standard_b64encode"}
)
_HTTP_CLIENTS = ("requests.", "httpx.", "urllib3.")
_OPEN = frozenset({"open", "io.open", "builtins.open"})
_MAX_DEPTH = 4


def is_open_file(model: ModuleModel, value: ast.expr, scope: Scope) -> bool:
    """`open(...)`, or a name bound to it (`with open(path) as handle`)."""
    if isinstance(value, ast.Call):
        return model.qualname(value.func, scope) in _OPEN
    if not isinstance(value, ast.Name):
        return False
    found = model.lookup(value.id, scope)
    if found is None:
        return False
    bindings, owner = found
    for binding in bindings:
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            return any(
                isinstance(item.optional_vars, ast.Name)
                and item.optional_vars.id == value.id
                and isinstance(item.context_expr, ast.Call)
                and model.qualname(item.context_expr.func, owner) in _OPEN
                for item in binding.items
            )
        if isinstance(binding, ast.Call) and model.qualname(binding.func, owner) in _OPEN:
            return True
    return False


def is_content(model: ModuleModel, value: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """File contents, bytes or base64 data: `f.read()`, `path.read_bytes()`, `b64encode(...)`."""
    if isinstance(value, ast.Constant):
        return isinstance(value.value, bytes)
    if isinstance(value, ast.Name) and depth < _MAX_DEPTH:
        found = model.lookup(value.id, scope)
        return found is not None and all(
            isinstance(b, ast.expr) and is_content(model, b, found[1], depth + 1) for b in found[0]
        )
    if isinstance(value, ast.Attribute) and value.attr == "content":
        return _is_http_response(model, value.value, scope)
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr in _CONTENT_METHODS and not value.args:
        return True
    return model.qualname(func, scope) in _CONTENT_FUNCTIONS


def _is_http_response(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """What `requests.get(...)` or an `httpx` call returns, whose `.content` is the body."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
            return False
        node, scope = found[0][0], found[1]
    return isinstance(node, ast.Call) and (model.qualname(node.func, scope) or "").startswith(_HTTP_CLIENTS)
