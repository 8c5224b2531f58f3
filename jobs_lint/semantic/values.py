"""Literal values read from source without running it."""

from __future__ import annotations

import ast
from enum import Enum
from typing import Any


class Unknown(Enum):
    """A value the linter cannot see (a variable, a call, `**kwargs`). Never treat it as missing."""

    UNKNOWN = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown.UNKNOWN


def literal(node: ast.AST | None) -> Any:
    """The Python value of a literal expression; UNKNOWN for anything computed.

    Containers keep their literal parts, so `{"a": 1, "b": f()}` gives `{"a": 1, "b": UNKNOWN}`
    and rules can still read the parts they need.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        if any(isinstance(elt, ast.Starred) for elt in node.elts):
            return UNKNOWN
        items = [literal(elt) for elt in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):  # {**other}: some keys are invisible
            return UNKNOWN
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            key_value = literal(key)
            if key_value is UNKNOWN or isinstance(key_value, (list, dict)):
                return UNKNOWN
            result[key_value] = literal(value)
        return result
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = literal(node.operand)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
        return UNKNOWN
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add, ast.Sub)):
        # Durations are often written as `60 * 60`.
        left, right = literal(node.left), literal(node.right)
        if _is_number(left) and _is_number(right):
            if isinstance(node.op, ast.Mult):
                return left * right
            return left + right if isinstance(node.op, ast.Add) else left - right
    return UNKNOWN


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def string_value(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None
