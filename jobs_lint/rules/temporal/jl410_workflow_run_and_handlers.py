from __future__ import annotations

import ast

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.temporal.handlers import WorkflowHandlers

RUN = "temporalio.workflow.run"


class WorkflowRunAndHandlers(Rule):
    """
    ## What it does
    Finds a `@workflow.run` method written as a plain `def`, and async signal or update handlers
    that wait on something (an activity, a timer, a condition, a lock) in a workflow whose code
    never waits for `workflow.all_handlers_finished()`.

    Left alone: handlers whose decorator chooses `unfinished_policy=...ABANDON`; handlers that
    only yield (`queue.put(...)`, `asyncio.sleep(0)`); handlers that end by setting what the run
    method waits for, or that only wait for state the run method sets before it waits again;
    and run methods that never return (`await asyncio.Future()`, a loop without exit), which
    only termination ends.

    ## Why is this bad?
    Temporal requires the run method to be a coroutine: a plain `def` raises `ValueError` when
    the module is imported, so the worker does not start.

    A workflow that returns (or continues as new) while a handler is still waiting abandons it:
    the update's caller gets an error instead of its result, the rest of a signal handler never
    runs, and the worker logs an unfinished-handlers warning. Before returning, wait for them:
    `await workflow.wait_condition(workflow.all_handlers_finished)`.

    ## Fix safety
    The fix turns the run method into `async def`. It is unsafe: code that calls the method
    directly (tests) must now await it, and a body that blocks should move to an activity.
    """

    code = "JL410"
    name = "workflow-run-and-handlers"
    summary = "A workflow run method is not async, or returns while async handlers may still run"
    needles = (needles.TEMPORAL, (b"run", b"signal", b"update"))
    fix = Applicability.UNSAFE

    invalid = (
        Invalid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Cart:\n"
            "    def __init__(self) -> None:\n        self.items: list[str] = []\n        self.done = False\n\n"
            "    @workflow.update\n    async def add(self, item: str) -> int:\n"
            "        await workflow.execute_activity(\n"
            "            'reserve', item, start_to_close_timeout=timedelta(seconds=10)\n        )\n"
            "        self.items.append(item)\n        return len(self.items)\n\n"
            "    @workflow.signal\n    def checkout(self) -> None:\n        self.done = True\n\n"
            "    @workflow.run\n    async def run(self) -> list[str]:\n"
            "        await workflow.wait_condition(lambda: self.done)\n        return self.items\n",
            line=10,
            message="Async update handler `add` can still be waiting when `run` returns",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Report:\n"
            "    @workflow.run\n    def run(self, name: str) -> str:\n        return name\n",
            fixed="from temporalio import workflow\n\n"
            "@workflow.defn\nclass Report:\n"
            "    @workflow.run\n    async def run(self, name: str) -> str:\n        return name\n",
            line=5,
            message="A `@workflow.run` method must be `async def`",
        ),
        Invalid(
            "import asyncio\nfrom temporalio.workflow import defn, signal, run as entry\n\n"
            "@defn\nclass Reminder:\n"
            "    @signal(name='snooze')\n    async def snooze(self, seconds: int) -> None:\n"
            "        await asyncio.sleep(seconds)\n\n"
            "    @entry\n    async def run(self) -> None:\n        await asyncio.sleep(60)\n",
            line=6,
            message="Async signal handler `snooze` can still be waiting when `run` returns",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Account:\n"
            "    def __init__(self) -> None:\n        self.lock = workflow.asyncio_lock()\n\n"
            "    @workflow.update(unfinished_policy=workflow.HandlerUnfinishedPolicy.WARN_AND_ABANDON)\n"
            "    async def withdraw(self, amount: int) -> None:\n"
            "        async with self.lock:\n            self.balance = amount\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        await workflow.wait_condition(lambda: False, timeout=3600)\n",
            line=8,
            message="Async update handler `withdraw` can still be waiting when `run`",
        ),
        Invalid(
            "import temporalio.workflow\n\n"
            "class Base:\n    @temporalio.workflow.run\n    def run(self) -> None:\n        pass\n",
            line=4,
            message="A `@workflow.run` method must be `async def`",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Chat:\n"
            "    @workflow.update(dynamic=True)\n    async def any(self, name: str, args: list) -> str:\n"
            "        return await self.reply(name)\n\n"
            "    async def reply(self, name: str) -> str:\n"
            "        return await workflow.execute_child_workflow('reply', name)\n\n"
            "    @workflow.signal\n    def close(self) -> None:\n        self.closed = True\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        self.closed = False\n        await workflow.wait_condition(lambda: self.closed)\n",
            line=5,
            message="Async update handler `any` can still be waiting when `run` returns",
        ),
    )
    valid = (
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Cart:\n"
            "    def __init__(self) -> None:\n        self.items: list[str] = []\n        self.done = False\n\n"
            "    @workflow.update\n    async def add(self, item: str) -> int:\n"
            "        await workflow.execute_activity(\n"
            "            'reserve', item, start_to_close_timeout=timedelta(seconds=10)\n        )\n"
            "        self.items.append(item)\n        return len(self.items)\n\n"
            "    @workflow.signal\n    def checkout(self) -> None:\n        self.done = True\n\n"
            "    @workflow.run\n    async def run(self) -> list[str]:\n"
            "        await workflow.wait_condition(lambda: self.done and workflow.all_handlers_finished())\n"
            "        return self.items\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Greeter:\n"
            "    def __init__(self) -> None:\n        self.names: asyncio.Queue[str] = asyncio.Queue()\n\n"
            "    @workflow.signal\n    async def greet(self, name: str) -> None:\n"
            "        await self.names.put(name)\n\n"
            "    @workflow.update\n    async def rename(self, name: str) -> str:\n"
            "        async def later() -> None:\n            await asyncio.sleep(1)\n"
            "        self.name = name\n        return name\n\n"
            "    @workflow.run\n    async def run(self) -> str:\n        return await self.names.get()\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Reminder:\n"
            "    @workflow.signal(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)\n"
            "    async def snooze(self, seconds: int) -> None:\n        await asyncio.sleep(seconds)\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n        await asyncio.sleep(60)\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "async def drain() -> None:\n    await workflow.wait_condition(workflow.all_handlers_finished)\n\n"
            "@workflow.defn\nclass Reminder:\n"
            "    @workflow.signal\n    async def snooze(self, seconds: int) -> None:\n"
            "        await asyncio.sleep(seconds)\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        await asyncio.sleep(60)\n        await drain()\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Session:\n"
            "    def __init__(self) -> None:\n        self.ready = False\n        self.closed = False\n\n"
            "    @workflow.update\n    async def wait_ready(self) -> None:\n"
            "        await workflow.wait_condition(lambda: self.ready)\n\n"
            "    @workflow.update\n    async def close(self) -> None:\n"
            "        await asyncio.sleep(1)\n        self.closed = True\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        self.ready = True\n        await workflow.wait_condition(lambda: self.closed)\n"
        ),
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Chatbot:\n"
            "    @workflow.update\n    async def message(self, text: str) -> str:\n"
            "        await asyncio.sleep(1)\n        return text\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        # Serves updates until the client terminates it.\n        await asyncio.Future()\n"
        ),
        Valid(
            "import threading\n\n"
            "class Poller(threading.Thread):\n    def run(self) -> None:\n        pass\n\n"
            "class Job:\n    @property\n    def run(self) -> int:\n        return 1\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Counter:\n"
            "    @workflow.query\n    def count(self) -> int:\n        return 1\n\n"
            "    @workflow.update\n    def bump(self) -> int:\n        return 2\n\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        await workflow.wait_condition(lambda: False)\n"
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.ctx.model.temporal.qualname(target, self.ctx.scope) == RUN:
                edit = edits.replace(self.ctx.source, _def_keyword(node), "async def")
                fix = Fix("Make the run method `async def`", (edit,), Applicability.UNSAFE)
                self.report(decorator, "A `@workflow.run` method must be `async def`: the worker fails at import", fix)
                return

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        model = self.ctx.model
        temporal = model.temporal
        info = temporal.workflow_of(node)
        if info is None:
            return
        handlers = WorkflowHandlers(model, node)
        run = handlers.methods.get(info.run or "")
        if run is None or handlers.never_returns(run):
            return
        waiting = [
            method
            for method in node.body
            if isinstance(method, ast.AsyncFunctionDef)
            and temporal.handler_kind(method) in ("signal", "update")
            and handlers.default_policy(method)
            and handlers.suspends(method)
            and not handlers.releases_run(method, run)
            and not handlers.released_by_run(method, run)
        ]
        if not waiting:
            return
        code = [
            function
            for function, _ in model.scopes.defs
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            and temporal.workflow_code.get(id(function)) == info
        ]
        if handlers.waits_for_handlers(code):
            return
        for method in waiting:
            self.report(
                method.decorator_list[0],
                f"Async {temporal.handler_kind(method)} handler `{method.name}` can still be waiting when "
                f"`{run.name}` returns: await `workflow.wait_condition(workflow.all_handlers_finished)` first",
            )


def _def_keyword(node: ast.FunctionDef) -> ast.AST:
    """A node spanning the `def` keyword: three characters from where the def starts."""
    keyword = ast.Pass()
    keyword.lineno = keyword.end_lineno = node.lineno
    keyword.col_offset, keyword.end_col_offset = node.col_offset, node.col_offset + 3
    return keyword
