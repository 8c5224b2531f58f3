"""Values too large or too live to travel as a message or a result: open files, file contents,
in-memory files, base64 of binary data.

Brokers, result backends and Temporal's history (capped in size) all store them; these are the
values that pass a test with a small file and fail in production with a real one.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.semantic.syntax import final_name, own_nodes

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

BINARY_TYPES = frozenset({"bytes", "bytearray", "memoryview"})
ENCODERS = frozenset(
    f"base64.{name}"
    for name in ("b64encode", "standard_b64encode", "urlsafe_b64encode", "encodebytes", "b32encode", "b85encode")
)
OPENERS = frozenset({"open", "io.open", "gzip.open", "bz2.open", "lzma.open", "codecs.open", "aiofiles.open"})
MEMORY_FILES = frozenset({"io.BytesIO", "io.StringIO"})
_CONTENT_METHODS = frozenset({"read", "read_bytes", "read_text", "getvalue", "readlines"})
_HTTP_CLIENTS = ("requests.", "httpx.", "urllib3.")
_CONTAINER_CALLS = frozenset({"dict", "str", "bytes", "bytearray", "list", "tuple"})
_MAX_DEPTH = 6


def large_annotation(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """A return annotation of binary data: `bytes`, `bytes | None`, `Optional[bytes]`, `list[bytes]`."""
    if isinstance(node, ast.BinOp):
        return large_annotation(model, node.left, scope) or large_annotation(model, node.right, scope)
    if isinstance(node, ast.Subscript):
        inner = node.slice
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return any(large_annotation(model, part, scope) for part in parts)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in BINARY_TYPES
    return model.qualname(node, scope) in BINARY_TYPES


def large_value(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> str | None:
    """What large data an expression holds ("file contents", ...), or None."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, ast.Await):
        return large_value(model, node.value, scope, depth + 1)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return _first(model, node.elts, scope, depth)
    if isinstance(node, ast.Dict):
        return _first(model, node.values, scope, depth)
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or found[1] is model.module_scope:
            return None
        return _first(model, [b for b in found[0] if isinstance(b, ast.expr)], found[1], depth)
    if isinstance(node, ast.Call):
        return _call_value(model, node, scope, depth)
    return None


def _call_value(model: ModuleModel, call: ast.Call, scope: Scope, depth: int) -> str | None:
    func = call.func
    path = model.qualname(func, scope)
    if path in ENCODERS:
        return "base64 of binary data"
    if isinstance(func, ast.Attribute):
        attr, receiver = func.attr, func.value
        if attr in ("decode", "encode"):
            return large_value(model, receiver, scope, depth + 1)
        if attr in ("read_bytes", "read_text"):
            return "file contents"
        if attr in ("read", "readlines") and is_open_file(model, receiver, scope, depth):
            return "file contents"
        if attr == "getvalue" and _made_by(model, receiver, scope, MEMORY_FILES, depth):
            return "an in-memory file's contents"
    name = final_name(func)
    if name[:1].isupper() or path in _CONTAINER_CALLS:
        # An object or container built around the data carries it too.
        return _first(model, [*call.args, *(k.value for k in call.keywords)], scope, depth)
    return None


def is_open_file(model: ModuleModel, node: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """`open(...)`, or a name bound to it (`with open(path) as f`, `f = open(path)`)."""
    if isinstance(node, ast.Await):
        return is_open_file(model, node.value, scope, depth)
    if isinstance(node, ast.Call):
        func = node.func
        return model.qualname(func, scope) in OPENERS or (isinstance(func, ast.Attribute) and func.attr == "open")
    if not isinstance(node, ast.Name) or depth > _MAX_DEPTH:
        return False
    found = model.lookup(node.id, scope)
    if found is None:
        return False
    bindings, owner = found
    for binding in bindings:
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            for item in binding.items:
                target = item.optional_vars
                if isinstance(target, ast.Name) and target.id == node.id:
                    return is_open_file(model, item.context_expr, owner, depth + 1)
        elif isinstance(binding, ast.expr):
            return is_open_file(model, binding, owner, depth + 1)
    return False


def _made_by(model: ModuleModel, node: ast.expr, scope: Scope, makers: frozenset[str], depth: int) -> bool:
    if isinstance(node, ast.Call):
        return model.qualname(node.func, scope) in makers
    found = model.lookup(node.id, scope) if isinstance(node, ast.Name) and depth <= _MAX_DEPTH else None
    if found is None:
        return False
    return any(_made_by(model, b, found[1], makers, depth + 1) for b in found[0] if isinstance(b, ast.expr))


def _first(model: ModuleModel, nodes: list[ast.expr], scope: Scope, depth: int) -> str | None:
    for node in nodes:
        found = large_value(model, node, scope, depth + 1)
        if found is not None:
            return found
    return None


def is_content(model: ModuleModel, value: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """File contents, bytes or base64 data: `f.read()`, `path.read_bytes()`, `b64encode(...)`,
    a bytes literal, an HTTP response's `.content`. Broader than `large_value`: for arguments and
    results that cross a broker, where any such value is a mistake whatever its size."""
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
    return model.qualname(func, scope) in ENCODERS


def _is_http_response(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    """What `requests.get(...)` or an `httpx` call returns, whose `.content` is the body."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
            return False
        node, scope = found[0][0], found[1]
    return isinstance(node, ast.Call) and (model.qualname(node.func, scope) or "").startswith(_HTTP_CLIENTS)


def gathers_rows(model: ModuleModel, name: str, function: ast.AST, scope: Scope) -> bool:
    """Whether a list `name` is filled, in `function`, with what a loop reads from a file: a
    `.append()` or `.extend()` under `for row in csv.DictReader(f)` (any `*reader`), or under
    `for line in f` of an open file. Such a list grows with the file, not with the code."""
    for loop in own_nodes(function):
        if not isinstance(loop, (ast.For, ast.AsyncFor)) or not _reads_file(model, loop.iter, scope):
            continue
        for node in ast.walk(loop):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("append", "extend")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
            ):
                return True
    return False


def _reads_file(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "enumerate" and node.args:
        node = node.args[0]
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name.lower().endswith("reader") or name == "readlines":
            return True
    return is_open_file(model, node, scope)
