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
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from jobs_lint.semantic.scope import DefNode, Imported, Scope
from jobs_lint.semantic.side_effects import creating_side_effects, has_idempotency_guard
from jobs_lint.semantic.values import literal, string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel

FACTS_KEY = "temporal"  # the key of these facts in `ModuleFacts.extra`

WORKFLOW = "temporalio.workflow"
WORKFLOW_DEFN = "temporalio.workflow.defn"
ACTIVITY_DEFN = "temporalio.activity.defn"
CLIENT = "temporalio.client.Client"
# `with workflow.unsafe.sandbox_unrestricted():` marks code its author knows the sandbox rejects.
UNRESTRICTED = "temporalio.workflow.unsafe.sandbox_unrestricted"
# Decorators of workflow methods -> the kind of method they make.
HANDLER_DECORATORS = {
    "temporalio.workflow.run": "run",
    "temporalio.workflow.signal": "signal",
    "temporalio.workflow.query": "query",
    "temporalio.workflow.update": "update",
    "temporalio.workflow.init": "init",
}
# `workflow.<name>(...)` that schedules an activity -> whether it is a local activity.
ACTIVITY_FUNCTIONS = {
    f"{verb}_{local}activity{variant}": bool(local)
    for verb in ("execute", "start")
    for local in ("", "local_")
    for variant in ("", "_method", "_class")
}
# Client methods that run an activity outside any workflow.
STANDALONE_ACTIVITY_METHODS = frozenset({"execute_activity", "start_activity"})
# Client methods and constructors that start a workflow.
START_METHODS = frozenset({"start_workflow", "execute_workflow"})
START_OPERATION = "temporalio.client.WithStartWorkflowOperation"
# What returns a connected client, besides `Client(...)` itself.
CLIENT_FACTORIES = frozenset({"temporalio.client.Client.connect", "temporalio.activity.client"})
TEST_ENVIRONMENTS = frozenset(
    {
        "temporalio.testing.WorkflowEnvironment.start_local",
        "temporalio.testing.WorkflowEnvironment.start_time_skipping",
        "temporalio.testing.WorkflowEnvironment.from_client",
    }
)
_MAX_DEPTH = 8

# A test on an expression seen from a scope, followed through names (`is_client`).
_Test = Callable[[ast.expr, "Scope | None", int], bool]


# What differs between a workflow's first run and its replay -> what to use instead.
_NOW = "`workflow.now()`"
_TIME = "`workflow.time()`"
_RANDOM = "`workflow.random()`"
_CONFIG = "workflow input, or an activity that reads it"
REPLAY_HAZARDS = {
    "datetime.datetime.now": _NOW,
    "datetime.datetime.utcnow": _NOW,
    "datetime.datetime.today": _NOW,
    "datetime.date.today": "`workflow.now().date()`",
    "time.time": _TIME,
    "time.time_ns": "`workflow.time_ns()`",
    "time.monotonic": _TIME,
    "time.monotonic_ns": "`workflow.time_ns()`",
    "time.perf_counter": _TIME,
    "time.perf_counter_ns": "`workflow.time_ns()`",
    "time.process_time": _TIME,
    "time.sleep": "`await asyncio.sleep(...)` or `await workflow.sleep(...)` (a durable timer)",
    "uuid.uuid1": "`workflow.uuid4()`",
    "uuid.uuid4": "`workflow.uuid4()`",
    "os.getpid": "`workflow.info()` (a replay runs on any worker process)",
    "os.getppid": "`workflow.info()` (a replay runs on any worker process)",
    "os.urandom": _RANDOM,
    "os.getenv": _CONFIG,
    "os.environ": _CONFIG,
    "pendulum.now": _NOW,
    "pendulum.today": _NOW,
    "arrow.now": _NOW,
    "arrow.utcnow": _NOW,
    "django.utils.timezone.now": _NOW,
}
# Whole modules whose every function differs between runs.
_RANDOM_MODULES = {"random.": _RANDOM, "secrets.": "an activity (or `workflow.random()` for non-secret values)"}
_DETERMINISTIC = frozenset({"secrets.compare_digest"})
# Time functions that read the clock only when called without a time argument.
_CLOCK_DEFAULTS = {
    "time.localtime": _NOW,
    "time.gmtime": _NOW,
    "time.ctime": _NOW,
    "time.asctime": _NOW,
    "time.strftime": _NOW,  # strftime(format) reads the clock; strftime(format, t) does not
}


def replay_hazard(qualname: str | None, call: ast.Call | None = None) -> str | None:
    """For a name a workflow calls or reads, what to use instead if its value changes between a
    workflow's first run and its replay (the clock, randomness, the environment); else None.
    `call` lets seeded `random.Random(seed)` and `time.gmtime(t)` pass."""
    if qualname is None or qualname in _DETERMINISTIC:
        return None
    found = REPLAY_HAZARDS.get(qualname)
    if found is not None:
        return found
    clock = _CLOCK_DEFAULTS.get(qualname)
    if clock is not None:
        needed = 2 if qualname == "time.strftime" else 1
        return clock if call is None or len(call.args) < needed else None
    for prefix, instead in _RANDOM_MODULES.items():
        if qualname.startswith(prefix):
            if qualname == "random.Random" and call is not None and (call.args or call.keywords):
                return None  # seeded: the same sequence on every replay
            return instead
    return None


# Cross-module facts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityInfo:
    """An `@activity.defn` function or method."""

    qualname: str  # module.function or module.Class.method
    name: str | None  # the name it is registered under; None for a dynamic activity
    is_async: bool
    # It calls `activity.heartbeat` (or a heartbeat helper), itself or in a same-module helper it
    # reaches, or completes asynchronously.
    heartbeats: bool
    # What it creates each time it runs ("an HTTP POST", ...) with no idempotency guard, if anything.
    creates: str | None = None


@dataclass(frozen=True, slots=True)
class WorkflowInfo:
    """A `@workflow.defn` class."""

    qualname: str  # module.Class
    name: str | None  # the name it is registered under; None for a dynamic workflow
    run: str | None  # the name of its `@workflow.run` method
    handlers: tuple[tuple[str, str], ...] = ()  # (method, kind): run, signal, query, update, init


@dataclass(frozen=True, slots=True)
class TemporalFacts:
    workflows: tuple[WorkflowInfo, ...] = ()
    activities: tuple[ActivityInfo, ...] = ()
    # Activities (by path or registered name) some call schedules with a `retry_policy`, a
    # `schedule_to_close_timeout` or options the linter cannot see: their retries may be bounded.
    bounded: tuple[str, ...] = ()
    # Error type names listed in a `non_retryable_error_types=[...]`.
    non_retryable: tuple[str, ...] = ()
    # (activity path or registered name, seconds): how long calls without a `heartbeat_timeout`
    # let it run (`TemporalModule.timeouts`).
    timeouts: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True)
class TemporalProject:
    """Every workflow and activity of the project, by where it is defined and by name."""

    activities: dict[str, ActivityInfo] = field(default_factory=dict)
    activity_names: dict[str, ActivityInfo] = field(default_factory=dict)
    workflows: dict[str, WorkflowInfo] = field(default_factory=dict)
    workflow_names: dict[str, WorkflowInfo] = field(default_factory=dict)
    bounded: set[str] = field(default_factory=set)
    non_retryable: set[str] = field(default_factory=set)
    timeouts: dict[str, float] = field(default_factory=dict)

    def add(self, facts: TemporalFacts) -> None:
        self.bounded.update(facts.bounded)
        for target, seconds in facts.timeouts:
            self.timeouts[target] = max(seconds, self.timeouts.get(target, 0.0))
        self.non_retryable.update(facts.non_retryable)
        for activity in facts.activities:
            self.activities[activity.qualname] = activity
            if activity.name is not None:
                self.activity_names[activity.name] = activity
        for workflow in facts.workflows:
            self.workflows[workflow.qualname] = workflow
            if workflow.name is not None:
                self.workflow_names[workflow.name] = workflow


_projects: WeakKeyDictionary[ProjectIndex, TemporalProject] = WeakKeyDictionary()


def project(index: ProjectIndex) -> TemporalProject:
    """The Temporal part of the project index, merged once per index."""
    found = _projects.get(index)
    if found is None:
        found = TemporalProject()
        for module in index.modules.values():
            facts = module.extra.get(FACTS_KEY)
            if isinstance(facts, TemporalFacts):
                found.add(facts)
        _projects[index] = found
    return found


# Calls ---------------------------------------------------------------------------------------------


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


# The module -------------------------------------------------------------------------------------


class TemporalModule:
    """Computed lazily from the module's semantic model (`model.temporal`)."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model

    @cached_property
    def imports_temporal(self) -> bool:
        return any(
            isinstance(binding, Imported) and binding.qualname.split(".")[0] == "temporalio"
            for scope in (self.model.module_scope, *self.model.scopes.by_node.values())
            for bindings in scope.bindings.values()
            for binding in bindings
        ) or any(module.split(".")[0] == "temporalio" for module in self.model.scopes.star_imports)

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
            qualname=self._path(node.name, scope),
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
            scope = self._def_scopes.get(id(cls))
            for base in cls.bases:
                local = self._module_defs.get(self.model.qualname(base, scope) or "")
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
            found[id(node)] = (
                node,
                ActivityInfo(
                    qualname=self._path(node.name, scope),
                    name=_registered_name(decorator, node.name),
                    is_async=isinstance(node, ast.AsyncFunctionDef),
                    heartbeats=self._heartbeats(node),
                    creates=self._unguarded_creation(node),
                ),
            )
        return found

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

    def _heartbeats(self, node: DefNode) -> bool:
        """Whether an activity heartbeats: it or a same-module helper it reaches names
        `activity.heartbeat`, anything else named like a heartbeat helper (`Heartbeater`,
        `@auto_heartbeater`, `handle.heartbeat`), or completes asynchronously."""
        for function in (node, *self.reached(node)):
            for child in ast.walk(function):
                named = child.attr if isinstance(child, ast.Attribute) else getattr(child, "id", None)
                if isinstance(named, str) and ("heartbeat" in named.lower() or named == "raise_complete_async"):
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
            if info.qualname == path:
                return info
        return self.project.activities.get(path)

    def workflow_named(self, path: str) -> WorkflowInfo | None:
        """The workflow class defined at a canonical path, in this module or another."""
        for _, info in self._workflows.values():
            if info.qualname == path:
                return info
        return self.project.workflows.get(path)

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

    # Call sites ------------------------------------------------------------------------------------

    def activity_call(self, call: ast.Call, scope: Scope | None) -> ActivityCall | None:
        """What a call schedules, if it is `workflow.execute_activity(...)` or a variant, or a
        client's standalone `execute_activity(...)`/`start_activity(...)`."""
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name not in ACTIVITY_FUNCTIONS:
            return None
        standalone = False
        if self.qualname(func, scope) != f"{WORKFLOW}.{name}":
            standalone = (
                name in STANDALONE_ACTIVITY_METHODS
                and isinstance(func, ast.Attribute)
                and self.is_client(func.value, scope)
            )
            if not standalone:
                return None
        target = call.args[0] if call.args else _keywords(call).get("activity")
        return ActivityCall(
            node=call,
            function=name,
            local=ACTIVITY_FUNCTIONS[name],
            target=target,
            activity=self._activity_target(target, scope, name.endswith("_class")),
            keywords=_keywords(call),
            opaque=_opaque(call),
            standalone=standalone,
        )

    def _activity_target(self, target: ast.expr | None, scope: Scope | None, is_class: bool) -> ActivityInfo | None:
        if target is None:
            return None
        name = string_value(target)
        if name is not None:
            return self.activity_registered_as(name)
        path = self.model.qualname(target, scope)
        if path is None:
            return None
        return self.activity_named(f"{path}.__call__" if is_class else path)

    def workflow_start(self, call: ast.Call, scope: Scope | None) -> WorkflowStart | None:
        """The workflow a call starts, if it is a client's `start_workflow`/`execute_workflow`
        (on a known `Client`, or with a known workflow's run method) or a
        `WithStartWorkflowOperation(...)`."""
        func = call.func
        keywords = _keywords(call)
        target = call.args[0] if call.args else keywords.get("workflow")
        if isinstance(func, ast.Attribute) and func.attr in START_METHODS:
            workflow = self._workflow_target(target, scope)
            if workflow is None and not self.is_client(func.value, scope):
                return None
            return WorkflowStart(call, func.attr, target, workflow, keywords, _opaque(call))
        if isinstance(func, (ast.Name, ast.Attribute)) and self.qualname(func, scope) == START_OPERATION:
            workflow = self._workflow_target(target, scope)
            return WorkflowStart(call, "WithStartWorkflowOperation", target, workflow, keywords, _opaque(call))
        return None

    def _workflow_target(self, target: ast.expr | None, scope: Scope | None) -> WorkflowInfo | None:
        """The workflow whose run method (`Workflow.run`) or registered name an argument names."""
        name = string_value(target)
        if name is not None:
            return self.workflow_registered_as(name)
        if not isinstance(target, ast.Attribute):
            return None
        owner = self.model.qualname(target.value, scope)
        workflow = self.workflow_named(owner) if owner else None
        if workflow is not None and workflow.run in (None, target.attr):
            return workflow
        return None

    def is_client(self, node: ast.expr, scope: Scope | None, depth: int = 0) -> bool:
        """Whether an expression is a `temporalio.client.Client` as far as this module shows."""
        model = self.model
        if depth > _MAX_DEPTH:
            return False
        if isinstance(node, ast.Await):
            return self.is_client(node.value, scope, depth + 1)
        if isinstance(node, ast.Call):
            path = model.qualname(node.func, scope)
            if _public(path) == CLIENT or _public(path) in CLIENT_FACTORIES:
                return True
            local = self._module_defs.get(path or "")
            return isinstance(local, (ast.FunctionDef, ast.AsyncFunctionDef)) and self._annotated_client(
                local.returns, self._def_scopes.get(id(local))
            )
        if isinstance(node, ast.Attribute):
            # `env.client` of a test environment.
            return node.attr == "client" and self._is_environment(node.value, scope, depth + 1)
        if isinstance(node, ast.Name):
            found = model.lookup(node.id, scope)
            if found is None:
                annotation = _parameter_annotation(node.id, scope)
                return annotation is not None and self._annotated_client(annotation, _defining_scope(node.id, scope))
            bindings, owner = found
            return any(self._binding_is(binding, node.id, owner, depth, self.is_client) for binding in bindings)
        return False

    def _is_environment(self, node: ast.expr, scope: Scope | None, depth: int) -> bool:
        if depth > _MAX_DEPTH:
            return False
        if isinstance(node, ast.Await):
            return self._is_environment(node.value, scope, depth + 1)
        if isinstance(node, ast.Call):
            return self.qualname(node.func, scope) in TEST_ENVIRONMENTS
        if isinstance(node, ast.Name):
            found = self.model.lookup(node.id, scope)
            if found is None:
                annotation = _parameter_annotation(node.id, scope)
                return annotation is not None and self.qualname(annotation, _defining_scope(node.id, scope)) == (
                    "temporalio.testing.WorkflowEnvironment"
                )
            bindings, owner = found
            return any(self._binding_is(binding, node.id, owner, depth, self._is_environment) for binding in bindings)
        return False

    def _binding_is(self, binding: object, name: str, owner: Scope, depth: int, test: _Test) -> bool:
        if isinstance(binding, ast.expr):
            return test(binding, owner, depth + 1)
        if isinstance(binding, (ast.With, ast.AsyncWith)):
            # `async with await WorkflowEnvironment.start_local() as env`
            return any(
                isinstance(item.optional_vars, ast.Name)
                and item.optional_vars.id == name
                and test(item.context_expr, owner, depth + 1)
                for item in binding.items
            )
        return False

    def _annotated_client(self, annotation: ast.expr | None, scope: Scope | None) -> bool:
        if annotation is None:
            return False
        if isinstance(annotation, ast.BinOp):  # Client | None
            return self._annotated_client(annotation.left, scope) or self._annotated_client(annotation.right, scope)
        if isinstance(annotation, ast.Subscript):  # Optional[Client], Awaitable[Client]
            return self._annotated_client(annotation.slice, scope)
        return self.qualname(annotation, scope) == CLIENT

    # Reach -------------------------------------------------------------------------------------

    @cached_property
    def _module_defs(self) -> dict[str, DefNode]:
        """Module-level defs and classes (and classes' methods) by canonical path."""
        found: dict[str, DefNode] = {}
        for node, scope in self.model.scopes.defs:
            if scope.node is None:
                found[f"{self.model.module}.{node.name}"] = node
        return found

    @cached_property
    def _module_function_names(self) -> frozenset[str]:
        return frozenset(name.rpartition(".")[2] for name, node in self._module_defs.items() if not _is_class(node))

    @cached_property
    def _def_scopes(self) -> dict[int, Scope]:
        """The scope each def or class is defined in."""
        return {id(node): scope for node, scope in self.model.scopes.defs}

    def reached(self, root: DefNode, stop: Collection[int] = ()) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Same-module functions a def or class reaches, transitively: module-level functions it
        names, and for methods, the methods of its class it calls through `self`. Defs whose id
        is in `stop` are neither reached nor followed."""
        functions = self._module_function_names
        found: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        pending: list[DefNode] = [root]
        if isinstance(root, ast.ClassDef):
            pending = [s for s in root.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        seen = {id(root), *(id(node) for node in pending)}
        while pending:
            node = pending.pop()
            owner = self._owner_class(node)
            scope = self.model.scope_of(node)
            for child in ast.walk(node):
                target: DefNode | None = None
                if isinstance(child, ast.Name) and child.id in functions:
                    target = self._module_defs.get(self.model.qualname(child, scope) or "")
                elif (
                    owner is not None
                    and isinstance(child, ast.Attribute)
                    and isinstance(child.value, ast.Name)
                    and child.value.id in ("self", "cls")
                ):
                    target = _method(owner, child.attr)
                if (
                    isinstance(target, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and id(target) not in seen
                    and id(target) not in stop
                ):
                    seen.add(id(target))
                    found.append(target)
                    pending.append(target)
        return found

    def _owner_class(self, node: DefNode) -> ast.ClassDef | None:
        scope = self._def_scopes.get(id(node))
        owner = scope.node if scope is not None else None
        return owner if isinstance(owner, ast.ClassDef) else None

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
            if len(bindings) == 1 and isinstance(bindings[0], Imported) and _public(bindings[0].qualname) == WORKFLOW:
                return name
        return None

    def qualname(self, node: ast.AST, scope: Scope | None) -> str | None:
        """`model.qualname` with Temporal SDK names given by their public path."""
        return _public(self.model.qualname(node, scope))

    def _decorator(self, node: DefNode, scope: Scope, path: str) -> ast.expr | None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.qualname(target, scope) == path:
                return decorator
        return None

    def _path(self, name: str, scope: Scope) -> str:
        """Where a def is: module.name, module.Class.name for methods, module.<f>.name inside a function."""
        owner = scope.node
        if owner is None:
            return f"{self.model.module}.{name}"
        outer = self._def_scopes.get(id(owner))
        if isinstance(owner, ast.ClassDef) and outer is not None:
            return f"{self._path(owner.name, outer)}.{name}"
        return f"{self.model.module}.<{getattr(owner, 'name', 'local')}>.{name}"

    # Retries -------------------------------------------------------------------------------------

    @cached_property
    def _retry_options(self) -> tuple[frozenset[str], frozenset[str]]:
        bounded: set[str] = set()
        non_retryable: set[str] = set()
        if not self.imports_temporal:
            return frozenset(), frozenset()
        for call, scope in self._calls():
            for keyword in call.keywords:
                if keyword.arg == "non_retryable_error_types" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                    non_retryable.update(name for name in map(string_value, keyword.value.elts) if name)
            scheduled = self.activity_call(call, scope)
            if scheduled is None or scheduled.target is None:
                continue
            if (
                scheduled.opaque
                or "retry_policy" in scheduled.keywords
                or "schedule_to_close_timeout" in scheduled.keywords
            ):
                target = string_value(scheduled.target) or self.model.qualname(scheduled.target, scope)
                if target is not None:
                    bounded.add(target)
        return frozenset(bounded), frozenset(non_retryable)

    @cached_property
    def timeouts(self) -> dict[str, float]:
        """How long the activities this module schedules may run, by path or registered name:
        the longest `start_to_close_timeout` (else `schedule_to_close_timeout`) of the calls that
        give no `heartbeat_timeout` and whose options the linter sees."""
        found: dict[str, float] = {}
        if not self.imports_temporal:
            return found
        for call, scope in self._calls():
            scheduled = self.activity_call(call, scope)
            if scheduled is None or scheduled.target is None or scheduled.opaque:
                continue
            if "heartbeat_timeout" in scheduled.keywords:
                continue
            limit = scheduled.keyword("start_to_close_timeout") or scheduled.keyword("schedule_to_close_timeout")
            seconds = duration(limit, self.model, scope) if limit is not None else None
            target = string_value(scheduled.target) or self.model.qualname(scheduled.target, scope)
            if seconds is not None and target is not None:
                found[target] = max(seconds, found.get(target, 0.0))
        return found

    def longest_run(self, activity: ActivityInfo) -> float | None:
        """The longest time a workflow lets an activity run without heartbeat timeout, where
        one sets it (None: no call the linter sees sets it)."""
        found = [
            table[key]
            for table in (self.timeouts, self.project.timeouts)
            for key in (activity.qualname, activity.name)
            if key is not None and key in table
        ]
        return max(found, default=None)

    def retries_bounded(self, activity: ActivityInfo) -> bool:
        """Whether some call in the project may bound the activity's retries (a retry policy,
        a schedule-to-close timeout, or options the linter cannot see)."""
        bounded = self._retry_options[0] | self.project.bounded
        return activity.qualname in bounded or (activity.name is not None and activity.name in bounded)

    def non_retryable(self, error: str) -> bool:
        """Whether some retry policy in the project names this error type as non-retryable."""
        return error in self._retry_options[1] or error in self.project.non_retryable

    def _calls(self) -> Iterator[tuple[ast.Call, Scope]]:
        """Every call in the module, with the scope it runs in."""
        pending: list[tuple[ast.AST, Scope]] = [(self.model.tree, self.model.module_scope)]
        while pending:
            node, scope = pending.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    pending.append((child, self.model.scope_of(child)))
                    continue
                if isinstance(child, ast.Call):
                    yield child, scope
                pending.append((child, scope))

    def facts(self) -> TemporalFacts | None:
        bounded, non_retryable = self._retry_options
        timeouts = self.timeouts
        if not self._workflows and not self._activities and not bounded and not non_retryable and not timeouts:
            return None
        return TemporalFacts(
            workflows=tuple(info for _, info in self._workflows.values()),
            activities=tuple(info for _, info in self._activities.values()),
            bounded=tuple(sorted(bounded)),
            non_retryable=tuple(sorted(non_retryable)),
            timeouts=tuple(sorted(timeouts.items())),
        )


# `datetime.timedelta`'s positional parameters, and each unit in seconds.
_TIMEDELTA_ARGS = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
_TIMEDELTA_UNITS = {
    "weeks": 604800.0,
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "milliseconds": 0.001,
    "microseconds": 0.000001,
}


def duration(node: ast.expr, model: ModuleModel, scope: Scope | None) -> float | None:
    """The seconds a `timedelta(...)` written with literal values (or a name bound once to
    one) holds; None for anything else."""
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.Call):
            return None
        node, scope = found[0][0], found[1]
    if not isinstance(node, ast.Call) or model.qualname(node.func, scope) != "datetime.timedelta":
        return None
    if len(node.args) > len(_TIMEDELTA_ARGS):
        return None
    parts = [*zip(_TIMEDELTA_ARGS, node.args, strict=False), *((k.arg, k.value) for k in node.keywords)]
    total = 0.0
    for unit, value in parts:
        number = literal(value)
        if unit not in _TIMEDELTA_UNITS or not isinstance(number, (int, float)) or isinstance(number, bool):
            return None
        total += number * _TIMEDELTA_UNITS[unit]
    return total


def _public(path: str | None) -> str | None:
    """The public path of a Temporal SDK name: linting the SDK itself resolves
    `temporalio.workflow.defn` to where it is defined (`temporalio.workflow._definition.defn`)."""
    if path is None or not path.startswith("temporalio.") or "._" not in path:
        return path
    head, *middle, last = path.split(".")
    return ".".join([head, *(part for part in middle if not part.startswith("_")), last])


def _registered_name(decorator: ast.expr, default: str) -> str | None:
    if isinstance(decorator, ast.Call):
        keywords = _keywords(decorator)
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


def _keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg is not None}


def _opaque(call: ast.Call) -> bool:
    return any(keyword.arg is None for keyword in call.keywords)


def _is_class(node: DefNode) -> bool:
    return isinstance(node, ast.ClassDef)


def _method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for statement in cls.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            return statement
    return None


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
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
                if arg.arg == name:
                    return arg.annotation
            return None
        current = current.parent
    return None
