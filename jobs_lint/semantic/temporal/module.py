"""Temporal facts of one module: workflows, the code they run, activities, and the calls that
schedule activities or start workflows.

Workflow code is what a worker replays: every method of a `@workflow.defn` class (and of the
classes it inherits from in the same module) and every module-level function of the same module
they reach, transitively. Activities are `@activity.defn` functions and methods. Activities and
workflows defined in one module and used in another are found through `ModuleFacts.extra["temporal"]`
(`TemporalFacts`), merged per project by `project(index)`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from jobs_lint.semantic.scope import DefNode, Imported, Scope
from jobs_lint.semantic.side_effects import creating_side_effects, has_idempotency_guard
from jobs_lint.semantic.syntax import keyword_args
from jobs_lint.semantic.temporal import calls
from jobs_lint.semantic.temporal.calls import ActivityCall, WorkflowStart
from jobs_lint.semantic.temporal.names import (
    ACTIVITY_DEFN,
    HANDLER_DECORATORS,
    UNRESTRICTED,
    WORKFLOW,
    WORKFLOW_DEFN,
    public,
)
from jobs_lint.semantic.temporal.project import (
    ActivityInfo,
    TemporalFacts,
    TemporalProject,
    WorkflowInfo,
    project,
    scheduled_as,
)
from jobs_lint.semantic.temporal.reach import SameModuleReach, module_defs
from jobs_lint.semantic.temporal.registered import FunctionNode, wrapped_activities
from jobs_lint.semantic.temporal.timeouts import Timeouts, activity_timeouts, module_durations
from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel


# The module -------------------------------------------------------------------------------------


class TemporalModule:
    """Computed lazily from the module's semantic model (`model.temporal`)."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model

    @cached_property
    def imports_temporal(self) -> bool:
        return self.model.imports("temporalio")

    # Workflows -------------------------------------------------------------------------------------

    @cached_property
    def _workflows(self) -> dict[int, tuple[ast.ClassDef, WorkflowInfo]]:
        found: dict[int, tuple[ast.ClassDef, WorkflowInfo]] = {}
        if not self.imports_temporal:
            return found
        for node, scope in self.model.scopes.defs:
            if isinstance(node, ast.ClassDef):
                decorator = self._decorator(node, scope, WORKFLOW_DEFN)
                if decorator is not None:
                    found[id(node)] = (node, self._workflow_info(node, decorator, scope))
        return found

    def _workflow_info(self, node: ast.ClassDef, decorator: ast.expr, scope: Scope) -> WorkflowInfo:
        handlers = []
        inner = self.model.scope_of(node)
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = self._handler_kind(statement, inner)
                if kind is not None:
                    handlers.append((statement.name, kind))
        run = next((method for method, kind in handlers if kind == "run"), None)
        return WorkflowInfo(
            qualname=self.model.def_path(node.name, scope),
            name=_registered_name(decorator, node.name),
            run=run,
            handlers=tuple(handlers),
        )

    @property
    def workflows(self) -> list[tuple[ast.ClassDef, WorkflowInfo]]:
        """The workflow classes of this module."""
        return list(self._workflows.values())

    def workflow_of(self, node: ast.AST) -> WorkflowInfo | None:
        """The workflow a class defines, if it is one."""
        found = self._workflows.get(id(node))
        return found[1] if found else None

    def handler_kind(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        """run, signal, query, update or init for a decorated workflow method; validator for
        `@<update>.validator`; None otherwise."""
        return self._handler_kinds.get(id(node))

    @cached_property
    def _handler_kinds(self) -> dict[int, str]:
        kinds: dict[int, str] = {}
        for node, _ in self._workflows.values():
            inner = self.model.scope_of(node)
            for statement in node.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    kind = self._handler_kind(statement, inner)
                    if kind is not None:
                        kinds[id(statement)] = kind
        return kinds

    def _handler_kind(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> str | None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            kind = HANDLER_DECORATORS.get(self.qualname(target, scope) or "")
            if kind is not None:
                return kind
            if isinstance(target, ast.Attribute) and target.attr == "validator" and isinstance(target.value, ast.Name):
                return "validator"
        return None

    @cached_property
    def workflow_code(self) -> dict[int, WorkflowInfo]:
        """Function defs that run as workflow code -> a workflow that runs them."""
        code: dict[int, WorkflowInfo] = {}
        for node, info in self._workflows.values():
            for cls in self._with_local_bases(node):
                for statement in cls.body:
                    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        code.setdefault(id(statement), info)
                # An activity it names is scheduled, not run, by the workflow.
                for function in self.reached(cls, stop=self._activities.keys()):
                    code.setdefault(id(function), info)
        return code

    def in_workflow(self, defs: Sequence[DefNode]) -> WorkflowInfo | None:
        """The workflow whose code encloses a node, given its enclosing defs (`ctx.enclosing_defs`)."""
        if not self._workflows:
            return None
        for node in defs:
            found = self._workflows.get(id(node))
            if found is not None:
                return found[1]
            info = self.workflow_code.get(id(node))
            if info is not None:
                return info
        return None

    def _with_local_bases(self, node: ast.ClassDef) -> Iterator[ast.ClassDef]:
        seen: set[int] = set()
        pending = [node]
        while pending:
            cls = pending.pop()
            if id(cls) in seen:
                continue
            seen.add(id(cls))
            yield cls
            scope = self.model.def_scopes.get(id(cls))
            for base in cls.bases:
                local = self.module_defs.get(self.model.qualname(base, scope) or "")
                if isinstance(local, ast.ClassDef):
                    pending.append(local)

    # Activities ------------------------------------------------------------------------------------

    @cached_property
    def _activities(self) -> dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, ActivityInfo]]:
        found: dict[int, tuple[ast.FunctionDef | ast.AsyncFunctionDef, ActivityInfo]] = {}
        if not self.imports_temporal:
            return found
        for node, scope in self.model.scopes.defs:
            if isinstance(node, ast.ClassDef):
                continue
            decorator = self._decorator(node, scope, ACTIVITY_DEFN)
            if decorator is None:
                continue
            found[id(node)] = (node, self._activity_info(node, decorator, self.model.def_path(node.name, scope)))
        for node, defn, bound in wrapped_activities(self.model):
            if id(node) not in found:  # one def registered twice keeps its first name
                qualname = f"{self.model.module}.{node.name}"
                alias = f"{self.model.module}.{bound}"
                found[id(node)] = (
                    node,
                    self._activity_info(node, defn, qualname, alias if alias != qualname else None),
                )
        return found

    def _activity_info(
        self, node: FunctionNode, decorator: ast.expr, qualname: str, alias: str | None = None
    ) -> ActivityInfo:
        return ActivityInfo(
            qualname=qualname,
            name=_registered_name(decorator, node.name),
            is_async=isinstance(node, ast.AsyncFunctionDef),
            # `activity.heartbeat`, or anything named like a heartbeat helper (`Heartbeater`,
            # `@auto_heartbeater`, `handle.heartbeat`).
            heartbeats=self._names(node, lambda named: "heartbeat" in named.lower()),
            creates=self._unguarded_creation(node),
            alias=alias,
            completes_async=self._names(node, lambda named: named == "raise_complete_async"),
            module=self.model.module,
        )

    @property
    def activities(self) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, ActivityInfo]]:
        """The activities this module defines."""
        return list(self._activities.values())

    def activity_of(self, node: ast.AST) -> ActivityInfo | None:
        """The activity a def defines, if it is one."""
        found = self._activities.get(id(node))
        return found[1] if found else None

    def in_activity(self, defs: Sequence[DefNode]) -> ActivityInfo | None:
        """The activity whose body encloses a node (helpers nested in it included)."""
        if not self._activities:
            return None
        for node in reversed(defs):
            found = self._activities.get(id(node))
            if found is not None:
                return found[1]
        return None

    def _names(self, node: DefNode, test: Callable[[str], bool]) -> bool:
        """Whether the def or a same-module helper it reaches names something `test` accepts."""
        for function in (node, *self.reached(node)):
            for child in ast.walk(function):
                named = child.attr if isinstance(child, ast.Attribute) else getattr(child, "id", None)
                if isinstance(named, str) and test(named):
                    return True
        return False

    def _unguarded_creation(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        effects = creating_side_effects(node, self.model)
        if not effects or has_idempotency_guard(node, self.model):
            return None
        return effects[0].what

    # Lookups across the project --------------------------------------------------------------------

    @property
    def project(self) -> TemporalProject:
        return project(self.model.index)

    def activity_named(self, path: str) -> ActivityInfo | None:
        """The activity defined at a canonical path, in this module or another."""
        for _, info in self._activities.values():
            if path in (info.qualname, info.alias):
                return info
        return self.project.activity_at(path, self.model.index.canonical)

    def workflow_named(self, path: str) -> WorkflowInfo | None:
        """The workflow class defined at a path, in this module or another (re-exports too)."""
        for _, info in self._workflows.values():
            if info.qualname == path:
                return info
        return self.project.workflow_at(path, self.model.index.canonical)

    def activity_registered_as(self, name: str) -> ActivityInfo | None:
        for _, info in self._activities.values():
            if info.name == name:
                return info
        return self.project.activity_names.get(name)

    def workflow_registered_as(self, name: str) -> WorkflowInfo | None:
        for _, info in self._workflows.values():
            if info.name == name:
                return info
        return self.project.workflow_names.get(name)

    # Calls -------------------------------------------------------------------------------------

    def activity_call(self, call: ast.Call, scope: Scope | None) -> ActivityCall | None:
        """What a call schedules, if it is `workflow.execute_activity(...)` or a variant, or a
        client's standalone `execute_activity(...)`/`start_activity(...)`."""
        return calls.activity_call(self, call, scope)

    def workflow_start(self, call: ast.Call, scope: Scope | None) -> WorkflowStart | None:
        """The workflow a call starts, if it is a client's `start_workflow`/`execute_workflow`
        (on a known `Client`, or with a known workflow's run method) or a
        `WithStartWorkflowOperation(...)`."""
        return calls.workflow_start(self, call, scope)

    def is_client(self, node: ast.expr, scope: Scope | None) -> bool:
        """Whether an expression is a `temporalio.client.Client` as far as this module shows."""
        return calls.is_client(self, node, scope)

    @cached_property
    def _retry_options(self) -> tuple[frozenset[str], frozenset[str]]:
        return calls.retry_options(self)

    @cached_property
    def timeouts(self) -> Timeouts:
        """How long the activities this module schedules may run (`timeouts.activity_timeouts`)."""
        return activity_timeouts(self)

    def retries_bounded(self, activity: ActivityInfo) -> bool:
        """Whether some call in the project may bound the activity's retries (a retry policy,
        a schedule-to-close timeout, or options the linter cannot see)."""
        bounded = self._retry_options[0] | self.project.bounded
        return any(key in bounded for key in scheduled_as(activity))

    def non_retryable(self, error: str) -> bool:
        """Whether some retry policy in the project names this error type as non-retryable."""
        return error in self._retry_options[1] or error in self.project.non_retryable

    # Reach -------------------------------------------------------------------------------------

    @cached_property
    def module_defs(self) -> dict[str, DefNode]:
        """Module-level defs and classes (and classes' methods) by canonical path."""
        return module_defs(self.model)

    @cached_property
    def _reach(self) -> SameModuleReach:
        return SameModuleReach(self.model, self.module_defs)

    def reached(self, root: DefNode, stop: Collection[int] = ()) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Same-module functions a def or class reaches (`reach.SameModuleReach.reached`)."""
        return self._reach.reached(root, stop)

    # Helpers ---------------------------------------------------------------------------------------

    def opts_out(self, node: ast.With | ast.AsyncWith, scope: Scope | None) -> bool:
        """Whether a `with` block is `workflow.unsafe.sandbox_unrestricted()`: deliberate."""
        return any(
            isinstance(item.context_expr, ast.Call) and self.qualname(item.context_expr.func, scope) == UNRESTRICTED
            for item in node.items
        )

    @cached_property
    def workflow_module_name(self) -> str | None:
        """The module-level name `temporalio.workflow` is imported as (`workflow`, `wf`), for
        fixes that call it; None when it is not imported at module level."""
        for name, bindings in self.model.module_scope.bindings.items():
            if len(bindings) == 1 and isinstance(bindings[0], Imported) and public(bindings[0].qualname) == WORKFLOW:
                return name
        return None

    def qualname(self, node: ast.AST, scope: Scope | None) -> str | None:
        """`model.qualname` with Temporal SDK names given by their public path."""
        return public(self.model.qualname(node, scope))

    def _decorator(self, node: DefNode, scope: Scope, path: str) -> ast.expr | None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualname(target, scope) == path:
                return decorator
        return None

    def facts(self) -> TemporalFacts | None:
        bounded, non_retryable = self._retry_options
        timeouts = self.timeouts
        durations = module_durations(self.model) if self.imports_temporal else {}
        named = tuple(sorted((target, constant) for target, names in timeouts.named.items() for constant in names))
        if not (
            self._workflows
            or self._activities
            or bounded
            or non_retryable
            or timeouts.seconds
            or named
            or timeouts.unread
            or durations
        ):
            return None
        return TemporalFacts(
            workflows=tuple(info for _, info in self._workflows.values()),
            activities=tuple(info for _, info in self._activities.values()),
            bounded=tuple(sorted(bounded)),
            non_retryable=tuple(sorted(non_retryable)),
            timeouts=tuple(sorted(timeouts.seconds.items())),
            named_timeouts=named,
            unread_timeouts=tuple(sorted(timeouts.unread)),
            durations=tuple(sorted(durations.items())),
        )


def _registered_name(decorator: ast.expr, default: str) -> str | None:
    if isinstance(decorator, ast.Call):
        keywords = keyword_args(decorator)
        if "dynamic" in keywords and not (
            isinstance(keywords["dynamic"], ast.Constant) and keywords["dynamic"].value is False
        ):
            return None
        name = string_value(keywords.get("name")) or (string_value(decorator.args[0]) if decorator.args else None)
        if name is not None:
            return name
        if "name" in keywords:
            return None  # a computed name
    return default
