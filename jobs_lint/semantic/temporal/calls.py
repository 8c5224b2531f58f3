"""Temporal calls in one module: activities scheduled, workflows started, clients, retry options."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jobs_lint.semantic.syntax import final_name, has_splat, keyword_args, parameter_annotation
from jobs_lint.semantic.temporal.names import (
    ACTIVITY_FUNCTIONS,
    CLIENT,
    CLIENT_FACTORIES,
    STANDALONE_ACTIVITY_METHODS,
    START_METHODS,
    START_OPERATION,
    TEST_ENVIRONMENTS,
    WORKFLOW,
    public,
)
from jobs_lint.semantic.temporal.project import ActivityInfo, WorkflowInfo
from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope
    from jobs_lint.semantic.temporal.module import TemporalModule

_MAX_DEPTH = 8

# A test on an expression seen from a scope, followed through names (`is_client`).
_Test = Callable[["TemporalModule", ast.expr, "Scope | None", int], bool]


@dataclass(frozen=True, slots=True)
class ActivityCall:
    """`workflow.execute_activity(...)` and its `start_`, `_method`, `_class` and local variants."""

    node: ast.Call
    function: str  # execute_activity, start_local_activity_method, ...
    local: bool
    target: ast.expr | None  # the activity argument
    activity: ActivityInfo | None  # the activity, when the linter knows it
    keywords: dict[str, ast.expr]
    opaque: bool  # `**options`: some keywords cannot be seen
    standalone: bool = False  # a client's `execute_activity`/`start_activity`, outside any workflow

    def keyword(self, name: str) -> ast.expr | None:
        return self.keywords.get(name)


@dataclass(frozen=True, slots=True)
class WorkflowStart:
    """A client's `start_workflow(...)`/`execute_workflow(...)`, or `WithStartWorkflowOperation(...)`."""

    node: ast.Call
    function: str  # start_workflow, execute_workflow, WithStartWorkflowOperation
    target: ast.expr | None  # the workflow argument (a run method or a name)
    workflow: WorkflowInfo | None  # the workflow, when the linter knows it
    keywords: dict[str, ast.expr]
    opaque: bool  # `**options`: some keywords cannot be seen

    def keyword(self, name: str) -> ast.expr | None:
        return self.keywords.get(name)


def activity_call(temporal: TemporalModule, call: ast.Call, scope: Scope | None) -> ActivityCall | None:
    """What a call schedules, if it is `workflow.execute_activity(...)` or a variant, or a
    client's standalone `execute_activity(...)`/`start_activity(...)`."""
    func = call.func
    name = final_name(func)
    if name not in ACTIVITY_FUNCTIONS:
        return None
    standalone = False
    if temporal.qualname(func, scope) != f"{WORKFLOW}.{name}":
        standalone = (
            name in STANDALONE_ACTIVITY_METHODS
            and isinstance(func, ast.Attribute)
            and is_client(temporal, func.value, scope)
        )
        if not standalone:
            return None
    target = call.args[0] if call.args else keyword_args(call).get("activity")
    return ActivityCall(
        node=call,
        function=name,
        local=ACTIVITY_FUNCTIONS[name],
        target=target,
        activity=_activity_target(temporal, target, scope, name.endswith("_class")),
        keywords=keyword_args(call),
        opaque=has_splat(call),
        standalone=standalone,
    )


def _activity_target(
    temporal: TemporalModule, target: ast.expr | None, scope: Scope | None, is_class: bool
) -> ActivityInfo | None:
    if target is None:
        return None
    name = string_value(target)
    if name is not None:
        return temporal.activity_registered_as(name)
    path = temporal.model.qualname(target, scope)
    found = temporal.activity_named(f"{path}.__call__" if is_class else path) if path is not None else None
    if found is None and isinstance(target, ast.Attribute):  # a method of an activities object
        cls = _instance_class(temporal.model, target.value, scope)
        return temporal.activity_named(f"{cls}.{target.attr}") if cls is not None else None
    return found


def _instance_class(model: ModuleModel, node: ast.expr, scope: Scope | None) -> str | None:
    """The class of an object made once by calling it (`acts = Activities(client)`), here or at
    the top of another module."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is not None and len(found[0]) == 1 and isinstance(found[0][0], ast.Call):
            return model.qualname(found[0][0].func, found[1])
    path = model.qualname(node, scope)
    return model.index.calls.instances.get(path) if path is not None else None


def workflow_start(temporal: TemporalModule, call: ast.Call, scope: Scope | None) -> WorkflowStart | None:
    """The workflow a call starts, if it is a client's `start_workflow`/`execute_workflow`
    (on a known `Client`, or with a known workflow's run method) or a
    `WithStartWorkflowOperation(...)`."""
    func = call.func
    keywords = keyword_args(call)
    target = call.args[0] if call.args else keywords.get("workflow")
    if isinstance(func, ast.Attribute) and func.attr in START_METHODS:
        workflow = _workflow_target(temporal, target, scope)
        if workflow is None and not is_client(temporal, func.value, scope):
            return None
        return WorkflowStart(call, func.attr, target, workflow, keywords, has_splat(call))
    if isinstance(func, (ast.Name, ast.Attribute)) and temporal.qualname(func, scope) == START_OPERATION:
        workflow = _workflow_target(temporal, target, scope)
        return WorkflowStart(call, "WithStartWorkflowOperation", target, workflow, keywords, has_splat(call))
    return None


def _workflow_target(temporal: TemporalModule, target: ast.expr | None, scope: Scope | None) -> WorkflowInfo | None:
    """The workflow whose run method (`Workflow.run`) or registered name an argument names."""
    name = string_value(target)
    if name is not None:
        return temporal.workflow_registered_as(name)
    if not isinstance(target, ast.Attribute):
        return None
    owner = temporal.model.qualname(target.value, scope)
    workflow = temporal.workflow_named(owner) if owner else None
    if workflow is not None and workflow.run in (None, target.attr):
        return workflow
    return None


def is_client(temporal: TemporalModule, node: ast.expr, scope: Scope | None, depth: int = 0) -> bool:
    """Whether an expression is a `temporalio.client.Client` as far as this module shows."""
    model = temporal.model
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Await):
        return is_client(temporal, node.value, scope, depth + 1)
    if isinstance(node, ast.Call):
        path = model.qualname(node.func, scope)
        if public(path) == CLIENT or public(path) in CLIENT_FACTORIES:
            return True
        local = temporal.module_defs.get(path or "")
        return isinstance(local, (ast.FunctionDef, ast.AsyncFunctionDef)) and _annotated_client(
            temporal, local.returns, temporal.model.def_scopes.get(id(local))
        )
    if isinstance(node, ast.Attribute):
        # `env.client` of a test environment.
        return node.attr == "client" and _is_environment(temporal, node.value, scope, depth + 1)
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None:
            annotation = _parameter_annotation(node.id, scope)
            return annotation is not None and _annotated_client(temporal, annotation, _defining_scope(node.id, scope))
        bindings, owner = found
        return any(_binding_is(temporal, binding, node.id, owner, depth, is_client) for binding in bindings)
    return False


def is_test_client(temporal: TemporalModule, node: ast.expr, scope: Scope | None) -> bool:
    """`env.client` of a `temporalio.testing.WorkflowEnvironment`: a server for tests and local
    runs, which nothing outside the program that made it can reach."""
    return isinstance(node, ast.Attribute) and node.attr == "client" and _is_environment(temporal, node.value, scope, 0)


def _is_environment(temporal: TemporalModule, node: ast.expr, scope: Scope | None, depth: int) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, ast.Await):
        return _is_environment(temporal, node.value, scope, depth + 1)
    if isinstance(node, ast.Call):
        return temporal.qualname(node.func, scope) in TEST_ENVIRONMENTS
    if isinstance(node, ast.Name):
        found = temporal.model.lookup(node.id, scope)
        if found is None:
            annotation = _parameter_annotation(node.id, scope)
            return annotation is not None and temporal.qualname(annotation, _defining_scope(node.id, scope)) == (
                "temporalio.testing.WorkflowEnvironment"
            )
        bindings, owner = found
        return any(_binding_is(temporal, binding, node.id, owner, depth, _is_environment) for binding in bindings)
    return False


def _binding_is(temporal: TemporalModule, binding: object, name: str, owner: Scope, depth: int, test: _Test) -> bool:
    if isinstance(binding, ast.expr):
        return test(temporal, binding, owner, depth + 1)
    if isinstance(binding, (ast.With, ast.AsyncWith)):
        # `async with await WorkflowEnvironment.start_local() as env`
        return any(
            isinstance(item.optional_vars, ast.Name)
            and item.optional_vars.id == name
            and test(temporal, item.context_expr, owner, depth + 1)
            for item in binding.items
        )
    return False


def _annotated_client(temporal: TemporalModule, annotation: ast.expr | None, scope: Scope | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.BinOp):  # Client | None
        return _annotated_client(temporal, annotation.left, scope) or _annotated_client(
            temporal, annotation.right, scope
        )
    if isinstance(annotation, ast.Subscript):  # Optional[Client], Awaitable[Client]
        return _annotated_client(temporal, annotation.slice, scope)
    return temporal.qualname(annotation, scope) == CLIENT


def retry_options(temporal: TemporalModule) -> tuple[frozenset[str], frozenset[str]]:
    """Activities (by path or name) that some call here schedules with options that may bound
    their retries, and the error types some retry policy here names as non-retryable."""
    bounded: set[str] = set()
    non_retryable: set[str] = set()
    if not temporal.imports_temporal:
        return frozenset(), frozenset()
    for call, scope in module_calls(temporal.model):
        for keyword in call.keywords:
            if keyword.arg == "non_retryable_error_types" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                non_retryable.update(name for name in map(string_value, keyword.value.elts) if name)
        scheduled = activity_call(temporal, call, scope)
        if scheduled is None or scheduled.target is None:
            continue
        if (
            scheduled.opaque
            or "retry_policy" in scheduled.keywords
            or "schedule_to_close_timeout" in scheduled.keywords
        ):
            target = string_value(scheduled.target) or temporal.model.qualname(scheduled.target, scope)
            if target is not None:
                bounded.add(target)
    return frozenset(bounded), frozenset(non_retryable)


def module_calls(model: ModuleModel) -> Iterator[tuple[ast.Call, Scope]]:
    """Every call in the module, with the scope it runs in."""
    pending: list[tuple[ast.AST, Scope]] = [(model.tree, model.module_scope)]
    while pending:
        node, scope = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                pending.append((child, model.scope_of(child)))
                continue
            if isinstance(child, ast.Call):
                yield child, scope
            pending.append((child, scope))


def _defining_scope(name: str, scope: Scope | None) -> Scope | None:
    """The scope around the def that has `name` as a parameter (its annotation is read there)."""
    current = scope
    while current is not None:
        if name in current.params:
            return current.parent
        current = current.parent
    return None


def _parameter_annotation(name: str, scope: Scope | None) -> ast.expr | None:
    current = scope
    while current is not None:
        if name in current.params:
            node = current.node
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return None
            return parameter_annotation(node, name)
        current = current.parent
    return None
