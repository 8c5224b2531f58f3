from __future__ import annotations

import ast
from functools import cached_property
from typing import TYPE_CHECKING

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic import blocking
from jobs_lint.semantic.summaries import BLOCKING

BLOCKS = frozenset({BLOCKING})

if TYPE_CHECKING:
    from jobs_lint.checker import Context

_WORKER = (
    "\n\nclass WorkerSettings:\n"
    "    functions = [{job}]\n"
    "    job_serializer = json.dumps\n"
    "    job_deserializer = json.loads\n"
)


def _job_module(body: str, job: str, imports: str = "") -> str:
    return f"import json\n{imports}\n{body}{_WORKER.format(job=job)}"


# A decorator that registers each job in the list a worker's `functions` names, and one that
# only wraps.
_REGISTRY = {
    "proj/__init__.py": "",
    "proj/registry.py": "JOBS = []\n\ndef job(function):\n    JOBS.append(function)\n    return function\n\n"
    "def audit(function):\n    return function\n",
    "proj/worker.py": "from arq.connections import RedisSettings\n\nfrom proj.registry import JOBS\n\n"
    "class WorkerSettings:\n    functions = JOBS\n    redis_settings = RedisSettings()\n",
}


# A sync MinIO client made by a factory: its constructor sends nothing, its calls are requests.
_STORAGE = {
    "proj/__init__.py": "",
    "proj/storage.py": "from minio import Minio\n\n"
    "def client_for() -> Minio:\n    return Minio('s3.local')\n\n"
    "def save(name, data):\n    client = client_for()\n"
    "    if client.presigned_get_object('media', name):\n        pass\n"
    "    client.put_object('media', name, data, len(data))\n",
}


class BlockingCallInAsyncJob(Rule):
    """
    ## What it does
    Finds calls that block the thread inside an ARQ job function defined with `async def`, or
    in a function or method the job calls, in any module (the finding names the chain of calls):
    `time.sleep`, `requests` and `urllib` calls, sync database drivers and ORM sessions,
    `subprocess` and the libraries that run a program (exiftool, wkhtmltopdf), plain file I/O,
    archives (`zipfile`, `tarfile`), file locks, and the requests of sync SDK clients (boto3,
    MinIO, Label Studio, OpenAI, Slack), whether the client is made in the function or returned
    by a project factory (`client = s3_client()`). A function handed to `asyncio.to_thread` or
    `run_in_executor` runs in a thread and is not followed. A
    job is a coroutine a worker registers (`WorkerSettings.functions` or `cron_jobs`,
    `Worker(functions=...)`, `func(...)`, `cron(...)`, a project decorator that appends it to a
    worker's `functions`), in this module or another.

    ## Why is this bad?
    An ARQ worker runs all its jobs (`max_jobs`, 10 by default) on one event loop. A blocking
    call stops every one of them, the worker's heartbeat and its job timeouts until it returns:
    one slow HTTP call makes every other job late, and a job past `job_timeout` cannot be
    cancelled while the loop is blocked. Use the async client, or move the blocking work to a
    thread with `await asyncio.to_thread(...)` or `loop.run_in_executor(...)`.

    ## Fix safety
    `time.sleep(...)` as a statement becomes `await asyncio.sleep(...)`. The fix is unsafe: the
    job now lets other jobs run while it waits, which code relying on the pause being exclusive
    would notice.
    """

    code = "JL302"
    name = "arq-blocking-call-in-async-job"
    summary = "An async ARQ job blocks the event loop"
    needles = (needles.ARQ_JOBS, (b"async def",))
    fix = Applicability.UNSAFE

    invalid = (
        Invalid(
            _job_module("async def poll(ctx, url):\n    time.sleep(5)\n    return url\n", "poll", "import time\n"),
            fixed=_job_module(
                "async def poll(ctx, url):\n    await asyncio.sleep(5)\n    return url\n",
                "poll",
                "import time\nimport asyncio\n",
            ),
            line=5,
            message="Async job `poll` blocks the event loop with `time.sleep()`",
        ),
        Invalid(
            _job_module(
                "async def download(ctx, url):\n    return requests.get(url, timeout=10).text\n",
                "download",
                "import requests\n",
            ),
            line=5,
            message="Async job `download` blocks the event loop with `requests.get()`",
        ),
        Invalid(
            _job_module(
                "def render(path):\n    with open(path) as handle:\n        return handle.read()\n\n\n"
                "async def report(ctx, path):\n    return render(path)\n",
                "report",
            ),
            line=4,
            message="through `render -> open`",
        ),
        Invalid(
            "import subprocess as sp\n\nasync def convert(ctx, source):\n    sp.run(['convert', source], check=True)\n",
            path="proj/jobs/media.py",
            files={
                "proj/__init__.py": "",
                "proj/jobs/__init__.py": "from .media import convert\n",
                "proj/worker.py": "from arq import func\nfrom proj.jobs import convert\n\n"
                "class WorkerSettings:\n    functions = [func(convert, max_tries=3)]\n",
            },
            line=4,
            message="Async job `convert` blocks the event loop with `subprocess.run()`",
        ),
        Invalid(
            "from psycopg2 import connect\nfrom arq import cron\n\n"
            "async def vacuum(ctx):\n    connect('dbname=app').cursor().execute('VACUUM')\n\n"
            "class WorkerSettings:\n    cron_jobs = [cron(vacuum, hour=3)]\n",
            line=5,
            message="Async job `vacuum` blocks the event loop with `psycopg2.connect()`",
        ),
        Invalid(
            "from sqlalchemy.orm import Session\nfrom arq import Worker\n\n"
            "async def archive(ctx, order_id):\n"
            "    with Session(ctx['engine']) as session:\n        session.execute('select 1')\n\n"
            "worker = Worker(functions=[archive])\n",
            line=5,
            message="Async job `archive` blocks the event loop with",
        ),
        Invalid(
            "from arq import func\n\nfrom proj.storage import save\n\n"
            "async def upload(ctx, name, data):\n    save(name, data)\n\n"
            "class WorkerSettings:\n    functions = [func(upload)]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/storage.py": "def save(name, data):\n"
                "    with open(name, 'wb') as handle:\n        handle.write(data)\n",
            },
            line=6,
            message="through `save -> open`",
        ),
        Invalid(
            "import time\n\nfrom proj.registry import job\n\n@job\nasync def ping(ctx, host):\n    time.sleep(1)\n",
            path="proj/jobs.py",
            files=_REGISTRY,
            line=7,
            message="Async job `ping` blocks the event loop with `time.sleep()`",
        ),
        Invalid(
            "import time\n\nasync def ping(ctx, host):\n    time.sleep(1)\n\nMONITOR_JOBS = [ping]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "from proj.config import redis_settings\nfrom proj.jobs import MONITOR_JOBS\n\n"
                "class Monitor:\n    functions = MONITOR_JOBS\n    redis_settings = redis_settings\n",
            },
            line=4,
            message="Async job `ping` blocks the event loop with `time.sleep()`",
        ),
        Invalid(
            "from arq import func\n\nfrom proj.storage import save\n\n"
            "async def upload(ctx, name, data):\n    save(name, data)\n\n"
            "async def replace(ctx, name, data):\n    save(name, data)\n\n"
            "class WorkerSettings:\n    functions = [func(upload), func(replace)]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/storage.py": "def save(name, data):\n"
                "    with open(name, 'wb') as handle:\n        handle.write(data)\n",
            },
            checked="proj/storage.py",
            line=2,
            message="Async job `upload` blocks the event loop through `upload -> save -> open`: use "
            "`asyncio.to_thread(...)` around the file I/O, or `aiofiles` (also reached from 1 other job)",
        ),
        Invalid(
            "from arq import func\n\nfrom proj.archives import unpack\n\n"
            "async def load(ctx, path, into):\n    await unpack(path, into)\n\n"
            "class WorkerSettings:\n    functions = [func(load)]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/archives.py": "import zipfile\n\n"
                "async def unpack(path, into):\n"
                "    with zipfile.ZipFile(path) as archive:\n        archive.extractall(into)\n",
            },
            checked="proj/archives.py",
            line=4,
            message="Async job `load` blocks the event loop through `load -> unpack -> zipfile.ZipFile`: use "
            "`asyncio.to_thread(...)` around the archive work",
        ),
        Invalid(
            "from proj.incidents import process\n\n"
            "async def process_incident(ctx, incident_id):\n    return process(incident_id)\n\n"
            "class WorkerSettings:\n    functions = [process_incident]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/incidents.py": "from sqlmodel import Session\n\nfrom proj.db import engine\n\n"
                "def process(incident_id):\n"
                "    with Session(engine) as session:\n        return session.get(Incident, incident_id)\n",
            },
            line=4,
            message="through `process -> sqlmodel.Session`",
        ),
        Invalid(
            "from arq import func\n\nfrom proj.storage import save\n\n"
            "async def upload(ctx, name, data):\n    save(name, data)\n\n"
            "class WorkerSettings:\n    functions = [func(upload)]\n",
            path="proj/jobs.py",
            files=_STORAGE,
            checked="proj/storage.py",
            line=10,
            message="Async job `upload` blocks the event loop through `upload -> save -> minio.Minio.put_object`: "
            "use `asyncio.to_thread(...)` around the transfer",
        ),
        Invalid(
            "from arq import func\n\nfrom proj.storage import client_for\n\n"
            "async def thumbnail(ctx, name, data):\n    client = client_for()\n"
            "    client.put_object('media', name, data, len(data))\n\n"
            "class WorkerSettings:\n    functions = [func(thumbnail)]\n",
            path="proj/jobs.py",
            files=_STORAGE,
            line=7,
            message="Async job `thumbnail` blocks the event loop with `minio.Minio.put_object()`",
        ),
    )
    valid = (
        Valid(
            "from arq import func\n\nfrom proj.storage import client_for\n\n"
            "async def link(ctx, name):\n    return client_for().presigned_get_object('media', name)\n\n"
            "class WorkerSettings:\n    functions = [func(link)]\n",
            path="proj/jobs.py",
            files=_STORAGE,
        ),
        Valid(
            "import time\n\nfrom proj.registry import audit\n\n@audit\nasync def ping(ctx, host):\n    time.sleep(1)\n",
            path="proj/jobs.py",
            files=_REGISTRY,
        ),
        Valid(
            _job_module(
                "async def poll(ctx, url):\n    await asyncio.sleep(5)\n    return url\n", "poll", "import asyncio\n"
            )
        ),
        Valid(
            _job_module(
                "async def download(ctx, url):\n"
                "    async with httpx.AsyncClient() as client:\n"
                "        return (await client.get(url)).text\n",
                "download",
                "import httpx\n",
            )
        ),
        Valid(
            _job_module(
                "def render(path):\n    with open(path) as handle:\n        return handle.read()\n\n\n"
                "async def report(ctx, path):\n    return await asyncio.to_thread(render, path)\n",
                "report",
                "import asyncio\n",
            )
        ),
        Valid(
            _job_module(
                "def sync_task(t):\n    return time.sleep(t)\n\n\n"
                "async def the_task(ctx, t):\n"
                "    loop = asyncio.get_running_loop()\n"
                "    return await loop.run_in_executor(None, functools.partial(sync_task, t))\n",
                "the_task",
                "import asyncio\nimport functools\nimport time\n",
            )
        ),
        Valid(
            _job_module(
                "def extract(path, into):\n"
                "    with zipfile.ZipFile(path) as archive:\n        archive.extractall(into)\n\n\n"
                "async def load(ctx, path, into):\n    await asyncio.to_thread(extract, path, into)\n",
                "load",
                "import asyncio\nimport zipfile\n",
            )
        ),
        Valid("import time\n\nasync def poll(ctx, url):\n    time.sleep(5)\n    return url\n"),
        Valid(
            _job_module(
                "async def fetch(ctx, url):\n"
                "    return await asyncio.to_thread(lambda: requests.get(url, timeout=5).text)\n",
                "fetch",
                "import asyncio\nimport requests\n",
            )
        ),
        Valid(
            _job_module("async def check(ctx, url):\n    raise requests.HTTPError(url)\n", "check", "import requests\n")
        ),
        Valid(
            "import asyncio\nfrom arq import func\n\nfrom proj.storage import save\n\n"
            "async def upload(ctx, name, data):\n    await asyncio.to_thread(save, name, data)\n\n"
            "class WorkerSettings:\n    functions = [func(upload)]\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/storage.py": "def save(name, data):\n"
                "    with open(name, 'wb') as handle:\n        handle.write(data)\n",
            },
        ),
    )

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._lambdas = 0
        self._statements: set[int] = set()

    @cached_property
    def _jobs(self) -> dict[int, str]:
        """The async jobs of this module, by node."""
        model = self.ctx.model
        return {
            id(node): node.name
            for node, scope in model.scopes.defs
            if isinstance(node, ast.AsyncFunctionDef) and scope.node is None and model.arq.jobs_of(node)
        }

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas += 1

    def leave_Lambda(self, node: ast.Lambda) -> None:
        self._lambdas -= 1

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Call):
            self._statements.add(id(node.value))

    def visit_Call(self, node: ast.Call) -> None:
        defs = self.ctx.enclosing_defs
        if self._lambdas or not defs or not self._jobs:
            return
        function = defs[-1]
        job = self._jobs.get(id(function))
        if job is None:
            return
        qualname = self.ctx.model.qualname(node.func, self.ctx.scope)
        instead = blocking.blocking_call(qualname)
        request = blocking.request_of(node, self.ctx.model, self.ctx.scope, function) if instead is None else None
        if request is not None:
            qualname, instead = request
        if instead is not None:
            fix = self._await_sleep(node) if qualname == "time.sleep" and id(node) in self._statements else None
            self.report(node, f"Async job `{job}` blocks the event loop with `{qualname}()`: use {instead}", fix)
            return
        reach = self.ctx.model.reach_of(node, function, BLOCKS)
        if reach is not None:
            self.report_reach(
                node,
                job,
                reach,
                f"Async job `{job}` blocks the event loop through `{reach.chain}`: use {reach.effect.what}",
            )

    def _await_sleep(self, call: ast.Call) -> Fix | None:
        source = self.ctx.source
        text, func = edits.text_of(source, call), edits.text_of(source, call.func)
        if not text.startswith(func):
            return None
        edit = edits.replace(source, call, f"await asyncio.sleep{text[len(func) :]}")
        return Fix("Use `await asyncio.sleep(...)`", (edit,), Applicability.UNSAFE, imports=(("asyncio", None),))
