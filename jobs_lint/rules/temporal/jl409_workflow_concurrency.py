from __future__ import annotations

import ast

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Valid
from jobs_lint.rules.temporal.workflow_code import WorkflowCodeRule

# asyncio functions whose order depends on sets -> Temporal's deterministic version.
DETERMINISTIC = {"asyncio.wait": "wait", "asyncio.as_completed": "as_completed"}
# Calls that run code outside the workflow's event loop.
OFF_LOOP = frozenset(
    {
        "asyncio.to_thread",
        "asyncio.run_coroutine_threadsafe",
        "threading.Thread",
        "threading.Timer",
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "concurrent.futures.thread.ThreadPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor",
        "multiprocessing.Process",
        "multiprocessing.Pool",
        "multiprocessing.pool.ThreadPool",
    }
)


class WorkflowConcurrency(WorkflowCodeRule):
    """
    ## What it does
    Finds concurrency primitives in workflow code (the methods of `@workflow.defn` classes and the
    same-module functions they call) that Temporal cannot replay: `asyncio.wait` and
    `asyncio.as_completed`, and anything that runs code off the workflow's event loop: threads,
    thread and process pools, `asyncio.to_thread`, `asyncio.run_coroutine_threadsafe` and
    `loop.run_in_executor`.

    ## Why is this bad?
    A workflow is replayed from its history on any worker, at any time, and must make the same
    decisions in the same order. `asyncio.wait` and `asyncio.as_completed` keep their futures in
    sets, whose order changes from one process to the next: replay can take another branch and
    fail with a non-determinism error. Threads and executors run outside the deterministic event
    loop Temporal drives; what they do is not recorded, their timing decides the result, and the
    workflow sandbox may refuse them outright.

    Use `workflow.wait` and `workflow.as_completed`, which keep their futures in lists. Move work
    that needs threads or processes into an activity.

    ## Fix safety
    Replacing `asyncio.wait` with `workflow.wait` and `asyncio.as_completed` with
    `workflow.as_completed` (importing `workflow` from `temporalio` when needed) is safe: they
    take the same arguments. `workflow.wait` returns its done and pending futures as lists, not
    sets, which iterating and `len()` do not notice.
    """

    code = "JL409"
    name = "workflow-concurrency"
    summary = "Workflow code uses a concurrency primitive that breaks replay"
    needles = (
        needles.TEMPORAL,
        (b"asyncio", b"wait", b"as_completed", b"Thread", b"thread", b"Executor", b"Pool", b"Process"),
    )
    fix = Applicability.SAFE

    invalid = (
        Invalid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Race:\n"
            "    @workflow.run\n    async def run(self, tasks: list) -> None:\n"
            "        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)\n",
            fixed="import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Race:\n"
            "    @workflow.run\n    async def run(self, tasks: list) -> None:\n"
            "        done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)\n",
            line=8,
            message="`asyncio.wait` orders its futures by a set, which can differ on replay",
        ),
        Invalid(
            "import asyncio as aio\nfrom temporalio import workflow as wf\n\n"
            "@wf.defn\nclass Fanout:\n"
            "    @wf.run\n    async def run(self, jobs: list) -> list:\n"
            "        return [await job for job in aio.as_completed(jobs)]\n",
            fixed="import asyncio as aio\nfrom temporalio import workflow as wf\n\n"
            "@wf.defn\nclass Fanout:\n"
            "    @wf.run\n    async def run(self, jobs: list) -> list:\n"
            "        return [await job for job in wf.as_completed(jobs)]\n",
            line=8,
            message="`asyncio.as_completed` orders its futures by a set, which can differ",
        ),
        Invalid(
            "from asyncio import wait\nfrom temporalio.workflow import defn, run\n\n"
            "async def first(tasks):\n    return await wait(tasks, timeout=5)\n\n"
            "@defn\nclass Quick:\n    @run\n    async def run(self, tasks) -> None:\n        await first(tasks)\n",
            fixed="from asyncio import wait\nfrom temporalio.workflow import defn, run\n"
            "from temporalio import workflow\n\n"
            "async def first(tasks):\n    return await workflow.wait(tasks, timeout=5)\n\n"
            "@defn\nclass Quick:\n    @run\n    async def run(self, tasks) -> None:\n        await first(tasks)\n",
            line=5,
            message="`asyncio.wait` orders its futures by a set, which can differ on replay",
        ),
        Invalid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Score:\n"
            "    @workflow.run\n    async def run(self, rows: list) -> int:\n"
            "        return await asyncio.to_thread(sum, rows)\n",
            line=8,
            message="`asyncio.to_thread` runs code off the workflow's event loop, where",
        ),
        Invalid(
            "import threading\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Watch:\n"
            "    @workflow.signal\n    def start(self) -> None:\n"
            "        threading.Thread(target=self.poll, daemon=True).start()\n\n"
            "    def poll(self) -> None:\n        pass\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n        pass\n",
            line=8,
            message="`threading.Thread` runs code off the workflow's event loop, where",
        ),
        Invalid(
            "import asyncio\nfrom concurrent.futures import ThreadPoolExecutor\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Crunch:\n"
            "    @workflow.run\n    async def run(self, rows: list) -> int:\n"
            "        loop = asyncio.get_running_loop()\n"
            "        with ThreadPoolExecutor() as pool:\n"
            "            return await loop.run_in_executor(pool, sum, rows)\n",
            line=10,
            message="`concurrent.futures.ThreadPoolExecutor` runs code off the workflow's",
        ),
    )
    valid = (
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Race:\n"
            "    @workflow.run\n    async def run(self, tasks: list) -> None:\n"
            "        done, pending = await workflow.wait(tasks, return_when=asyncio.FIRST_COMPLETED)\n"
            "        await asyncio.gather(*pending)\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def crunch(rows: list) -> int:\n"
            "    beat = asyncio.create_task(asyncio.sleep(1))\n"
            "    await asyncio.wait([beat])\n"
            "    return await asyncio.to_thread(sum, rows)\n"
        ),
        Valid(
            "import asyncio\nfrom concurrent.futures import ThreadPoolExecutor\n"
            "from temporalio import workflow\nfrom temporalio.worker import Worker\n\n"
            "@workflow.defn\nclass Greet:\n    @workflow.run\n    async def run(self) -> str:\n        return 'hi'\n\n"
            "async def main(client):\n"
            "    worker = Worker(client, task_queue='q', workflows=[Greet], activity_executor=ThreadPoolExecutor(5))\n"
            "    handles = [client.start_workflow(Greet.run, id=str(i), task_queue='q') for i in range(3)]\n"
            "    for handle in asyncio.as_completed(handles):\n        await handle\n"
            "    await worker.run()\n"
        ),
        Valid(
            "import asyncio\nimport threading\n\n"
            "class Poller:\n    async def run(self, tasks):\n"
            "        threading.Thread(target=print).start()\n"
            "        return await asyncio.wait(tasks)\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Timeout:\n"
            "    @workflow.run\n    async def run(self, handle) -> None:\n"
            "        await asyncio.wait_for(asyncio.shield(handle), timeout=10)\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Lock:\n"
            "    def __init__(self) -> None:\n        self.lock = workflow.asyncio_lock()\n\n"
            "    @workflow.run\n    async def run(self, event) -> None:\n        await event.wait()\n"
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "run_in_executor":
            path: str | None = "run_in_executor"
        else:
            path = self.ctx.model.qualname(func, self.ctx.scope)
            if path not in OFF_LOOP and path not in DETERMINISTIC:
                return
        if path is None or self.workflow() is None:
            return
        if path not in DETERMINISTIC:
            self.report(
                node, f"`{path}` runs code off the workflow's event loop, where replay cannot follow: use an activity"
            )
            return
        replacement = DETERMINISTIC[path]
        self.report(
            node,
            f"`{path}` orders its futures by a set, which can differ on replay: use `workflow.{replacement}`",
            self._fix(func, replacement),
        )

    def _fix(self, func: ast.expr, replacement: str) -> Fix | None:
        model = self.ctx.model
        name = model.temporal.workflow_module_name
        imports: tuple[tuple[str, str | None], ...] = ()
        if name is None:
            if "workflow" in model.module_scope.bindings or model.scopes.star_imports:
                return None  # `workflow` names something else here
            name, imports = "workflow", (("temporalio", "workflow"),)
        edit = edits.replace(self.ctx.source, func, f"{name}.{replacement}")
        return Fix(f"Use `{name}.{replacement}`", (edit,), imports=imports)
