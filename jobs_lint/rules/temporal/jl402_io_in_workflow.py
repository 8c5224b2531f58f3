from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Valid
from jobs_lint.rules.temporal.workflow_code import WorkflowCodeRule
from jobs_lint.semantic.blocking import io_call
from jobs_lint.semantic.summaries import IO

DOES_IO = frozenset({IO})

PATH = "pathlib.Path"


class IoInWorkflow(WorkflowCodeRule):
    """
    ## What it does
    Finds workflow code that does I/O: opens or lists files, opens sockets, calls HTTP clients
    (`requests`, `httpx`, `aiohttp`, `urllib`), database and cache clients (`psycopg`,
    `asyncpg`, `pymongo`, `redis`, SQLAlchemy engines and sessions, `boto3`), sends mail or
    starts subprocesses, sync or async. Workflow code is every method of a `@workflow.defn` class
    and the functions of the same module they call; what the functions and methods they call in
    other modules do is followed too, and the finding names the chain of calls.

    ## Why is this bad?
    Workflow code is replayed, possibly many times, on any worker, whenever its state has to be
    rebuilt: the request is sent again on every replay, and what it returns can differ from the
    first run, which breaks the replay. A workflow task is also expected to finish within
    seconds; a slow server stalls it and every workflow waiting on the same worker. The results
    of I/O belong in the workflow's history, which is what an activity records: move the call
    into an `@activity.defn` function and call it with `workflow.execute_activity(...)`.
    """

    code = "JL402"
    name = "io-in-workflow"
    summary = "Workflow code does I/O that belongs in an activity"
    needles = (needles.TEMPORAL,)

    invalid = (
        Invalid(
            "import httpx\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Quote:\n"
            "    @workflow.run\n    async def run(self, symbol: str) -> float:\n"
            "        async with httpx.AsyncClient() as client:\n"
            "            reply = await client.get(f'https://quotes.example/{symbol}')\n"
            "        return reply.json()['price']\n",
            line=8,
            message="`httpx.AsyncClient()` does I/O in workflow `Quote`",
        ),
        Invalid(
            "import requests\nfrom temporalio import workflow as wf\n\n"
            "def notify(order_id: str) -> None:\n"
            "    requests.post('https://hooks.example/orders', json={'id': order_id}, timeout=5)\n\n"
            "@wf.defn\nclass Orders:\n"
            "    @wf.signal\n    def paid(self, order_id: str) -> None:\n        notify(order_id)\n\n"
            "    @wf.run\n    async def run(self) -> None:\n        pass\n",
            line=5,
            message="`requests.post()` does I/O in workflow `Orders`",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Import:\n"
            "    @workflow.run\n    async def run(self, path: str) -> int:\n"
            "        with open(path) as handle:\n            return len(handle.readlines())\n",
            line=7,
            message="`open()` does I/O in workflow `Import`",
        ),
        Invalid(
            "import subprocess\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Build:\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        subprocess.run(['make'], check=True)\n",
            line=8,
            message="`subprocess.run()` does I/O in workflow `Build`",
        ),
        Invalid(
            "from pathlib import Path\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Report:\n"
            "    @workflow.run\n    async def run(self, name: str) -> str:\n"
            "        return Path(name).read_text()\n",
            line=8,
            message="`pathlib.Path.read_text()` does I/O in workflow `Report`",
        ),
        Invalid(
            "import asyncpg\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Count:\n"
            "    @workflow.run\n    async def run(self, dsn: str) -> int:\n"
            "        connection = await asyncpg.connect(dsn)\n"
            "        return await connection.fetchval('select count(*) from orders')\n",
            line=8,
            message="`asyncpg.connect()` does I/O in workflow `Count`",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.repository import Prices\n\n"
            "@workflow.defn\nclass Quote:\n"
            "    def __init__(self) -> None:\n        self.prices = Prices()\n\n"
            "    @workflow.run\n    async def run(self, symbol: str) -> float:\n"
            "        return self.prices.latest(symbol)\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/repository.py": "import requests\n\n"
                "class Prices:\n"
                "    def latest(self, symbol: str) -> float:\n"
                "        return requests.get(f'https://quotes.example/{symbol}', timeout=5).json()['price']\n",
            },
            line=12,
            message="through `Prices.latest -> requests.get`",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.repository import Prices\n\n"
            "@workflow.defn\nclass Quote:\n"
            "    def __init__(self) -> None:\n        self.prices = Prices()\n\n"
            "    @workflow.run\n    async def run(self, symbol: str) -> float:\n"
            "        return self.prices.latest(symbol)\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/repository.py": "import requests\n\n"
                "class Prices:\n"
                "    def latest(self, symbol: str) -> float:\n"
                "        return requests.get(f'https://quotes.example/{symbol}', timeout=5).json()['price']\n",
            },
            checked="proj/repository.py",
            line=5,
            message="through `run -> Prices.latest -> requests.get`",
        ),
    )
    valid = (
        Valid(
            "from datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def fetch_quote(symbol: str) -> float:\n"
            "    import httpx\n\n"
            "    async with httpx.AsyncClient() as client:\n"
            "        reply = await client.get(f'https://quotes.example/{symbol}')\n"
            "    return reply.json()['price']\n\n"
            "@workflow.defn\nclass Quote:\n"
            "    @workflow.run\n    async def run(self, symbol: str) -> float:\n"
            "        return await workflow.execute_activity(\n"
            "            fetch_quote, symbol, start_to_close_timeout=timedelta(seconds=10)\n        )\n"
        ),
        Valid(
            "import requests\nfrom temporalio.client import Client\n\n"
            "async def main() -> None:\n"
            "    config = requests.get('https://config.example', timeout=5).json()\n"
            "    client = await Client.connect(config['address'])\n"
            "    await client.start_workflow('orders', id='orders-1', task_queue='orders')\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n"
            "    import requests\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, lines: list[str]) -> str:\n"
            "        workflow.logger.info('%d lines', len(lines))\n"
            "        return '\\n'.join(lines)\n"
        ),
        Valid(
            "import subprocess\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef build() -> None:\n    subprocess.run(['make'], check=True)\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "class Store:\n    def open(self, key: str) -> str:\n        return key\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    def __init__(self) -> None:\n        self.store = Store()\n\n"
            "    @workflow.run\n    async def run(self, key: str) -> str:\n        return self.store.open(key)\n"
        ),
        Valid(
            "import requests\n\n"
            "class Orders:\n"
            "    async def run(self, url: str) -> int:\n"
            "        return requests.get(url, timeout=5).status_code\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from proj.activities import latest_price\n\n"
            "@workflow.defn\nclass Quote:\n"
            "    @workflow.run\n    async def run(self, symbol: str) -> float:\n"
            "        return await workflow.execute_activity(\n"
            "            latest_price, symbol, start_to_close_timeout=timedelta(seconds=10)\n        )\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "import requests\nfrom temporalio import activity\n\n"
                "@activity.defn\ndef latest_price(symbol: str) -> float:\n"
                "    return requests.get(f'https://quotes.example/{symbol}', timeout=5).json()['price']\n",
            },
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not isinstance(func, (ast.Attribute, ast.Name)):
            return
        workflow = self.workflow()
        if workflow is None:
            return
        temporal = self.ctx.model.temporal
        path = temporal.qualname(func, self.ctx.scope)
        if (
            path is None
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and temporal.qualname(func.value.func, self.ctx.scope) == PATH
        ):
            path = f"{PATH}.{func.attr}"  # `Path(name).read_text()`
        name = workflow.qualname.rpartition(".")[2]
        if io_call(path):
            self.report(node, f"`{path}()` does I/O in workflow `{name}`: move it into an activity")
            return
        reach = self.reached(node, DOES_IO)
        if reach is not None:
            self.report_reach(
                node,
                self.ctx.enclosing_defs[-1].name,
                reach,
                f"`{reach.effect.callee}()` does I/O in workflow `{name}`, reached through `{reach.chain}`: "
                "move it into an activity",
            )
