"""ARQ facts: worker settings, the job functions they register, and the Redis pools producers use.

A job function is what a worker runs: an entry of a `WorkerSettings` class's `functions` or
`cron_jobs`, of `Worker(functions=..., cron_jobs=...)`, or the coroutine given to `func(...)` or
`cron(...)` there, or a function a project decorator appends to a list that a `functions`
names (`registries.py`). Registrations are project facts (`ModuleFacts.extra["arq"]`), so the module
that defines a job knows it is one when another module registers it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.arq.project import ArqFacts, Job, JobRef, WorkerInfo
from jobs_lint.semantic.arq.project import project as arq_project
from jobs_lint.semantic.arq.registries import WORKER_FIELDS, decorated, is_job_list_name, registries
from jobs_lint.semantic.scope import Scope
from jobs_lint.semantic.syntax import NESTED, final_name, own_nodes
from jobs_lint.semantic.values import UNKNOWN, literal

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

WORKER = "arq.worker.Worker"
FUNC = "arq.worker.func"
CRON = "arq.cron.cron"
RETRY = "arq.worker.Retry"
RETRY_JOB = "arq.worker.RetryJob"
CREATE_POOL = "arq.connections.create_pool"
ARQ_REDIS = "arq.connections.ArqRedis"
RUN_WORKER = "arq.worker.run_worker"
CREATE_WORKER = "arq.worker.create_worker"
# Public re-exports of `arq/__init__.py`, mapped to where they are defined.
_CANONICAL = {
    "arq.Worker": WORKER,
    "arq.func": FUNC,
    "arq.cron": CRON,
    "arq.Retry": RETRY,
    "arq.create_pool": CREATE_POOL,
    "arq.run_worker": RUN_WORKER,
    "arq.ArqRedis": ARQ_REDIS,
    "arq.ArqRedis.from_url": f"{ARQ_REDIS}.from_url",
}
# What makes a pool that enqueues jobs, shown as a finding names it: `ArqRedis` takes the
# serializer pair as `create_pool` does, and pickles without it.
POOL_CONSTRUCTORS = {
    CREATE_POOL: "`create_pool()`",
    ARQ_REDIS: "`ArqRedis()`",
    f"{ARQ_REDIS}.from_url": "`ArqRedis.from_url()`",
}
SERIALIZER_FIELDS = ("job_serializer", "job_deserializer")
_JOB_FIELDS = ("functions", "cron_jobs")
_CONSTRUCTORS = frozenset({"Worker", "create_pool", "run_worker", "create_worker", "ArqRedis", "from_url"})
_MAX_DEPTH = 8
_PROTOCOLS = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


def canonical(path: str | None) -> str | None:
    return _CANONICAL.get(path, path) if path else None


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """A worker's configuration as written in this module, with the nodes to report at."""

    node: ast.ClassDef | ast.Call | ast.Dict  # a settings class or dict, or `Worker(...)`
    name: str
    fields: dict[str, ast.expr]
    scope: Scope
    opaque: bool  # `**kwargs` somewhere: fields may be set where the linter cannot see


class ArqModule:
    """Computed lazily from the module model, like `CeleryModule`."""

    def __init__(self, model: ModuleModel) -> None:
        self.model = model

    def name(self, node: ast.AST, scope: Scope | None = None) -> str | None:
        """The canonical qualified name of an expression, ARQ's re-exports resolved."""
        return canonical(self.model.qualname(node, scope))

    @cached_property
    def imports_arq(self) -> bool:
        return self.model.imports("arq", star=False)

    # Workers ---------------------------------------------------------------------------------

    @cached_property
    def workers(self) -> list[WorkerConfig]:
        model = self.model
        # `run_worker(...)` and `Worker(...)` need arq imported; a settings class does not.
        overrides = self._run_worker_keywords() if self.imports_arq else {}
        found = []
        for node, scope in model.scopes.defs:
            if isinstance(node, ast.ClassDef) and self._is_settings_class(node):
                fields = {
                    name: bindings[-1]
                    for name, bindings in model.scope_of(node).bindings.items()
                    if isinstance(bindings[-1], ast.expr)
                }
                path = f"{model.module}.{node.name}" if scope.node is None else node.name
                extra = overrides.get(path)
                opaque = False
                if extra is not None:
                    fields.update({kw.arg: kw.value for kw in extra if kw.arg})
                    opaque = any(kw.arg is None for kw in extra)
                found.append(WorkerConfig(node, path, fields, model.scope_of(node), opaque))
        found += self._dict_settings()
        for call, scope in self._calls:
            if self.name(call.func, scope) == WORKER:
                fields = {kw.arg: kw.value for kw in call.keywords if kw.arg}
                if call.args:
                    fields.setdefault("functions", call.args[0])
                opaque = any(kw.arg is None for kw in call.keywords)
                found.append(WorkerConfig(call, "Worker()", fields, scope, opaque))
        return found

    def _dict_settings(self) -> list[WorkerConfig]:
        """`run_worker(settings)` with a dict of this module (`settings = dict(functions=...)`
        or `{"functions": ...}`), which ARQ accepts in place of a settings class."""
        found = []
        for call, scope in self._calls:
            if not call.args or self.name(call.func, scope) not in (RUN_WORKER, CREATE_WORKER):
                continue
            first = call.args[0]
            if not isinstance(first, ast.Name):
                continue
            binding = self.model.lookup(first.id, scope)
            if binding is None or len(binding[0]) != 1:
                continue
            value, owner = binding[0][0], binding[1]
            if (
                isinstance(value, ast.Call)
                and self.model.qualname(value.func, owner) in ("dict", "builtins.dict")
                and not value.args
            ):
                fields = {kw.arg: kw.value for kw in value.keywords if kw.arg}
                opaque = any(kw.arg is None for kw in value.keywords)
            elif isinstance(value, ast.Dict):
                fields = {
                    key.value: item
                    for key, item in zip(value.keys, value.values, strict=True)
                    if isinstance(key, ast.Constant) and isinstance(key.value, str)
                }
                opaque = any(key is None for key in value.keys)
            else:
                continue
            if not any(name in fields for name in _JOB_FIELDS):
                continue
            fields.update({kw.arg: kw.value for kw in call.keywords if kw.arg})
            opaque = opaque or any(kw.arg is None for kw in call.keywords)
            found.append(WorkerConfig(value, first.id, fields, owner, opaque))
        return found

    def _is_settings_class(self, node: ast.ClassDef) -> bool:
        bindings = self.model.scope_of(node).bindings
        if not any(name in bindings for name in _JOB_FIELDS):
            return False
        if any(self.model.qualname(base) in _PROTOCOLS for base in node.bases):
            return False  # a type of settings classes, not one
        return self.imports_arq or "WorkerSettings" in node.name or not WORKER_FIELDS.isdisjoint(bindings)

    def _run_worker_keywords(self) -> dict[str, list[ast.keyword]]:
        """Keywords given with a settings class to `run_worker`/`create_worker`: they win."""
        found: dict[str, list[ast.keyword]] = {}
        for call, scope in self._calls:
            if call.args and self.name(call.func, scope) in (RUN_WORKER, CREATE_WORKER):
                path = self.model.qualname(call.args[0], scope)
                if path is not None:
                    found.setdefault(path, []).extend(call.keywords)
        return found

    @cached_property
    def _calls(self) -> list[tuple[ast.Call, Scope]]:
        """Calls to ARQ's worker and pool constructors, anywhere in the module."""
        found = []
        for scope_node, scope in ((None, self.model.module_scope), *self._def_scopes()):
            body = self.model.tree.body if scope_node is None else scope_node.body
            for statement in body:
                if type(statement) in NESTED:
                    continue
                for node in own_nodes(statement):
                    if isinstance(node, ast.Call) and _may_be_arq_call(node.func):
                        found.append((node, scope))
        return found

    def _def_scopes(self) -> Iterator[tuple[Any, Scope]]:
        for node, _ in self.model.scopes.defs:
            yield node, self.model.scope_of(node)

    @cached_property
    def pools(self) -> list[tuple[ast.Call, Scope, str]]:
        """`create_pool(...)`, `ArqRedis(...)` and `ArqRedis.from_url(...)` calls, with how a
        finding names each."""
        found = []
        for call, scope in self._calls:
            shown = POOL_CONSTRUCTORS.get(self.name(call.func, scope) or "")
            if shown is not None:
                found.append((call, scope, shown))
        return found

    # Registrations ---------------------------------------------------------------------------

    def job_refs(self, node: ast.expr, scope: Scope, depth: int = 0) -> tuple[list[JobRef], list[str]]:
        """The jobs a `functions`/`cron_jobs` value lists, and lists it takes from other modules."""
        refs: list[JobRef] = []
        lists: list[str] = []
        if depth > _MAX_DEPTH:
            return refs, lists
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for element in node.elts:
                inner = element.value if isinstance(element, ast.Starred) else element
                more, more_lists = self.job_refs(inner, scope, depth + 1)
                refs += more
                lists += more_lists
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side in (node.left, node.right):
                more, more_lists = self.job_refs(side, scope, depth + 1)
                refs += more
                lists += more_lists
        elif isinstance(node, ast.Call):
            ref = self._wrapped(node, scope)
            if ref is not None:
                refs.append(ref)
        elif isinstance(node, (ast.Name, ast.Attribute)):
            return self._named_refs(node, scope, depth)
        return refs, lists

    def _named_refs(self, node: ast.Name | ast.Attribute, scope: Scope, depth: int) -> tuple[list[JobRef], list[str]]:
        model = self.model
        if isinstance(node, ast.Name):
            found = model.lookup(node.id, scope)
            if found is not None:
                bindings, owner = found
                if len(bindings) == 1 and isinstance(bindings[0], (ast.List, ast.Tuple, ast.BinOp, ast.Set)):
                    return self.job_refs(bindings[0], owner, depth + 1)
        path = model.qualname(node, scope)
        if path is None:
            return [], []
        # A function, or a list of jobs defined in another module: the index tells which.
        return [JobRef(path, "functions")], [path]

    def _wrapped(self, call: ast.Call, scope: Scope) -> JobRef | None:
        kind = self.name(call.func, scope)
        if kind not in (FUNC, CRON):
            return None
        target = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "coroutine"), None)
        if target is None:
            return None
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            path: str | None = target.value
        else:
            path = self.model.qualname(target, scope)
        if path is None:
            return None
        max_tries = None
        for keyword in call.keywords:
            if keyword.arg == "max_tries":
                max_tries = literal(keyword.value)
            elif keyword.arg is None:
                max_tries = UNKNOWN
        return JobRef(path, "func" if kind == FUNC else "cron", max_tries)

    def _setting(self, config: WorkerConfig, key: str) -> Any:
        if key in config.fields:
            return literal(config.fields[key])
        return UNKNOWN if config.opaque else None

    def serializer(self, fields: dict[str, ast.expr], scope: Scope, opaque: bool) -> Any:
        node = fields.get("job_serializer")
        if node is None:
            return UNKNOWN if opaque else None
        return self.model.qualname(node, scope) or UNKNOWN

    def worker_info(self, config: WorkerConfig) -> WorkerInfo:
        refs: list[JobRef] = []
        lists: list[str] = []
        for key in _JOB_FIELDS:
            if key in config.fields:
                more, more_lists = self.job_refs(config.fields[key], config.scope)
                refs += more
                lists += more_lists
        return WorkerInfo(
            name=config.name,
            jobs=tuple(refs),
            lists=tuple(lists),
            max_tries=self._setting(config, "max_tries"),
            retry_jobs=self._setting(config, "retry_jobs"),
            serializer=self.serializer(config.fields, config.scope, config.opaque),
        )

    def facts(self) -> ArqFacts | None:
        model = self.model
        workers = tuple(self.worker_info(config) for config in self.workers)
        lists = []
        for name, bindings in model.module_scope.bindings.items():
            if not (self.imports_arq or workers or is_job_list_name(name)):
                continue  # a list of names that has nothing to do with ARQ
            if len(bindings) == 1 and isinstance(bindings[0], (ast.List, ast.Tuple)):
                refs, _ = self.job_refs(bindings[0], model.module_scope)
                if refs:
                    lists.append((f"{model.module}.{name}", tuple(refs)))
        filling, wrapped = registries(model), decorated(model)
        if not (workers or lists or filling or wrapped):
            return None
        return ArqFacts(workers, tuple(lists), filling, wrapped)

    # This module's jobs ----------------------------------------------------------------------

    def jobs_of(self, node: ast.AST) -> list[Job]:
        """The registrations of a module-level function defined here (empty: not a job)."""
        return self._jobs_by_node.get(id(node), [])

    @cached_property
    def _jobs_by_node(self) -> dict[int, list[Job]]:
        model = self.model
        project = arq_project(model.index)
        found = {}
        for node, scope in model.scopes.defs:
            if scope.node is None and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                jobs = project.jobs_for(model.module, node.name)
                if jobs:
                    found[id(node)] = jobs
        return found


def _may_be_arq_call(func: ast.expr) -> bool:
    """A cheap filter on the called name before resolving it."""
    name = final_name(func)
    return name in _CONSTRUCTORS


# Exceptions that say "try again later": a network that failed, a timeout, a lost connection.
TRANSIENT_ERRORS = frozenset(
    {
        "ConnectionError",
        "ConnectionResetError",
        "ConnectionRefusedError",
        "ConnectionAbortedError",
        "BrokenPipeError",
        "TimeoutError",
        "asyncio.TimeoutError",
        "asyncio.exceptions.TimeoutError",
        "socket.timeout",
        "httpx.HTTPError",
        "httpx.RequestError",
        "httpx.TransportError",
        "httpx.TimeoutException",
        "httpx.ConnectError",
        "httpx.ConnectTimeout",
        "httpx.ReadTimeout",
        "httpx.NetworkError",
        "httpx.RemoteProtocolError",
        "aiohttp.ClientError",
        "aiohttp.ClientConnectionError",
        "aiohttp.ClientConnectorError",
        "aiohttp.ServerDisconnectedError",
        "aiohttp.ServerTimeoutError",
        "requests.ConnectionError",
        "requests.Timeout",
        "requests.RequestException",
        "requests.exceptions.ConnectionError",
        "requests.exceptions.Timeout",
        "requests.exceptions.RequestException",
        "redis.exceptions.ConnectionError",
        "redis.exceptions.TimeoutError",
        "redis.ConnectionError",
        "redis.TimeoutError",
        "sqlalchemy.exc.OperationalError",
        "sqlalchemy.exc.DBAPIError",
        "asyncpg.exceptions.ConnectionDoesNotExistError",
        "asyncpg.ConnectionDoesNotExistError",
        "openai.APIConnectionError",
        "openai.APITimeoutError",
        "openai.RateLimitError",
    }
)
# Handlers that catch everything, transient failures included.
BROAD_ERRORS = frozenset({"Exception", "BaseException"})
