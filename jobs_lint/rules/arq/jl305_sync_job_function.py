from __future__ import annotations

import ast

from jobs_lint.diagnostics import Applicability, Edit, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid


class SyncJobFunction(Rule):
    """
    ## What it does
    Finds a plain `def` registered as an ARQ job: listed in a worker's `functions` or
    `cron_jobs`, passed to `Worker(functions=...)`, or wrapped by `func(...)` or `cron(...)`, in
    this module or another. Functions with decorators are left alone: a decorator may make a
    coroutine function of them.

    ## Why is this bad?
    ARQ calls job functions as coroutines. `func()` and `cron()` check it and raise
    `RuntimeError: ... is not a coroutine function`, so the worker does not start at all; the
    mistake only shows at deploy time. Define the job with `async def`, and move blocking work
    into `await asyncio.to_thread(...)`.

    ## Fix safety
    The fix adds `async`. It is unsafe: other code calling the function directly now gets a
    coroutine, and blocking calls in its body now run on the worker's event loop.
    """

    code = "JL305"
    name = "arq-sync-job-function"
    summary = "A plain `def` is registered as an ARQ job"
    needles = (needles.ARQ_JOBS,)
    fix = Applicability.UNSAFE

    invalid = (
        Invalid(
            "def send_email(ctx, user_id):\n    return user_id\n\n"
            "class WorkerSettings:\n    functions = [send_email]\n",
            fixed="async def send_email(ctx, user_id):\n    return user_id\n\n"
            "class WorkerSettings:\n    functions = [send_email]\n",
            line=1,
            message="`send_email` is listed as a job of `WorkerSettings` but is not `async",
        ),
        Invalid(
            "from arq import cron\n\n"
            "def cleanup(ctx):\n    ...\n\n"
            "class WorkerSettings:\n    cron_jobs = [cron(cleanup, hour=3)]\n",
            line=3,
            message="`cleanup` is wrapped by `cron()` of `WorkerSettings` but is not",
        ),
        Invalid(
            "from arq import Worker, func\n\n"
            "def resize(ctx, image_id):\n    ...\n\n"
            "worker = Worker(functions=[func(resize, max_tries=3)])\n",
            line=3,
            message="`resize` is wrapped by `func()` of `Worker()` but is not `async def`",
        ),
        Invalid(
            "def report(ctx, day):\n    return day\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "from arq.connections import RedisSettings\n"
                "from proj.jobs import report\n\n"
                "JOBS = [report]\n\n"
                "class WorkerSettings:\n    functions = JOBS\n    redis_settings = RedisSettings()\n",
            },
            line=1,
            message="`report` is listed as a job of `WorkerSettings` but is not `async def`",
        ),
        Invalid(
            "def report(ctx, day):\n    return day\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "import arq\n\n"
                "class WorkerSettings:\n    functions = [arq.func('proj.jobs.report', name='report')]\n",
            },
            line=1,
            message="`report` is wrapped by `func()` of `WorkerSettings` but is not `async",
        ),
    )
    valid = (
        Valid(
            "async def send_email(ctx, user_id):\n    return user_id\n\n"
            "class WorkerSettings:\n    functions = [send_email]\n"
        ),
        Valid(
            "from asgiref.sync import sync_to_async\n\n"
            "@sync_to_async\ndef send_email(ctx, user_id):\n    return user_id\n\n"
            "class WorkerSettings:\n    functions = [send_email]\n"
        ),
        Valid("def build_functions():\n    return []\n\nclass WorkerSettings:\n    functions = build_functions()\n"),
        Valid(
            "import asyncio\n\n"
            "def render(ctx, path):\n    return path\n\n"
            "async def report(ctx, path):\n    return await asyncio.to_thread(render, ctx, path)\n\n"
            "class WorkerSettings:\n    functions = [report]\n"
        ),
        Valid(
            "class Plugins:\n    functions = [len]\n\n"
            "def handler(ctx):\n    return ctx\n\n"
            "class Registry:\n    functions = [handler]\n"
        ),
        Valid(
            "from arq import cron\n\n"
            "async def cleanup(ctx):\n    ...\n\n"
            "class WorkerSettings:\n    cron_jobs = [cron(cleanup, hour=3)]\n"
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.decorator_list or self.ctx.enclosing_defs:
            return
        jobs = self.ctx.model.arq.jobs_of(node)
        if not jobs:
            return
        via = {"functions": "listed as a job", "func": "wrapped by `func()`", "cron": "wrapped by `cron()`"}
        self.report(
            _head(node),
            f"`{node.name}` is {via[jobs[0].ref.via]} of `{jobs[0].worker.name.rpartition('.')[2]}` but is not "
            "`async def`: ARQ refuses to start the worker",
            self._fix(node),
        )

    def _fix(self, node: ast.FunctionDef) -> Fix:
        col = self.ctx.source.char_col(node.lineno, node.col_offset)
        edit = Edit(node.lineno, col, node.lineno, col, "async ")
        return Fix("Define it with `async def`", (edit,), Applicability.UNSAFE)


def _head(node: ast.FunctionDef) -> ast.AST:
    """`def name`: where a finding about a whole function is shown."""
    head = ast.Name(id=node.name)
    head.lineno = head.end_lineno = node.lineno
    head.col_offset = node.col_offset
    head.end_col_offset = node.col_offset + len("def ") + len(node.name.encode())
    return head
