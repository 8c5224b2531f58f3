"""Small readings of the syntax tree that every part of the semantic layer shares: a function's
own nodes, a call's keywords, the last name of a dotted name."""

from __future__ import annotations

import ast

# Nodes whose bodies run in a scope of their own, not as part of the code around them.
NESTED = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda})
# Fields that never hold a node worth visiting (contexts, operators, flags).
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "type_comment", "kind", "conversion", "is_async", "level"})
_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: (), ast.Name: ()}


def own_nodes(root: ast.AST) -> list[ast.AST]:
    """The nodes of a function's own body (or of a statement), not of the defs, classes and
    lambdas nested in it. Every summarised function is read this way: fields are looked up once
    per node type."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = list(root.body) if isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)) else [root]
    push, pop, append = pending.append, pending.pop, found.append
    while pending:
        node = pop()
        kind = type(node)
        if kind in NESTED:
            continue
        append(node)
        fields = _FIELDS.get(kind)
        if fields is None:
            fields = _FIELDS[kind] = tuple(name for name in kind._fields if name not in _LEAF_FIELDS)
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                pending.extend(child for child in value if isinstance(child, ast.AST))
            elif isinstance(value, ast.AST):
                push(value)
    return found


def keyword_args(call: ast.Call) -> dict[str, ast.expr]:
    """A call's named keyword arguments (`**kwargs` left out: see `has_splat`)."""
    return {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg is not None}


def keyword_node(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def has_splat(call: ast.Call) -> bool:
    """Whether `**kwargs` may hold any keyword."""
    return any(keyword.arg is None for keyword in call.keywords)


def final_name(node: ast.AST | None) -> str:
    """`c` of `a.b.c`, `a` of `a`; empty for anything else."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def decorator_name(node: ast.expr) -> str:
    """The last name of a decorator, called or not: `task` of `@app.task(bind=True)`."""
    while isinstance(node, ast.Call):
        node = node.func
    return final_name(node)


def parameter_annotation(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    """The annotation of a function's parameter `name` (None: none, or no such parameter)."""
    args = function.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg == name:
            return arg.annotation
    return None
