"""Compare-and-set state transitions: an idempotency guard that is itself a write.

`row = update_task_state(conn, task_id, READY, STARTED)` then `if row is None: raise ...` moves a
job's record to the next state only if it is still in the one expected: a re-run finds it
moved, stops there, and does not do the work after it again.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from jobs_lint.semantic.syntax import final_name

# `update_task_state`, `set_status`, `transition_order_state`, `claim_job`: a call that moves a record.
_TRANSITION = re.compile(r"^(update|set|transition|move|advance)_\w*(state|status)|^claim(_|$)", re.IGNORECASE)


def refused_transition_exits(nodes: Iterable[ast.AST]) -> list[ast.If]:
    """Among a function's own nodes, the early exits taken when a transition was refused:
    `if row is None: raise`, `if not claimed: return`, where the name holds what a
    transition call returned."""
    nodes = list(nodes)
    moved = {
        target.id
        for node in nodes
        if isinstance(node, ast.Assign) and _is_transition(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if not moved:
        return []
    return [
        node
        for node in nodes
        if isinstance(node, ast.If)
        and node.body
        and isinstance(node.body[-1], (ast.Return, ast.Raise))
        and _refused(node.test, moved)
    ]


def _is_transition(value: ast.expr) -> bool:
    if isinstance(value, ast.Await):
        value = value.value
    return isinstance(value, ast.Call) and _TRANSITION.search(final_name(value.func)) is not None


def _refused(test: ast.expr, names: set[str]) -> bool:
    """`name is None`, `not name`."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return isinstance(test.operand, ast.Name) and test.operand.id in names
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id in names
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    )
