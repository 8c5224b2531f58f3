from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.values import string_value

if TYPE_CHECKING:
    from jobs_lint.checker import Context

# `@app.post(...)`, `@router.get(...)`, `@bp.route(...)`: a web framework's request handler.
_ROUTES = frozenset({"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"})


class EnqueueWithoutJobId(Rule):
    """
    ## What it does
    Finds `enqueue_job("name", ...)` calls without `_job_id` where the same job is likely to be
    enqueued more than once: in a loop, or in a web request handler (a function decorated with
    `@app.post(...)`, `@router.get(...)` and the like).

    ## Why is this bad?
    Without `_job_id`, ARQ gives every enqueue a random id, so nothing stops a duplicate: a
    request retried by the client or a load balancer, a double click, or a cron job that runs
    its loop again after a crash enqueues the same work twice, and it runs twice. With a
    `_job_id` built from the arguments (`f"invoice:{order_id}"`), a second enqueue returns
    `None` while the first job is queued, running or its result is kept.

    This is a heuristic, off by default: select it to audit a project. Over nine public ARQ
    codebases (ARQ's own docs and tests, and eight applications) it reported 9 calls, of which
    1 was a duplicate worth preventing (a password-reset email sent again on a retried
    request); the others were fan-out loops over distinct items, tests and demo endpoints,
    where a duplicate is harmless.
    """

    code = "JL306"
    name = "arq-enqueue-without-job-id"
    summary = "An ARQ job is enqueued in a loop or request handler without `_job_id`"
    needles = ((b"enqueue_job",),)
    default = False

    invalid = (
        Invalid(
            "async def nightly(ctx):\n"
            "    for invoice_id in await ctx['db'].due_invoices():\n"
            "        await ctx['redis'].enqueue_job('send_invoice', invoice_id)\n",
            line=3,
            message="`enqueue_job('send_invoice')` in a loop has no `_job_id`",
        ),
        Invalid(
            "from fastapi import APIRouter, Request\n\nrouter = APIRouter()\n\n"
            "@router.post('/orders/{order_id}/invoice')\n"
            "async def create_invoice(order_id: int, request: Request):\n"
            "    await request.app.state.arq.enqueue_job('send_invoice', order_id)\n",
            line=7,
            message="`enqueue_job('send_invoice')` in request handler `create_invoice` has",
        ),
        Invalid(
            "async def fan_out(redis, ids):\n"
            "    return [await redis.enqueue_job('resize', i, _defer_by=10) for i in ids]\n",
            line=2,
            message="`enqueue_job('resize')` in a loop has no `_job_id`",
        ),
        Invalid(
            "from fastapi import FastAPI\n\napp = FastAPI()\n\n"
            "@app.get('/refresh')\nasync def refresh():\n"
            "    job = await app.state.pool.enqueue_job('refresh_cache')\n"
            "    return {'id': job.job_id}\n",
            line=7,
            message="`enqueue_job('refresh_cache')` in request handler `refresh` has no",
        ),
        Invalid(
            "async def drain(pool, queue):\n    while queue:\n        await pool.enqueue_job('process', queue.pop())\n",
            line=3,
            message="`enqueue_job('process')` in a loop has no `_job_id`",
        ),
    )
    valid = (
        Valid(
            "async def nightly(ctx):\n"
            "    for invoice_id in await ctx['db'].due_invoices():\n"
            "        await ctx['redis'].enqueue_job('send_invoice', invoice_id, _job_id=f'invoice:{invoice_id}')\n"
        ),
        Valid("async def enqueue(redis, order_id):\n    await redis.enqueue_job('send_invoice', order_id)\n"),
        Valid(
            "async def nightly(redis, ids, **options):\n"
            "    for i in ids:\n        await redis.enqueue_job('resize', i, **options)\n"
        ),
        Valid(
            "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n"
            "@router.post('/orders')\nasync def create(order: dict, queue):\n"
            "    def later():\n        return queue.enqueue_job('audit', order['id'])\n"
            "    return later\n"
        ),
        Valid("def retry_all(queue, jobs):\n    for job in jobs:\n        queue.enqueue(job)\n"),
        Valid("async def requeue(redis, names):\n    for name in names:\n        await redis.enqueue_job(name)\n"),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._loops = [0]  # loop depth, per function being walked

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._loops.append(0)

    def leave_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._loops.pop()

    visit_AsyncFunctionDef = visit_FunctionDef
    leave_AsyncFunctionDef = leave_FunctionDef

    def _enter_loop(self, node: ast.AST) -> None:
        self._loops[-1] += 1

    def _leave_loop(self, node: ast.AST) -> None:
        self._loops[-1] -= 1

    visit_For = visit_AsyncFor = visit_While = _enter_loop
    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _enter_loop
    leave_For = leave_AsyncFor = leave_While = _leave_loop
    leave_ListComp = leave_SetComp = leave_GeneratorExp = leave_DictComp = _leave_loop

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "enqueue_job" and node.args):
            return
        name = string_value(node.args[0])
        if name is None or any(keyword.arg in (None, "_job_id") for keyword in node.keywords):
            return
        if self._loops[-1]:
            self.report(
                node,
                f"`enqueue_job('{name}')` in a loop has no `_job_id`: when this code runs again, every "
                "job is enqueued again; pass a `_job_id` built from the arguments",
            )
            return
        handler = self._request_handler()
        if handler is not None:
            self.report(
                node,
                f"`enqueue_job('{name}')` in request handler `{handler}` has no `_job_id`: a retried "
                "request enqueues the job twice; pass a `_job_id` built from the arguments",
            )

    def _request_handler(self) -> str | None:
        defs = self.ctx.enclosing_defs
        if not defs:
            return None
        function = defs[-1]
        for decorator in function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and target.attr in _ROUTES:
                return function.name
        return None
