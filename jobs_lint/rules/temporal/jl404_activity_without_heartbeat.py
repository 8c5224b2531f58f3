from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.rules.temporal.jl404_examples import REACHED_INVALID, REACHED_VALID
from jobs_lint.semantic.blocking import io_call, long_call, quick_io
from jobs_lint.semantic.summaries import BLOCKING, IO
from jobs_lint.semantic.temporal.project import completes_async, heartbeats
from jobs_lint.semantic.temporal.timeouts import longest_run, timeout_unread

if TYPE_CHECKING:
    from jobs_lint.checker import Context
    from jobs_lint.semantic.callgraph import Reach

_SLEEPS = frozenset({"time.sleep", "asyncio.sleep"})
DOES_IO = frozenset({IO, BLOCKING})
# Longer than this, an activity is a long one: a crashed worker would hold its work that long
# before a retry starts. A workflow's timeout of at most this bounds a loop well enough.
LONG_RUN = 10 * 60.0


class ActivityWithoutHeartbeat(Rule):
    """
    ## What it does
    Finds activities that never heartbeat although they run long or are expected to:
    - an activity called with a `heartbeat_timeout` that never calls `activity.heartbeat()`,
      itself or in a function it calls (the activity may be defined in another module and named
      by its function, `activities.export`, a method of an activities object or its registered
      name);
    - an activity, `async def` or a plain `def` run on the worker's thread pool, that a workflow
      lets run for more than 10 minutes (its `start_to_close_timeout`, else its
      `schedule_to_close_timeout`, written here or as a constant of another module) and that
      does I/O itself or through the functions it calls,
      in any module, without ever heartbeating: reported on the first loop of its body that
      waits on I/O (see below), where the time goes, else on the activity's `def`, naming what
      does the I/O (another program it runs first; quick file-system calls do not count);
    - an activity with a loop that waits on I/O (an `await`, an `async for`, a blocking I/O call,
      a sleep, or a call to a function that does I/O, in the loop) and never heartbeats, unless
      every workflow that schedules it gives it 10 minutes or less, or a timeout the linter
      cannot read (`timedelta(seconds=60 * len(items))`: bounded, by how much is not known).

    Heartbeats sent by a function the activity calls (in any module), by a helper named like
    one (`Heartbeater`, `@auto_heartbeater`) or by whoever completes an asynchronously completed
    activity count. An activity that calls `activity.raise_complete_async()` is reported only
    when the project completes it (`client.get_async_activity_handle(...)`) and never
    heartbeats through such a handle: a completer outside the project may.

    ## Why is this bad?
    With a `heartbeat_timeout` and no heartbeats, every attempt times out after that timeout,
    however healthy it is, and is retried to the same end. Without heartbeats at all, a worker
    that crashed in the middle of a long activity is noticed only when `start_to_close_timeout`
    runs out, and a cancelled activity is never told: cancellation reaches an activity only
    through its heartbeats. Call `activity.heartbeat(progress)` in the loop and pass a
    `heartbeat_timeout` a little above the interval.
    """

    code = "JL404"
    name = "activity-without-heartbeat"
    summary = "A long-running activity, or one given a heartbeat timeout, never heartbeats"
    needles = (needles.TEMPORAL,)

    invalid = (
        Invalid(
            "import httpx\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def crawl(urls: list[str]) -> int:\n"
            "    total = 0\n"
            "    async with httpx.AsyncClient() as client:\n"
            "        for url in urls:\n"
            "            total += len((await client.get(url)).content)\n"
            "    return total\n",
            line=8,
            message="Activity `crawl` loops over I/O without `activity.heartbeat()`",
        ),
        Invalid(
            "import time\n\nimport requests\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef wait_for_export(url: str) -> str:\n"
            "    while True:\n"
            "        reply = requests.get(url, timeout=10)\n"
            "        if reply.ok:\n            return reply.text\n"
            "        time.sleep(30)\n",
            line=8,
            message="Activity `wait_for_export` loops over I/O without",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "class Sync:\n"
            "    @activity.defn\n    async def copy(self, source, target) -> None:\n"
            "        async for row in source.rows():\n            await target.write(row)\n",
            line=6,
            message="Activity `copy` loops over I/O without `activity.heartbeat()`",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn(name='resize')\nasync def resize(image: str) -> str:\n    return image\n\n"
            "@workflow.defn\nclass Images:\n"
            "    @workflow.run\n    async def run(self, image: str) -> str:\n"
            "        return await workflow.execute_activity(\n"
            "            'resize',\n"
            "            image,\n"
            "            start_to_close_timeout=timedelta(minutes=5),\n"
            "            heartbeat_timeout=timedelta(seconds=10),\n"
            "        )\n",
            line=16,
            message="Activity `resize` never heartbeats",
        ),
        Invalid(
            "import subprocess\nfrom datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\ndef transcode(path: str) -> None:\n"
            "    subprocess.run(['ffmpeg', '-i', path, path + '.mp4'], check=True)\n\n"
            "@workflow.defn\nclass Videos:\n"
            "    @workflow.run\n    async def run(self, path: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            transcode, path, schedule_to_close_timeout=timedelta(hours=2),\n"
            "        )\n",
            line=6,
            message="Activity `transcode` may run for 2 hours (the timeout its workflow gives it) and does I/O "
            "(`subprocess.run`) but never heartbeats",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def sync_labels(store, client) -> None:\n"
            "    await store.connect()\n"
            "    for task in client.tasks.list():\n"
            "        if activity.is_cancelled():\n            return\n"
            "        await store.upsert(task)\n\n"
            "@workflow.defn\nclass Labels:\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            sync_labels, args=[None, None], schedule_to_close_timeout=timedelta(minutes=20),\n"
            "        )\n",
            line=7,
            message="Activity `sync_labels` loops over I/O without `activity.heartbeat()`, and may run for "
            "20 minutes (the timeout its workflow gives it)",
        ),
        *REACHED_INVALID,
    )
    valid = (
        Valid(
            "import httpx\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def crawl(urls: list[str]) -> int:\n"
            "    total = 0\n"
            "    async with httpx.AsyncClient() as client:\n"
            "        for done, url in enumerate(urls):\n"
            "            total += len((await client.get(url)).content)\n"
            "            activity.heartbeat(done)\n"
            "    return total\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "def beat(done: int) -> None:\n    activity.heartbeat(done)\n\n"
            "class Sync:\n"
            "    @activity.defn\n    async def copy(self, source, target) -> None:\n"
            "        async for row in source.rows():\n            await target.write(row)\n"
            "            self._progress(row)\n\n"
            "    def _progress(self, row) -> None:\n        beat(row.id)\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\ndef total(prices: list[float]) -> float:\n"
            "    result = 0.0\n"
            "    for price in prices:\n        result += price\n"
            "    return result\n"
        ),
        Valid(
            "from proj.heartbeat import auto_heartbeater\nfrom temporalio import activity\n\n"
            "@activity.defn\n@auto_heartbeater\nasync def crawl(client, urls: list[str]) -> None:\n"
            "    for url in urls:\n        await client.get(url)\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Export:\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        for part in range(3):\n"
            "            await workflow.execute_activity(\n"
            "                'export',\n"
            "                part,\n"
            "                start_to_close_timeout=timedelta(minutes=5),\n"
            "                heartbeat_timeout=timedelta(seconds=30),\n"
            "            )\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def crawl(urls: list[str]) -> None:\n"
            "    activity.raise_complete_async()\n"
        ),
        Valid(
            "async def crawl(client, urls: list[str]) -> None:\n    for url in urls:\n        await client.get(url)\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def summarise(client, prompts: list[str]) -> list[str]:\n"
            "    answers = []\n"
            "    for prompt in prompts:\n        answers.append(await client.complete(prompt))\n"
            "    return answers\n\n"
            "@workflow.defn\nclass Summaries:\n"
            "    @workflow.run\n    async def run(self, prompts: list[str]) -> list[str]:\n"
            "        return await workflow.execute_activity(\n"
            "            summarise, prompts, start_to_close_timeout=timedelta(minutes=5),\n"
            "        )\n"
        ),
        Valid(
            "import subprocess\nfrom datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\ndef render(path: str) -> None:\n"
            "    subprocess.run(['convert', path, path + '.png'], check=True)\n\n"
            "@workflow.defn\nclass Images:\n"
            "    @workflow.run\n    async def run(self, path: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            render, path, start_to_close_timeout=timedelta(minutes=2),\n"
            "        )\n"
        ),
        *REACHED_VALID,
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._reported: set[str] = set()
        # Long activities that do I/O, by qualified name: how long they may run and what I/O.
        self._long: dict[str, tuple[float, list[Reach]]] = {}

    def visit_Call(self, node: ast.Call) -> None:
        call = self.ctx.model.temporal.activity_call(node, self.ctx.scope)
        if call is None or call.activity is None or heartbeats(self.ctx.index, call.activity):
            return
        timeout = call.keyword("heartbeat_timeout")
        if timeout is None or (isinstance(timeout, ast.Constant) and timeout.value is None):
            return
        name = (call.activity.alias or call.activity.qualname).rpartition(".")[2]
        if completes_async(self.ctx.index, call.activity):
            self.report(
                timeout,
                f"Activity `{name}` is completed from outside (`activity.raise_complete_async()`) and nothing "
                "heartbeats for it while it waits (`handle.heartbeat()`): the wait fails when this "
                "`heartbeat_timeout` runs out",
            )
            return
        self.report(
            timeout,
            f"Activity `{name}` never heartbeats: every attempt will fail when this `heartbeat_timeout` runs out",
        )

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        temporal = self.ctx.model.temporal
        activity = temporal.activity_of(node)
        if activity is None or heartbeats(self.ctx.index, activity):
            return
        seconds = longest_run(temporal, activity)
        if seconds is None or seconds <= LONG_RUN:
            return
        reached = [
            reach
            for reach, _ in self.ctx.index.calls.effects_reached(activity.qualname, DOES_IO)
            if not quick_io(reach.effect.callee)
        ]
        if reached:  # no I/O, or only quick file-system calls: not work that takes long
            # Reported when the body is left, unless a loop over I/O in it is reported first.
            self._long[activity.qualname] = (seconds, reached)

    visit_AsyncFunctionDef = visit_FunctionDef

    def leave_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        activity = self.ctx.model.temporal.activity_of(node)
        if activity is None or activity.qualname in self._reported or activity.qualname not in self._long:
            return
        seconds, reached = self._long.pop(activity.qualname)
        work = next((reach for reach in reached if long_call(reach.effect.callee)), reached[0])
        self._reported.add(activity.qualname)
        name = activity.qualname.rpartition(".")[2]
        through = f" through `{work.chain}`" if len(work.hops) > 1 else f" (`{work.effect.callee}`)"
        self.report(
            _def_head(node),
            f"Activity `{name}` may run for {_minutes(seconds)} (the timeout its workflow gives it) and does I/O"
            f"{through} but never heartbeats: a crashed worker is noticed only when the timeout runs out and "
            "cancellation never reaches it; call `activity.heartbeat()` as it works and set a `heartbeat_timeout`",
            related=work.related if len(work.hops) > 1 else (),
        )

    leave_AsyncFunctionDef = leave_FunctionDef

    def visit_For(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        temporal = self.ctx.model.temporal
        activity = temporal.in_activity(self.ctx.enclosing_defs)
        if activity is None or activity.qualname in self._reported or heartbeats(self.ctx.index, activity):
            return
        seconds = longest_run(temporal, activity)
        if seconds is not None and seconds <= LONG_RUN:
            return
        if seconds is None and timeout_unread(temporal, activity):
            return  # a workflow bounds it, by how much is not known
        if isinstance(node, ast.AsyncFor) or any(self._waits(child) for child in ast.walk(node)):
            self._reported.add(activity.qualname)
            # The loop is where the time goes: the finding goes there, with the timeout if known.
            runs = (
                "" if seconds is None else f", and may run for {_minutes(seconds)} (the timeout its workflow gives it)"
            )
            self.report(
                node,
                f"Activity `{activity.qualname.rpartition('.')[2]}` loops over I/O without "
                f"`activity.heartbeat()`{runs}: a crashed worker is noticed late and cancellation never reaches it",
            )

    visit_AsyncFor = visit_For
    visit_While = visit_For

    def _waits(self, node: ast.AST) -> bool:
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return True
        if isinstance(node, ast.Call):
            path = self.ctx.model.temporal.qualname(node.func, self.ctx.scope)
            if path in _SLEEPS or io_call(path):
                return True
            defs = self.ctx.enclosing_defs
            return bool(defs) and self.ctx.model.reach_of(node, defs[-1], DOES_IO) is not None
        return False


def _def_head(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
    """`def name` (`async def name`): where a finding about a whole activity is shown."""
    keyword = "async def " if isinstance(node, ast.AsyncFunctionDef) else "def "
    head = ast.Name(id=node.name)
    head.lineno = head.end_lineno = node.lineno
    head.col_offset = node.col_offset
    head.end_col_offset = node.col_offset + len(keyword) + len(node.name.encode())
    return head


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 120 and minutes % 60 == 0:
        return f"{int(minutes // 60)} hours"
    return f"{minutes:g} minutes"
