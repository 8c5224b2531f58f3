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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel

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
    """This module's decorators that append the function they wrap to a module-level list of
    this module: (decorator, list) paths."""
    found = []
    module_lists = {
        name
        for name, bindings in model.module_scope.bindings.items()
        if len(bindings) == 1 and isinstance(bindings[0], (ast.List, ast.Tuple))
    }
    for node, scope in model.scopes.defs:
        if scope.node is not None or not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        params = [arg.arg for arg in (*node.args.posonlyargs, *node.args.args)]
        if len(params) != 1:
            continue
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "append"
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in module_lists
                and len(call.args) == 1
                and isinstance(call.args[0], ast.Name)
                and call.args[0].id == params[0]
            ):
                found.append((f"{model.module}.{node.name}", f"{model.module}.{call.func.value.id}"))
                break
    return tuple(sorted(found))


def decorated(model: ModuleModel) -> tuple[tuple[str, str], ...]:
    """This module's module-level coroutines wrapped by a decorator of this project (which
    may be a registry): (decorator, function) paths."""
    top = model.module.split(".")[0]
    found = []
    for node, scope in model.scopes.defs:
        if scope.node is not None or not isinstance(node, ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            path = model.qualname(decorator, scope)
            if path is not None and path.split(".")[0] == top:
                found.append((path, f"{model.module}.{node.name}"))
    return tuple(sorted(found))
