"""Where a Celery task's options and body are written, for rules that point at them."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.syntax import keyword_node, own_nodes
from jobs_lint.semantic.values import UNKNOWN, literal, string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.facts import TaskInfo
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

TaskNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
# `ModuleFacts.extra` key: the longest literal countdown (seconds) a module schedules a task with.
COUNTDOWN = "celery.countdown"
# `ModuleFacts.extra` key: the module overrides `gen_task_name`, so tasks without `name=` are
# registered under names the linter cannot compute.
RENAMES_TASKS = "celery.gen_task_name"
SPLAT = "**"  # option key meaning "more options came from a dict the linter cannot see"
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
    scope = model.def_scopes.get(id(node))
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if scope is not None and model.celery.task_decorator(target, scope) is not None:
            if isinstance(decorator, ast.Call):  # the task decorator, not another one around it
                found = {k.arg: k.value for k in decorator.keywords if k.arg not in (None, "base")}
            break
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


def longest_countdown(model: ModuleModel) -> float | None:
    """The longest literal `countdown=` given to `apply_async`, `retry` or a signature here,
    as a keyword or in an options dict passed whole (`apply_async(args, **options)`)."""
    found: list[float] = []
    places: list[tuple[ast.AST, Scope]] = [(model.tree, model.module_scope)]
    places += [(node, model.scope_of(node)) for node, _ in model.scopes.defs if not isinstance(node, ast.ClassDef)]
    for root, scope in places:
        for node in own_nodes(root):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in _SCHEDULING:
                continue
            for keyword in node.keywords:
                value = keyword.value
                seconds: Any = literal(value) if keyword.arg == "countdown" else None
                if keyword.arg is None:
                    seconds = _options_countdown(model, value, scope)
                if is_number(seconds):
                    found.append(seconds)
    return max(found, default=None)


def _options_countdown(model: ModuleModel, node: ast.expr, scope: Scope) -> Any:
    """The `countdown` of an options dict: a literal, `dict(...)`, or a name bound once to one
    (and never changed by item, which could lower it)."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], (ast.Dict, ast.Call)):
            return None
        if any(
            isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == node.id
            for target, _, _ in model.scopes.item_assignments
        ):
            return None
        node = found[0][0]
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if string_value(key) == "countdown":
                return literal(value)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        countdown = keyword_node(node, "countdown")
        return literal(countdown) if countdown is not None else None
    return None


def decorator_base(decorator: ast.expr) -> ast.expr | None:
    """The `base=` of a task decorator call."""
    if isinstance(decorator, ast.Call):
        return keyword_node(decorator, "base")
    return None


def options_of(keywords: list[ast.keyword]) -> dict[str, Any]:
    """The options a task decorator's keywords give (`base=` apart; `**` may hold any)."""
    options: dict[str, Any] = {}
    for keyword in keywords:
        if keyword.arg is None:
            options[SPLAT] = UNKNOWN
        elif keyword.arg != "base":
            options[keyword.arg] = literal(keyword.value)
    return options


def renames_tasks(model: ModuleModel) -> bool:
    """A Celery subclass defining `gen_task_name`, or `app.gen_task_name = ...` assigned here."""
    apps = [
        node
        for node, _ in model.scopes.defs
        if isinstance(node, ast.ClassDef) and f"{model.module}.{node.name}" in model.local_app_classes
    ]
    if any(
        isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == "gen_task_name"
        for n in apps
        for s in n.body
    ):
        return True
    return any(
        isinstance(target, ast.Attribute) and target.attr == "gen_task_name"
        for target, _, _ in model.scopes.item_assignments
    )
