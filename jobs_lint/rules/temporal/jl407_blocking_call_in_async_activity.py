from __future__ import annotations

import ast
from functools import cached_property
from typing import TYPE_CHECKING

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic import blocking
from jobs_lint.semantic.summaries import BLOCKING

if TYPE_CHECKING:
    from jobs_lint.checker import Context

BLOCKS = frozenset({BLOCKING})


class BlockingCallInAsyncActivity(Rule):
    """
    ## What it does
    Finds calls that block the thread inside an `@activity.defn` defined with `async def`, or
    in a function or method the activity calls, in any module (the finding names the chain of
    calls): `time.sleep`, `requests` and `urllib` calls, sync database drivers and ORM sessions,
    `subprocess`, plain file I/O and file locks, and the requests of sync SDK clients (boto3,
    MinIO, Label Studio, OpenAI, Slack), whether the client is made in the function or returned
    by a project factory (`client = storage_client()`). A function handed to `asyncio.to_thread`
    or `run_in_executor` runs in a thread and is not followed.

    ## Why is this bad?
    Async activities run on the worker's event loop, the same loop that polls for tasks, runs
    every other async activity and sends heartbeats. A blocking call stops all of them until it
    returns: other activities miss their heartbeat timeouts and are retried elsewhere,
    cancellation cannot reach the blocked activity, and the worker looks stuck.

    Use the async client, move the blocking part to a thread with `await asyncio.to_thread(...)`,
    or make the activity a plain `def`: the worker runs sync activities in its
    `activity_executor` thread pool, where blocking is expected.
    """

    code = "JL407"
    name = "blocking-call-in-async-activity"
    summary = "An async activity blocks the worker's event loop"
    needles = (needles.TEMPORAL, (b"async def",))

    invalid = (
        Invalid(
            "from label_studio_sdk.client import LabelStudio\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def sync_users(host: str, key: str) -> int:\n"
            "    client = LabelStudio(base_url=host, api_key=key)\n"
            "    return len(client.users.list())\n",
            line=7,
            message="Async activity `sync_users` blocks the worker's event loop with "
            "`label_studio_sdk.client.LabelStudio.users.list()`: use `label_studio_sdk.AsyncLabelStudio`",
        ),
        Invalid(
            "import requests\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def fetch_rate(currency: str) -> float:\n"
            "    response = requests.get(f'https://rates.example/{currency}', timeout=10)\n"
            "    return response.json()['rate']\n",
            line=6,
            message="Async activity `fetch_rate` blocks the worker's event loop with",
        ),
        Invalid(
            "import time\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def wait_for_export(job_id: str) -> None:\n"
            "    while not done(job_id):\n        time.sleep(5)\n\n"
            "def done(job_id: str) -> bool:\n    return bool(job_id)\n",
            line=7,
            message="Async activity `wait_for_export` blocks the worker's event loop with",
        ),
        Invalid(
            "import subprocess\nfrom temporalio import activity\n\n"
            "def render(source: str) -> None:\n    subprocess.run(['convert', source], check=True)\n\n"
            "@activity.defn(name='thumbnail')\nasync def thumbnail(source: str) -> None:\n    render(source)\n",
            line=5,
            message="through `render -> subprocess.run`",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "class Reports:\n"
            "    @activity.defn\n    async def load(self, path: str) -> str:\n"
            "        with open(path) as handle:\n            return handle.read()\n",
            line=6,
            message="Async activity `load` blocks the worker's event loop with `open()`",
        ),
        Invalid(
            "import time\nfrom temporalio import activity\n\n"
            "class Exports:\n"
            "    def _wait(self, seconds: float) -> None:\n        time.sleep(seconds)\n\n"
            "    @activity.defn\n    async def export(self, seconds: float) -> None:\n        self._wait(seconds)\n",
            line=6,
            message="through `Exports._wait -> time.sleep`",
        ),
        Invalid(
            "import psycopg2\nfrom temporalio.activity import defn\n\n"
            "@defn\nasync def vacuum() -> None:\n"
            "    psycopg2.connect('dbname=app').cursor().execute('VACUUM')\n",
            line=6,
            message="Async activity `vacuum` blocks the worker's event loop with",
        ),
        Invalid(
            "from sqlalchemy.orm import Session\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def archive(order_id: int) -> None:\n"
            "    with Session() as session:\n        session.execute('select 1')\n",
            line=6,
            message="Async activity `archive` blocks the worker's event loop with",
        ),
        Invalid(
            "from temporalio import activity\n\nfrom proj.clients import rates\n\n"
            "@activity.defn\nasync def fetch_rate(currency: str) -> float:\n"
            "    return rates.latest(currency)\n",
            path="proj/activities.py",
            files={
                "proj/__init__.py": "",
                "proj/clients.py": "import requests\n\n"
                "class Rates:\n"
                "    def latest(self, currency: str) -> float:\n"
                "        return requests.get(f'https://rates.example/{currency}', timeout=10).json()['rate']\n\n"
                "rates = Rates()\n",
            },
            line=7,
            message="through `Rates.latest -> requests.get`",
        ),
        Invalid(
            "from temporalio import activity\n\nfrom proj.clients import rates\n\n"
            "@activity.defn\nasync def fetch_rate(currency: str) -> float:\n"
            "    return rates.latest(currency)\n",
            path="proj/activities.py",
            files={
                "proj/__init__.py": "",
                "proj/clients.py": "import requests\n\n"
                "class Rates:\n"
                "    def latest(self, currency: str) -> float:\n"
                "        return requests.get(f'https://rates.example/{currency}', timeout=10).json()['rate']\n\n"
                "rates = Rates()\n",
            },
            checked="proj/clients.py",
            line=5,
            message="Async activity `fetch_rate` blocks the worker's event loop through "
            "`fetch_rate -> Rates.latest -> requests.get`",
        ),
        Invalid(
            "from temporalio import activity\n\nfrom proj.storage import archive\n\n"
            "@activity.defn\nasync def store_report(path: str) -> None:\n"
            "    archive(path)\n",
            path="proj/activities.py",
            files={
                "proj/__init__.py": "",
                "proj/storage.py": "import boto3\nfrom boto3.s3.transfer import TransferConfig\n\n"
                "S3 = boto3.client('s3')\n\n"
                "def archive(path: str) -> None:\n"
                "    S3.upload_file(path, 'reports', path, Config=TransferConfig(use_threads=False))\n",
            },
            line=7,
            message="through `archive -> S3.upload_file`",
        ),
    )
    valid = (
        Valid(
            "from label_studio_sdk import AsyncLabelStudio\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def sync_users(host: str, key: str) -> int:\n"
            "    client = AsyncLabelStudio(base_url=host, api_key=key)\n"
            "    return len(await client.users.list())\n"
        ),
        Valid(
            "import httpx\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def fetch_rate(currency: str) -> float:\n"
            "    async with httpx.AsyncClient() as client:\n"
            "        response = await client.get(f'https://rates.example/{currency}')\n"
            "    return response.json()['rate']\n"
        ),
        Valid(
            "import requests\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef fetch_rate(currency: str) -> float:\n"
            "    return requests.get(f'https://rates.example/{currency}', timeout=10).json()['rate']\n"
        ),
        Valid(
            "import asyncio\nimport subprocess\nfrom temporalio import activity\n\n"
            "def render(source: str) -> None:\n    subprocess.run(['convert', source], check=True)\n\n"
            "@activity.defn\nasync def thumbnail(source: str) -> None:\n"
            "    await asyncio.to_thread(render, source)\n"
            "    await asyncio.to_thread(lambda: open(source).close())\n"
        ),
        Valid(
            "import asyncio\nimport time\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def pause(seconds: float) -> None:\n"
            "    await asyncio.sleep(seconds)\n"
            "    loop = asyncio.get_running_loop()\n"
            "    await loop.run_in_executor(None, time.sleep, seconds)\n"
        ),
        Valid(
            "import requests\n\n"
            "async def fetch_rate(currency: str) -> float:\n"
            "    return requests.get(f'https://rates.example/{currency}', timeout=10).json()['rate']\n"
        ),
        Valid(
            "import requests\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def check(url: str) -> None:\n"
            "    def probe() -> int:\n        return requests.head(url, timeout=5).status_code\n"
            "    raise requests.HTTPError(url)\n"
        ),
        Valid(
            "from temporalio import activity\n\nfrom proj.clients import rates\n\n"
            "@activity.defn\ndef fetch_rate(currency: str) -> float:\n"
            "    return rates.latest(currency)\n",
            path="proj/activities.py",
            files={
                "proj/__init__.py": "",
                "proj/clients.py": "import requests\n\n"
                "class Rates:\n"
                "    def latest(self, currency: str) -> float:\n"
                "        return requests.get(f'https://rates.example/{currency}', timeout=10).json()['rate']\n\n"
                "rates = Rates()\n",
            },
        ),
        Valid(
            "import asyncio\n\nimport boto3\nfrom boto3.s3.transfer import TransferConfig\n"
            "from temporalio import activity\n\n"
            "S3 = boto3.client('s3')\n\n"
            "@activity.defn\nasync def store_report(path: str) -> str:\n"
            "    config = TransferConfig(multipart_threshold=8 * 1024 * 1024)\n"
            "    await asyncio.to_thread(S3.upload_file, path, 'reports', path, Config=config)\n"
            "    return S3.generate_presigned_url('get_object', Params={'Bucket': 'reports', 'Key': path})\n"
        ),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._lambdas = 0

    @cached_property
    def _activities(self) -> dict[int, str]:
        """The async activities of this module, by node."""
        return {
            id(node): node.name
            for node, _ in self.ctx.model.temporal.activities
            if isinstance(node, ast.AsyncFunctionDef)
        }

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas += 1

    def leave_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas -= 1

    def visit_Call(self, node: ast.Call) -> None:
        defs = self.ctx.enclosing_defs
        if self._lambdas or not defs or not self._activities:
            return
        function = defs[-1]
        activity = self._activities.get(id(function))
        if activity is None:
            return
        qualname = self.ctx.model.qualname(node.func, self.ctx.scope)
        instead = blocking.blocking_call(qualname)
        request = blocking.request_of(node, self.ctx.model, self.ctx.scope, function) if instead is None else None
        if request is not None:
            qualname, instead = request
        if instead is not None:
            where = f"Async activity `{activity}` blocks the worker's event loop"
            self.report(node, f"{where} with `{qualname}()`: use {instead}")
            return
        reach = self.ctx.model.reach_of(node, function, BLOCKS)
        if reach is not None:
            self.report_reach(
                node,
                activity,
                reach,
                f"Async activity `{activity}` blocks the worker's event loop through `{reach.chain}`: "
                f"use {reach.effect.what}",
            )
