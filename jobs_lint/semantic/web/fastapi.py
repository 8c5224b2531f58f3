"""FastAPI endpoints: background tasks and request-scoped dependencies."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.semantic.blocking import blocking_call, long_call, quick_io
from jobs_lint.semantic.summaries import BLOCKING, CREATES, IO
from jobs_lint.semantic.tools import tools
from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.semantic.callgraph import Reach
    from jobs_lint.semantic.index import ProjectIndex
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

BACKGROUND_TASKS = frozenset(
    {"fastapi.BackgroundTasks", "fastapi.background.BackgroundTasks", "starlette.background.BackgroundTasks"}
)
DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends"})
_SLEEPS = frozenset({"time.sleep", "asyncio.sleep"})
# A module fact: the module hands work to `BackgroundTasks.add_task`, whose calls are followed.
BACKGROUND_TASKS_FACT = "background_tasks"
_WORK = frozenset({CREATES, IO, BLOCKING})
# This many calls that do I/O, made by the work's function itself, make it a flow of steps.
_FLOW_STEPS = 3


def parameter(model: ModuleModel, name: str, scope: Scope) -> tuple[ast.arg, ast.expr | None, Scope] | None:
    """The parameter `name` refers to: its node, its default, and the scope it is declared in."""
    current: Scope | None = scope
    while current is not None:
        node = current.node
        if name in current.params and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = [*args.posonlyargs, *args.args]
            defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
            pairs = [*zip(positional, defaults, strict=True), *zip(args.kwonlyargs, args.kw_defaults, strict=True)]
            for arg, default in pairs:
                if arg.arg == name:
                    return arg, default, current.parent or model.module_scope
            return None
        current = current.parent
    return None


def annotation_type(annotation: ast.expr | None) -> tuple[ast.expr | None, list[ast.expr]]:
    """The type of an annotation and its `Annotated[...]` metadata."""
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
        first, *metadata = annotation.slice.elts
        return first, metadata
    return annotation, []


def is_background_tasks(model: ModuleModel, node: ast.expr, scope: Scope) -> bool:
    if not isinstance(node, ast.Name):
        return False
    found = parameter(model, node.id, scope)
    if found is None:
        return False
    arg, _, outer = found
    kind, _ = annotation_type(arg.annotation)
    return kind is not None and model.qualname(kind, outer) in BACKGROUND_TASKS


def closed_before_background(model: ModuleModel, node: ast.expr, scope: Scope) -> str | None:
    """Why a value is closed by the time a background task runs: the resource of an enclosing
    `with` block (`async with session_maker() as db:`), or a request-scoped dependency."""
    if not isinstance(node, ast.Name):
        return None
    found = model.lookup(node.id, scope)
    if found is not None:
        bindings, _ = found
        for binding in bindings:
            if isinstance(binding, (ast.With, ast.AsyncWith)):
                for item in binding.items:
                    if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == node.id:
                        return f"from `{ast.unparse(item.context_expr)}`, closed when its `with` block ends"
        return None
    return _request_scoped(model, node.id, scope)


def passed_values(model: ModuleModel, call: ast.Call, scope: Scope) -> list[ast.expr]:
    """The values a call passes on, `**dict(db=db)` and `**options` built from a literal included."""
    values = list(call.args[1:])
    for keyword in call.keywords:
        if keyword.arg is not None:
            values.append(keyword.value)
            continue
        source: ast.expr | None = keyword.value
        if isinstance(source, ast.Name):
            found = model.lookup(source.id, scope)
            source = found[0][-1] if found and isinstance(found[0][-1], ast.expr) else None
        if isinstance(source, ast.Dict):
            values += source.values
        elif isinstance(source, ast.Call) and model.qualname(source.func, scope) == "dict":
            values += [k.value for k in source.keywords]
    return values


def _request_scoped(model: ModuleModel, name: str, scope: Scope) -> str | None:
    """The dependency behind an endpoint parameter declared `Depends(get_db, scope="function")`:
    its exit code runs before the response is sent, so before background tasks. (Measured with
    FastAPI 0.165: a default-scoped dependency closes after background tasks since 0.118, and
    before them from 0.106 to 0.117, which the code does not say.)"""
    found = parameter(model, name, scope)
    if found is None:
        return None
    arg, default, outer = found
    kind, metadata = annotation_type(arg.annotation)
    depends = [
        call
        for call in (default, *metadata)
        if isinstance(call, ast.Call)
        and model.qualname(call.func, outer) in DEPENDS
        and any(k.arg == "scope" and string_value(k.value) == "function" for k in call.keywords)
    ]
    if not depends:
        return None
    type_name = ast.unparse(kind) if kind is not None else ""
    provider = depends[0].args[0] if depends[0].args else None
    if type_name.endswith(("Session", "Connection")) or (
        isinstance(provider, ast.Name) and _is_generator(model, provider, outer)
    ):
        return f"from `{ast.unparse(depends[0])}`, closed before the response is sent"
    return None


def _is_generator(model: ModuleModel, node: ast.Name, scope: Scope) -> bool:
    found = model.lookup(node.id, scope)
    if found is None:
        return False
    definition = found[0][-1]
    return isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
        isinstance(inner, (ast.Yield, ast.YieldFrom)) for inner in ast.walk(definition)
    )


def durable_work(model: ModuleModel, node: ast.expr, scope: Scope) -> str | None:
    """What makes a function defined in this module a job: sleeping, a long call, I/O in a loop."""
    if not isinstance(node, ast.Name):
        return None
    found = model.lookup(node.id, scope)
    if found is None:
        return None
    definition = found[0][-1]
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    inner = model.scope_of(definition)
    for child in ast.walk(definition):
        if isinstance(child, ast.Call):
            path = model.qualname(child.func, inner) or ""
            if path in _SLEEPS:
                return f"it sleeps (`{path}`)"
            if long_call(path):
                return f"it runs a long call (`{path}`)"
        elif isinstance(child, (ast.For, ast.AsyncFor, ast.While)) and _does_io(model, child, inner):
            return "it does I/O in a loop"
    return None


def durable_through_calls(model: ModuleModel, node: ast.expr, scope: Scope) -> tuple[str, Reach] | None:
    """What makes a project function, in any module, durable work, from what it reaches through
    the functions it calls: a sleep or a long call, I/O or a side effect in a loop, several side
    effects, or I/O in several functions (a flow of steps). One quick call stays quiet."""
    if not isinstance(node, (ast.Name, ast.Attribute)):
        return None
    path = model.qualname(node, scope)
    if path is None:
        return None
    reached = [
        (reach, looped)
        for reach, looped in model.index.calls.effects_reached(path, _WORK)
        if not quick_io(reach.effect.callee)
    ]
    for reach, _ in reached:
        callee = reach.effect.callee
        if callee in _SLEEPS:
            return f"it sleeps (`{callee}`)", reach
        if long_call(callee):
            return f"it runs a long call (`{callee}`)", reach
    looped = [reach for reach, in_loop in reached if in_loop]
    if looped:
        reach = next((reach for reach in looped if reach.effect.kind == CREATES), looped[0])
        what = reach.effect.what if reach.effect.kind == CREATES else "I/O"
        return f"it does {what} in a loop", reach
    created = {(r.hops[-1].qualname, r.effect.line): r for r, _ in reached if r.effect.kind == CREATES}
    if len(created) >= 2:
        first, second = list(created.values())[:2]
        return f"it has several side effects ({first.effect.what}, {second.effect.what})", first
    # The steps of the flow: the calls of the function itself that do I/O or lead to it.
    steps: dict[int, Reach] = {}
    for reach, _ in reached:
        steps.setdefault(reach.hops[0].line, reach)
    if len(steps) >= _FLOW_STEPS:
        names = ", ".join(f"`{reach.hops[0].calls}`" for reach in steps.values())
        return f"it runs {len(steps)} steps that do I/O ({names})", next(iter(steps.values()))
    return None


def _does_io(model: ModuleModel, loop: ast.AST, scope: Scope) -> bool:
    return any(
        isinstance(child, ast.Await)
        or (isinstance(child, ast.Call) and blocking_call(model.qualname(child.func, scope)) is not None)
        for child in ast.walk(loop)
    )


def has_job_queue(index: ProjectIndex) -> bool:
    """Whether the project already runs a job queue the work could go to."""
    queues = [tool.name for tool in tools() if tool.defines_jobs and tool.name != BACKGROUND_TASKS_FACT]
    return index.uses_celery or any(module.extra.get(name) for module in index.modules.values() for name in queues)


def background_facts(model: ModuleModel) -> bool:
    """Whether the module may hand work to FastAPI's or Starlette's `BackgroundTasks` (its text
    says `add_task`): what the work reaches is followed, as a job's is."""
    return model.imports("fastapi") or model.imports("starlette")
