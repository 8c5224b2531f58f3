from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.arq import module as arq
from jobs_lint.semantic.arq.project import project as arq_project
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.modules import is_test_module
from jobs_lint.semantic.values import UNKNOWN

_NEEDLES = (b"from arq", b"import arq", b"WorkerSettings")


class ArqPickleByDefault(Rule):
    """
    ## What it does
    Finds ARQ workers and Redis pools that leave job serialization to ARQ's default, pickle: a
    `WorkerSettings` class, a `Worker(...)` call or a pool made by `create_pool(...)`,
    `ArqRedis(...)` or `ArqRedis.from_url(...)` that does not set both `job_serializer` and
    `job_deserializer`, and a producer whose pool serializes with something other than what the
    project's workers use (a serializer the project writes itself wraps a format jobs-lint does
    not guess: it stays quiet). Test modules are left alone: their Redis is a test's own.

    ## Why is this bad?
    ARQ stores every job, and every result, with `pickle.dumps` unless told otherwise, and the
    worker unpickles what it reads from Redis. Anyone who can write to that Redis (a leaked
    password, an exposed port, another service sharing the instance) runs code in the worker.
    Pickled jobs also tie producers and workers to the same Python classes.

    Setting only one of the pair, or different serializers on the producer and the worker, fails
    every job: what one side writes the other cannot read. Give the same pair (`json` or
    `msgpack`) to `create_pool()` and to the worker.
    """

    code = "JL301"
    name = "arq-pickle-by-default"
    summary = "An ARQ worker or pool serializes jobs with pickle"
    needles = (_NEEDLES,)

    invalid = (
        Invalid(
            "from arq.connections import RedisSettings\n\n"
            "async def send_email(ctx, user_id):\n    ...\n\n"
            "class WorkerSettings:\n"
            "    functions = [send_email]\n"
            "    redis_settings = RedisSettings()\n",
            line=6,
            message="`WorkerSettings` sets no `job_serializer`/`job_deserializer`",
        ),
        Invalid(
            "from arq import run_worker\n\n"
            "async def send_email(ctx, user_id):\n    ...\n\n"
            "worker_settings = dict(\n"
            "    functions=(send_email,),\n"
            "    max_tries=3,\n"
            ")\n\n"
            "def main():\n    run_worker(worker_settings)\n",
            line=6,
            message="`worker_settings` sets no `job_serializer`/`job_deserializer`",
        ),
        Invalid(
            "from arq import create_pool\nfrom arq.connections import RedisSettings\n\n"
            "async def enqueue(user_id):\n"
            "    redis = await create_pool(RedisSettings())\n"
            "    await redis.enqueue_job('send_email', user_id)\n",
            line=5,
            message="`create_pool()` sets no `job_serializer`/`job_deserializer`",
        ),
        Invalid(
            "import json\nfrom arq.worker import Worker\n\n"
            "async def send_email(ctx, user_id):\n    ...\n\n"
            "worker = Worker(functions=[send_email], job_serializer=json.dumps)\n",
            line=7,
            message="`Worker()` sets `job_serializer` but not `job_deserializer`, which",
        ),
        Invalid(
            "import msgpack\nfrom arq import cron\n\n"
            "async def cleanup(ctx):\n    ...\n\n"
            "class WorkerSettings:\n"
            "    cron_jobs = [cron(cleanup, hour=3)]\n"
            "    job_deserializer = msgpack.unpackb\n",
            line=7,
            message="`WorkerSettings` sets `job_deserializer` but not `job_serializer`,",
        ),
        Invalid(
            "import json\nfrom arq import create_pool\n\n"
            "async def connect(settings):\n"
            "    return await create_pool(settings, job_serializer=json.dumps, job_deserializer=json.loads)\n",
            path="proj/producer.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "import msgpack\n\n"
                "async def work(ctx):\n    ...\n\n"
                "class WorkerSettings:\n"
                "    functions = [work]\n"
                "    job_serializer = msgpack.packb\n"
                "    job_deserializer = msgpack.unpackb\n",
            },
            line=5,
            message="`create_pool()` serializes jobs with `json.dumps` but the project's",
        ),
        Invalid(
            "from arq.connections import ArqRedis\n\n"
            "class Queue:\n"
            "    def __init__(self, dsn: str):\n"
            "        self.pool = ArqRedis.from_url(dsn)\n",
            line=5,
            message="`ArqRedis.from_url()` sets no `job_serializer`/`job_deserializer`: ARQ pickles jobs",
        ),
        Invalid(
            "import arq\n\nasync def work(ctx):\n    ...\n\ndef main():\n    arq.Worker([work]).run()\n",
            line=7,
            message="`Worker()` sets no `job_serializer`/`job_deserializer`",
        ),
    )
    valid = (
        Valid(
            "import json\nfrom arq import run_worker\n\n"
            "async def send_email(ctx, user_id):\n    ...\n\n"
            "worker_settings = {\n"
            "    'functions': [send_email],\n"
            "    'job_serializer': json.dumps,\n"
            "    'job_deserializer': json.loads,\n"
            "}\n\n"
            "def main():\n    run_worker(worker_settings)\n"
        ),
        Valid(
            "import json\nfrom arq.connections import RedisSettings\n\n"
            "async def send_email(ctx, user_id):\n    ...\n\n"
            "class WorkerSettings:\n"
            "    functions = [send_email]\n"
            "    redis_settings = RedisSettings()\n"
            "    job_serializer = json.dumps\n"
            "    job_deserializer = json.loads\n"
        ),
        Valid(
            "import msgpack\nfrom arq import create_pool\n\n"
            "async def connect(settings):\n"
            "    return await create_pool(\n"
            "        settings, job_serializer=msgpack.packb, job_deserializer=lambda b: msgpack.unpackb(b)\n"
            "    )\n"
        ),
        Valid(
            "import json\nfrom arq import ArqRedis\n\n"
            "def connect(dsn: str) -> ArqRedis:\n"
            "    return ArqRedis.from_url(dsn, job_serializer=json.dumps, job_deserializer=json.loads)\n"
        ),
        Valid(
            "from arq.connections import ArqRedis\n\n"
            "def pool(dsn: str) -> ArqRedis:\n    return ArqRedis.from_url(dsn)\n",
            path="tests/fixtures/worker.py",
        ),
        Valid("from redis.asyncio import Redis\n\ndef connect(dsn: str) -> Redis:\n    return Redis.from_url(dsn)\n"),
        Valid(
            "from arq import create_pool\n\nasync def connect(settings, **serializers):\n"
            "    return await create_pool(settings, **serializers)\n"
        ),
        Valid(
            "from pydantic_settings import BaseSettings\n\n"
            "class WorkerSettings(BaseSettings):\n    redis_url: str = 'redis://localhost'\n"
        ),
        Valid(
            "from multiprocessing.pool import Pool\n\n"
            "def create_pool(size):\n    return Pool(size)\n\npool = create_pool(4)\n"
        ),
        Valid(
            "import json\nfrom arq import create_pool\n\n"
            "async def connect(settings):\n"
            "    return await create_pool(settings, job_serializer=json.dumps, job_deserializer=json.loads)\n",
            path="proj/producer.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "import json\nfrom arq import run_worker\n\n"
                "async def work(ctx):\n    ...\n\n"
                "class WorkerSettings:\n    functions = [work]\n\n"
                "run_worker(WorkerSettings, job_serializer=json.dumps, job_deserializer=json.loads)\n",
            },
        ),
        Valid(
            "import msgpack\nfrom arq import create_pool\n\n"
            "async def connect(settings):\n"
            "    return await create_pool(settings, job_serializer=msgpack.packb, job_deserializer=msgpack.unpackb)\n",
            path="proj/producer.py",
            files={
                "proj/__init__.py": "",
                "proj/serialization.py": "import msgpack\n\n"
                "def serialize_job(job):\n    return msgpack.packb(job, default=str)\n\n"
                "def deserialize_job(data):\n    return msgpack.unpackb(data)\n",
                "proj/worker.py": "from proj.serialization import deserialize_job, serialize_job\n\n"
                "async def work(ctx):\n    ...\n\n"
                "class WorkerSettings:\n"
                "    functions = [work]\n"
                "    job_serializer = serialize_job\n"
                "    job_deserializer = deserialize_job\n",
            },
        ),
    )

    def finish(self) -> None:
        model = self.ctx.model
        if is_test_module(model.module, model.path):
            return  # a test's pool and worker talk to a test Redis that nobody else writes to
        module = model.arq
        for config in module.workers:
            self._pair(config.node, config.fields, config.opaque, f"`{config.name.rpartition('.')[2]}`")
        project = arq_project(self.ctx.index).worker_serializers
        for call, scope, shown in module.pools:
            fields = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
            opaque = any(keyword.arg is None for keyword in call.keywords)
            if self._pair(call, fields, opaque, shown):
                continue
            used = module.serializer(fields, scope, opaque)
            if used is UNKNOWN or UNKNOWN in project or not project or used in project:
                continue
            if any(_own(self.ctx.index, name) for name in (used, *project)):
                continue  # the project's own function wraps some format: which one is unknown
            workers = ", ".join(sorted(f"`{name}`" if name else "pickle" for name in project))
            self.report(
                call,
                f"{shown} serializes jobs with `{used}` but the project's workers use "
                f"{workers}: they cannot read these jobs",
            )

    def _pair(
        self, node: ast.ClassDef | ast.Call | ast.Dict, fields: dict[str, ast.expr], opaque: bool, what: str
    ) -> bool:
        """Report a missing serializer pair; True when something was reported."""
        if opaque:
            return False
        missing = [name for name in arq.SERIALIZER_FIELDS if name not in fields]
        if not missing:
            return False
        where = _class_head(node) if isinstance(node, ast.ClassDef) else node
        if len(missing) == 2:
            message = (
                f"{what} sets no `job_serializer`/`job_deserializer`: ARQ pickles jobs, so whoever "
                "can write to Redis runs code in the worker"
            )
        else:
            present = next(name for name in arq.SERIALIZER_FIELDS if name in fields)
            message = (
                f"{what} sets `{present}` but not `{missing[0]}`, which stays pickle: "
                "one side cannot read what the other writes"
            )
        self.report(where, message)
        return True


def _own(index: ProjectIndex, name: object) -> bool:
    """A serializer the project defines (`proj.serialization.serialize_job` around msgpack): one
    from a package the project's own modules are in."""
    if not isinstance(name, str) or "." not in name:
        return False
    package = index.canonical(name).partition(".")[0]
    return any(module.partition(".")[0] == package for module in index.modules)


def _class_head(node: ast.ClassDef) -> ast.AST:
    """`class Name`: where a finding about a whole class is shown."""
    head = ast.Name(id=node.name)
    head.lineno = head.end_lineno = node.lineno
    head.col_offset = node.col_offset
    head.end_col_offset = node.col_offset + len("class ") + len(node.name.encode())
    return head
