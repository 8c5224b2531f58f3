"""ARQ jobs registered without naming ARQ: job lists and settings classes in modules that do not
import arq, and registries a project decorator fills (`@job` appending each function to the list
a worker's `functions` names).

    JOBS = []                      # proj/registry.py
    def job(f):
        JOBS.append(f)
        return f

    @job                           # proj/jobs.py
    async def ping(ctx): ...

    class WorkerSettings:          # proj/worker.py
        functions = JOBS

The registry module's facts say which list each decorator fills, the jobs module's which of its
functions a project decorator wraps; the project merge (`ArqProject`) adds those functions to the
workers whose `functions` name the list.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from jobs_lint.semantic.values import literal

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.scope import Scope

# Prefilter patterns (word, pattern), for modules that never name ARQ: a module-level list named
# for jobs, a coroutine taking ARQ's `ctx` first, and a settings class's ARQ-only fields.
_JOB_LIST = rb"^\w*(?:jobs|JOBS|functions)[ \t]*(?::[^=\n]*)?=[ \t]*[\[(]"
_LISTS = re.compile(_JOB_LIST, re.MULTILINE)
_CTX_JOB = re.compile(rb"^[ \t]*async[ \t]+def[ \t]+\w+\([ \t]*ctx\b", re.MULTILINE)
_WORKER_FIELD = re.compile(rb"^[ \t]+(?:redis_settings|job_timeout|max_jobs)[ \t]*(?::[^=\n]*)?=", re.MULTILINE)
# Few words, each one more search of every file's bytes (`max_jobs` is searched for only where
# `jobs` is found; `ctx` is a rule's word already).
PATTERNS = (
    (b"jobs", _LISTS),
    (b"JOBS", _LISTS),
    (b"unctions", _LISTS),
    (b"ctx", _CTX_JOB),
    (b"redis_settings", _WORKER_FIELD),
    (b"job_timeout", _WORKER_FIELD),
    (b"max_jobs", _WORKER_FIELD),
)
# Fields only an ARQ worker's settings have: a class with `functions` and one of them is a
# settings class even where the module does not import arq (the settings are given to `arq` by
# their path on its command line).
WORKER_FIELDS = frozenset({"redis_settings", "job_timeout", "max_jobs", "queue_read_limit", "keep_result"})
_LIST_NAME = re.compile(r"(?:jobs|functions)$", re.IGNORECASE)


def is_job_list_name(name: str) -> bool:
    """A module-level list worth recording in a module that does not import arq."""
    return _LIST_NAME.search(name) is not None


def registries(model: ModuleModel) -> tuple[tuple[str, str], ...]:
    """This module's decorators that append the function they wrap (or a job made of it) to a
    module-level list of this module, or to a list attribute of one of its classes
    (`WorkerSettings.functions`), and decorator factories whose decorator does: (decorator,
    list) paths."""
    found = []
    scope = model.module_scope
    lists = {
        name for name, bindings in scope.bindings.items() if len(bindings) == 1 and isinstance(bindings[0], ast.List)
    }
    classes = {name for name, bindings in scope.bindings.items() if any(isinstance(b, ast.ClassDef) for b in bindings)}
    for node, owner in model.scopes.defs:
        if owner.node is not None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        inner = [d for d in node.body if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for decorator in [node, *inner]:  # the decorator itself, or the one a factory returns
            target = _appended_to(decorator, lists, classes)
            if target is not None:
                found.append((f"{model.module}.{node.name}", f"{model.module}.{target}"))
                break
    return tuple(sorted(found))


def _appended_to(function: ast.FunctionDef | ast.AsyncFunctionDef, lists: set[str], classes: set[str]) -> str | None:
    """The list a one-parameter function appends its argument to, or what it made of it
    (`new = func(wrapped, ...)`; `JOBS.append(new)`)."""
    params = [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]
    if len(params) != 1:
        return None
    made = {params[0]}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _mentions(node.value, made):
            made.update(target.id for target in node.targets if isinstance(target, ast.Name))
    for call in ast.walk(function):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append"
            and len(call.args) == 1
            and isinstance(call.args[0], ast.Name)
            and call.args[0].id in made
        ):
            continue
        owner = call.func.value
        if isinstance(owner, ast.Name) and owner.id in lists:
            return owner.id
        if isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id in classes:
            return f"{owner.value.id}.{owner.attr}"
    return None


def _mentions(call: ast.Call, names: set[str]) -> bool:
    return any(isinstance(arg, ast.Name) and arg.id in names for arg in call.args)


def decorated(model: ModuleModel) -> tuple[tuple[str, str, Any], ...]:
    """This module's module-level coroutines wrapped by a decorator of this project (which
    may be a registry), or by a call of one (`@task("name", max_tries=10)`): (decorator,
    function, the `max_tries` the call gives: int, UNKNOWN, or None) paths."""
    top = model.module.split(".")[0]
    found = []
    for node, scope in model.scopes.defs:
        if scope.node is not None or not isinstance(node, ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            path = model.qualname(call.func if call is not None else decorator, scope)
            if path is not None and path.split(".")[0] == top:
                found.append((path, f"{model.module}.{node.name}", _max_tries(model, call, scope)))
    return tuple(sorted(found, key=lambda entry: entry[:2]))


def _max_tries(model: ModuleModel, call: ast.Call | None, scope: Scope) -> Any:
    """The `max_tries=` a decorator call gives, a module constant's value included."""
    node = next((k.value for k in call.keywords if k.arg == "max_tries"), None) if call is not None else None
    if node is None:
        return None
    if isinstance(node, ast.Name):
        found = model.lookup(node.id, scope)
        if found is not None and len(found[0]) == 1 and isinstance(found[0][0], ast.Constant):
            node = found[0][0]
    return literal(node)
