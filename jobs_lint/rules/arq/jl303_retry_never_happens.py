from __future__ import annotations

import ast

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.arq import module as arq
from jobs_lint.semantic.values import literal

_SETTINGS = "\n\nclass WorkerSettings:\n    functions = [{job}]\n    max_tries = 5\n"


class RetryNeverHappens(Rule):
    """
    ## What it does
    Finds ARQ retries that do not happen as written:

    - a job whose worker or `func(...)` sets `max_tries` above 1 and that catches a transient
      error (a timeout, a lost connection, `httpx.HTTPError`, or `Exception` as a whole) only to
      raise something other than `Retry`, or to re-raise it;
    - `raise Retry()` with no `defer`.

    ## Why is this bad?
    ARQ runs a job again only when it raises `Retry` or `RetryJob`, or when it is cancelled.
    Any other exception fails the job for good, whatever `max_tries` says: the timeout the
    handler was written for is never retried. `Retry()` without `defer` puts the job back at the
    front of the queue, so it burns through its tries in milliseconds, against a service that
    is still down. Raise `Retry(defer=ctx["job_try"] * 5)` (or another backoff) instead.

    ## Fix safety
    `Retry()` inside a job becomes `Retry(defer=ctx["job_try"] * 5)`, with the job's own context
    parameter. The fix is unsafe: it changes when the job runs again.
    """

    code = "JL303"
    name = "arq-retry-never-happens"
    summary = "An ARQ job's retry never happens, or happens in a hot loop"
    needles = (needles.ARQ_JOBS, (b"Retry", b"async def"), (b"Retry", b"except"))
    fix = Applicability.UNSAFE

    invalid = (
        Invalid(
            "from arq import Retry\n\n"
            "async def sync_orders(ctx, shop_id):\n"
            "    if not await ctx['shop'].ready(shop_id):\n"
            "        raise Retry()\n",
            fixed="from arq import Retry\n\n"
            "async def sync_orders(ctx, shop_id):\n"
            "    if not await ctx['shop'].ready(shop_id):\n"
            "        raise Retry(defer=ctx['job_try'] * 5)\n",
            line=5,
            message="`Retry()` without `defer` runs the job again at once, in a hot loop",
        ),
        Invalid(
            "import httpx\n\n"
            "async def notify(ctx, url):\n"
            "    try:\n"
            "        await ctx['http'].post(url)\n"
            "    except httpx.TimeoutException as error:\n"
            "        raise RuntimeError('notify failed') from error\n" + _SETTINGS.format(job="notify"),
            line=7,
            message="Job `notify` catches `httpx.TimeoutException` and raises another error",
        ),
        Invalid(
            "from arq import func\n\n"
            "async def charge(ctx, order_id):\n"
            "    try:\n"
            "        await ctx['payments'].charge(order_id)\n"
            "    except (ConnectionError, TimeoutError):\n"
            "        ctx['log'].warning('payment service down')\n"
            "        raise\n\n"
            "class WorkerSettings:\n    functions = [func(charge, max_tries=10)]\n",
            line=8,
            message="Job `charge` catches `ConnectionError` and re-raises it",
        ),
        Invalid(
            "import asyncio\nimport arq\n\n"
            "async def poll(context, job_id):\n"
            "    try:\n"
            "        return await asyncio.wait_for(context['api'].status(job_id), 10)\n"
            "    except asyncio.TimeoutError:\n"
            "        raise arq.Retry(defer=0)\n",
            line=8,
            message="`Retry()` without `defer` runs the job again at once, in a hot loop",
        ),
        Invalid(
            "async def report(ctx, day):\n"
            "    try:\n"
            "        return await ctx['warehouse'].export(day)\n"
            "    except Exception as error:\n"
            "        raise ValueError(f'export of {day} failed') from error\n" + _SETTINGS.format(job="report"),
            line=5,
            message="Job `report` catches `Exception` and raises another error",
        ),
    )
    valid = (
        Valid(
            "from arq import Retry\n\n"
            "async def sync_orders(ctx, shop_id):\n"
            "    if not await ctx['shop'].ready(shop_id):\n"
            "        raise Retry(defer=ctx['job_try'] * 5)\n"
        ),
        Valid(
            "import httpx\nfrom arq import Retry\n\n"
            "async def notify(ctx, url):\n"
            "    try:\n"
            "        await ctx['http'].post(url)\n"
            "    except httpx.TimeoutException as error:\n"
            "        raise Retry(defer=10) from error\n" + _SETTINGS.format(job="notify")
        ),
        Valid(
            "import httpx\n\n"
            "async def notify(ctx, url):\n"
            "    try:\n"
            "        await ctx['http'].post(url)\n"
            "    except httpx.TimeoutException as error:\n"
            "        raise RuntimeError('notify failed') from error\n\n"
            "class WorkerSettings:\n    functions = [notify]\n"
        ),
        Valid(
            "from urllib3.util import Retry\n\nretries = Retry()\n",
        ),
        Valid(
            "async def report(ctx, day):\n"
            "    try:\n"
            "        return await ctx['warehouse'].export(day)\n"
            "    except KeyError as error:\n"
            "        raise ValueError(f'no warehouse for {day}') from error\n" + _SETTINGS.format(job="report")
        ),
        Valid(
            "from arq import Retry, cron\n\n"
            "async def cleanup(ctx):\n"
            "    try:\n"
            "        await ctx['db'].vacuum()\n"
            "    except TimeoutError:\n"
            "        if ctx['job_try'] > 3:\n"
            "            raise RuntimeError('gave up')\n"
            "        raise Retry(defer=60)\n\n"
            "class WorkerSettings:\n    cron_jobs = [cron(cleanup, hour=3, max_tries=5)]\n"
        ),
        Valid(
            "async def send(ctx, to):\n"
            "    try:\n"
            "        await ctx['smtp'].send(to)\n"
            "    except TimeoutError:\n"
            "        raise\n\n"
            "class WorkerSettings:\n    functions = [send]\n    max_tries = 1\n"
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        module = self.ctx.model.arq
        if module.name(node.func, self.ctx.scope) != arq.RETRY:
            return
        defer = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "defer"), None)
        if defer is not None and literal(defer) not in (0, None):
            return
        if any(keyword.arg is None for keyword in node.keywords):
            return
        self.report(
            node,
            "`Retry()` without `defer` runs the job again at once, in a hot loop: back off with `Retry(defer=...)`",
            self._defer_fix(node),
        )

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        defs = self.ctx.enclosing_defs
        if not defs or len(defs) > 1 or not isinstance(defs[0], ast.AsyncFunctionDef):
            return
        job = defs[0]
        jobs = self.ctx.model.arq.jobs_of(job)
        tries = [j.max_tries for j in jobs if j.max_tries_set and j.worker.retry_jobs is not False]
        if not any(isinstance(t, int) and t > 1 for t in tries):
            return
        caught = self._caught(node.type)
        if caught is None:
            return
        raises = list(_raises(node.body))
        module = self.ctx.model.arq
        if any(r.exc is not None and module.name(_raised(r.exc), self.ctx.scope) in _RETRIES for r in raises):
            return
        limit = max(t for t in tries if isinstance(t, int))
        params = job.args.posonlyargs + job.args.args
        context = params[0].arg if params else "ctx"
        for statement in raises:
            what = "re-raises it" if statement.exc is None else "raises another error"
            self.report(
                statement,
                f"Job `{job.name}` catches `{caught}` and {what}: ARQ retries only on `Retry`, so "
                f"`max_tries={limit}` never applies; raise `Retry(defer={context}['job_try'] * 5)`",
            )

    def _caught(self, node: ast.expr | None) -> str | None:
        """The first transient (or catch-all) exception a handler catches."""
        if node is None:
            return "everything"
        types = node.elts if isinstance(node, ast.Tuple) else [node]
        for element in types:
            path = self.ctx.model.qualname(element, self.ctx.scope)
            if path in arq.TRANSIENT_ERRORS or path in arq.BROAD_ERRORS:
                return path
        return None

    def _defer_fix(self, call: ast.Call) -> Fix | None:
        defs = self.ctx.enclosing_defs
        function = defs[-1] if defs else None
        if not isinstance(function, ast.AsyncFunctionDef) or call.args or call.keywords:
            return None
        params = function.args.posonlyargs + function.args.args
        if not params:
            return None
        quote = "'" if "'" in self.ctx.source.text and '"' not in self.ctx.source.text else '"'
        func = edits.text_of(self.ctx.source, call.func)
        backoff = f"{func}(defer={params[0].arg}[{quote}job_try{quote}] * 5)"
        return Fix("Back off with `defer`", (edits.replace(self.ctx.source, call, backoff),), Applicability.UNSAFE)


_RETRIES = frozenset({arq.RETRY, arq.RETRY_JOB})


def _raised(node: ast.expr) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node


def _raises(body: list[ast.stmt]) -> list[ast.Raise]:
    """The `raise` statements of a handler's body, outside nested defs."""
    found = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Raise):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found
