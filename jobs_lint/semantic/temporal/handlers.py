"""When a workflow's signal and update handlers can outlive its run method.

A handler is unfinished at workflow exit only if it can wait across workflow tasks (an activity,
a timer, a condition) and the run method can return while it waits. These questions are read
from one workflow class, its same-module code, and the Temporal names they use.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobs_lint.semantic.syntax import NESTED, own_nodes

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

ALL_HANDLERS_FINISHED = "temporalio.workflow.all_handlers_finished"
WAIT_CONDITION = "temporalio.workflow.wait_condition"
SLEEPS = frozenset({"asyncio.sleep", "temporalio.workflow.sleep"})
FOREVER = "asyncio.Future"

Method = ast.FunctionDef | ast.AsyncFunctionDef


class WorkflowHandlers:
    def __init__(self, model: ModuleModel, cls: ast.ClassDef) -> None:
        self.model = model
        self.cls = cls
        self.scope = model.scope_of(cls)
        self.methods = {m.name: m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def default_policy(self, handler: Method) -> bool:
        """No `unfinished_policy=` (or the default written out), so abandoning it is not a choice."""
        for decorator in handler.decorator_list:
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:
                    if keyword.arg is None:
                        return False
                    if keyword.arg == "unfinished_policy":
                        policy = self.model.temporal.qualname(keyword.value, self.scope) or ""
                        return policy.endswith(".WARN_AND_ABANDON")
        return True

    def suspends(self, handler: Method) -> bool:
        """Whether the handler can wait across workflow tasks, itself or in a method of its class
        it awaits. Putting into an unbounded queue and `sleep(0)` only yield."""
        pending, seen = [handler], {id(handler)}
        while pending:
            for node in own_nodes(pending.pop()):
                if isinstance(node, (ast.AsyncWith, ast.AsyncFor)):
                    return True
                if not isinstance(node, ast.Await):
                    continue
                callee = self._self_method(node.value)
                if callee is None:
                    if not self._only_yields(node.value):
                        return True
                elif id(callee) not in seen:
                    seen.add(id(callee))
                    pending.append(callee)
        return False

    def releases_run(self, handler: Method, run: Method) -> bool:
        """Whether the handler's last act, after its last wait, sets state the run method waits
        for: by the time run resumes, the handler has returned."""
        watched = self._watched_by(run)
        tail: list[ast.stmt] = []
        for statement in reversed(handler.body):
            if any(isinstance(n, (ast.Await, ast.AsyncWith, ast.AsyncFor)) for n in own_nodes(statement)):
                break
            tail.append(statement)
        return any(_set_self_attribute(node) & watched for statement in tail for node in own_nodes(statement))

    def released_by_run(self, handler: Method, run: Method) -> bool:
        """Whether the handler only waits for state the run method sets and then goes on waiting
        itself (`self.started = True`, `self.started.set()` then `await ...`): the handler is
        done before run returns."""
        watched: set[str] = set()
        for node in own_nodes(handler):
            if isinstance(node, (ast.AsyncWith, ast.AsyncFor)):
                return False
            if isinstance(node, ast.Await):
                waited = _waited_state(node.value, self._is_wait_condition)
                if not waited:
                    return False
                watched |= waited
        for position, statement in enumerate(run.body):
            if any(_set_self_attribute(node) & watched for node in own_nodes(statement)):
                return any(isinstance(n, ast.Await) for later in run.body[position + 1 :] for n in own_nodes(later))
        return False

    def never_returns(self, run: Method) -> bool:
        """A run method that waits forever (`await asyncio.Future()`, a condition that is never
        true) or loops forever: only termination ends it, which abandons handlers silently."""
        for statement in run.body:
            if isinstance(statement, ast.While) and _is_true(statement.test) and not _exits(statement):
                return True
            value = statement.value if isinstance(statement, (ast.Expr, ast.Return)) else None
            if isinstance(value, ast.Await) and self._forever(value.value):
                return True
        return False

    def waits_for_handlers(self, code: list[Method]) -> bool:
        """Whether workflow code mentions `workflow.all_handlers_finished`."""
        for function in code:
            scope = self.model.scope_of(function)
            for node in ast.walk(function):
                named = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
                if (
                    named == "all_handlers_finished"
                    and self.model.temporal.qualname(node, scope) == ALL_HANDLERS_FINISHED
                ):
                    return True
        return False

    def _self_method(self, value: ast.expr) -> Method | None:
        func = value.func if isinstance(value, ast.Call) else None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            return self.methods.get(func.attr)
        return None

    def _only_yields(self, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call):
            return False
        func = value.func
        if isinstance(func, ast.Attribute) and func.attr == "put":
            return True
        path = self.model.temporal.qualname(func, self.scope)
        if path == WAIT_CONDITION:  # `lambda: True`
            condition = value.args[0] if value.args else None
            return isinstance(condition, ast.Lambda) and _is_true(condition.body)
        return path in SLEEPS and bool(value.args) and _is_zero(value.args[0])

    def _forever(self, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call):
            return False
        path = self.model.temporal.qualname(value.func, self.scope)
        if path == FOREVER:
            return not value.args
        if path != WAIT_CONDITION or any(k.arg == "timeout" for k in value.keywords) or len(value.args) != 1:
            return False
        condition = value.args[0]
        return (
            isinstance(condition, ast.Lambda) and isinstance(condition.body, ast.Constant) and not condition.body.value
        )

    def _watched_by(self, run: Method) -> set[str]:
        """`self` attributes the run method's `workflow.wait_condition(lambda: ...)` read."""
        watched: set[str] = set()
        for node in own_nodes(run):
            if isinstance(node, ast.Call) and self._is_wait_condition(node):
                watched |= _self_attributes(node.args[0])
        return watched

    def _is_wait_condition(self, call: ast.Call) -> bool:
        """`workflow.wait_condition(lambda: ...)`."""
        return (
            bool(call.args)
            and isinstance(call.args[0], ast.Lambda)
            and self.model.temporal.qualname(call.func, self.scope) == WAIT_CONDITION
        )


def _self_attributes(condition: ast.expr) -> set[str]:
    """The `self.x` a `lambda: ...` condition reads."""
    body = condition.body if isinstance(condition, ast.Lambda) else condition
    return {
        node.attr
        for node in ast.walk(body)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"
    }


def _waited_state(value: ast.expr, is_wait_condition: Callable[[ast.Call], bool]) -> set[str]:
    """The `self` attributes an awaited expression waits on: `workflow.wait_condition(lambda:
    self.x)`, `self.event.wait()`, `self.future`; empty for anything else."""
    if isinstance(value, ast.Call) and is_wait_condition(value):
        return _self_attributes(value.args[0])
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "wait":
        value = value.func.value
    return {value.attr} if isinstance(value, ast.Attribute) and _is_self_attribute(value) else set()


def _set_self_attribute(node: ast.AST) -> set[str]:
    """The `self` attributes a statement part sets: `self.x = ...`, `self.x.set()`,
    `self.x.set_result(...)`."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("set", "set_result")
    ):
        targets = [node.func.value]
    return {t.attr for t in targets if isinstance(t, ast.Attribute) and _is_self_attribute(t)}


def _is_self_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _exits(loop: ast.While) -> bool:
    """Whether a loop can end: a `break` of its own, or a `return` or `raise` in it."""
    pending: list[ast.AST] = list(loop.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Return, ast.Raise, ast.Break)):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "continue_as_new":
            return True
        if not isinstance(node, (*NESTED, ast.For, ast.AsyncFor, ast.While)):
            pending.extend(ast.iter_child_nodes(node))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            # A `break` in an inner loop ends that loop only; a `return` still ends the run.
            pending.extend(n for n in ast.walk(node) if isinstance(n, (ast.Return, ast.Raise, ast.Call)))
    return False


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and bool(node.value)


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0
