"""Where a Celery task's options and body are written, for rules that point at them."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.syntax import keyword_node
from jobs_lint.semantic.values import literal

if TYPE_CHECKING:
    from jobs_lint.semantic.facts import TaskInfo
    from jobs_lint.semantic.model import ModuleModel

TaskNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# `ModuleFacts.extra` key: the longest literal countdown (seconds) a module schedules a task with.
COUNTDOWN = "celery.countdown"
_SCHEDULING = frozenset({"apply_async", "retry", "set", "signature", "s", "si"})


def option_nodes(node: TaskNode, task: TaskInfo, model: ModuleModel) -> dict[str, ast.expr]:
    """The expressions a task's own options are written as: the keywords of its task decorator,
    or the class attributes of a task class."""
    found: dict[str, ast.expr] = {}
    if isinstance(node, ast.ClassDef):
        for name, bindings in model.scope_of(node).bindings.items():
            if isinstance(bindings[-1], ast.expr):
                found[name] = bindings[-1]
        return found
    own = set(task.options) - {"**"}
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call):
            written = {
                keyword.arg: keyword.value for keyword in decorator.keywords if keyword.arg not in (None, "base")
            }
            if set(written) == own:  # the task decorator, not another one around it
                return written
    return found


def body_of(node: TaskNode) -> FunctionNode | None:
    """The function that runs: the task function itself, or a task class's `run`."""
    if not isinstance(node, ast.ClassDef):
        return node
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == "run":
            return statement
    return None


def self_name(node: TaskNode, task: TaskInfo) -> str | None:
    """The parameter holding the task itself: `self` of a bound task or of a class's `run`."""
    function = body_of(node)
    if function is None or not (task.is_class or task.options.get("bind") is True):
        return None
    params = [*function.args.posonlyargs, *function.args.args]
    return params[0].arg if params else None


def retry_calls(node: TaskNode, task: TaskInfo) -> list[ast.Call]:
    """`self.retry(...)` calls in a task's body (nested helpers included)."""
    function = body_of(node)
    name = self_name(node, task)
    if function is None or name is None:
        return []
    return [
        call
        for call in ast.walk(function)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "retry"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == name
    ]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def longest_countdown(tree: ast.Module) -> float | None:
    """The longest literal `countdown=` given to `apply_async`, `retry` or a signature here."""
    found: list[float] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SCHEDULING:
            value = keyword_node(node, "countdown")
            seconds: Any = literal(value) if value is not None else None
            if is_number(seconds):
                found.append(seconds)
    return max(found, default=None)
