from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.arq.messages import arq_job
from jobs_lint.semantic.messages.values import unsendable
from jobs_lint.semantic.modules import is_test_module

_REPO = (
    "from sqlalchemy import select\nfrom sqlalchemy.ext.asyncio import AsyncSession\nfrom app.db import Order\n\n"
    "async def load_order(session: AsyncSession, order_id: int):\n"
    "    return await session.get(Order, order_id)\n"
)
_JOBS = (
    "from app.repo import load_order\n\n"
    "async def ship(ctx, order_id):\n"
    "    order = await load_order(ctx['session'], order_id)\n"
    "    await ctx['redis'].enqueue_job('notify', order)\n\n"
    "class WorkerSettings:\n    functions = [ship]\n"
)


_SCHEMAS = (
    "from pydantic import BaseModel\n\n"
    "class Attachment(BaseModel):\n    name: str\n    content: bytes\n\n"
    "class Recipient(BaseModel):\n    address: str\n    attachments: list[Attachment] = []\n\n"
    "class SendModel(BaseModel):\n    subject: str\n    recipients: list[Recipient]\n\n"
    "class SmsRecipient(BaseModel):\n    number: str\n\n"
    "class SmsModel(BaseModel):\n    text: str\n    recipients: list[SmsRecipient]\n"
)


class UnsendableJobArgument(Rule):
    """
    ## What it does
    Finds `enqueue_job('name', ...)` calls whose arguments do not belong in a job: ORM rows (a
    SQLAlchemy mapped object from `session.get(...)` or a query's `.all()`, a Django model
    instance or QuerySet, a list of them, or what a project function returns that is one), file
    contents and open files, uploads (a FastAPI `UploadFile`), whole DataFrames, the web
    request, a session, dumps of whole objects (`model_to_dict(...)`, `.dict()` of a row), and
    objects whose class holds bytes in a field, directly or through its fields' classes (a
    pydantic model with a list of attachments), and a list filled in a loop over the rows of a
    file (`for row in csv.DictReader(f): rows.append(...)`), which grows with the file.
    Values are followed through local variables and project functions.

    ## Why is this bad?
    ARQ pickles every job (its default serializer) and keeps it in Redis, in memory, until a
    worker runs it and then as long as the result is kept: a job that carries a file or a list
    of rows multiplies Redis's memory by the number of jobs queued, and each one is pickled and
    unpickled again. Rows go stale while the job waits (a retry may run it minutes later, on
    values the database no longer holds), a mapped object drags its session's state into the
    pickle or fails to pickle at all, and a request or a session cannot cross processes.

    Enqueue ids and storage keys instead, and let the job load the rows or read the file.
    """

    code = "JL307"
    name = "arq-unsendable-job-argument"
    summary = "An ARQ job is enqueued with ORM rows, a file, an upload, a DataFrame, a request or a dump"
    needles = ((b"enqueue_job",),)

    invalid = (
        Invalid(
            "from app.schemas import SendModel\n\n"
            "async def send(m: SendModel, redis):\n"
            "    for recipient in m.recipients:\n"
            "        await redis.enqueue_job('send_email', recipient, m.subject)\n",
            files={"app/__init__.py": "", "app/schemas.py": _SCHEMAS},
            path="app/views.py",
            line=5,
            message="`enqueue_job('send_email')` is sent objects carrying file contents (`Attachment.content`)",
        ),
        Invalid(
            "from fastapi import UploadFile\n\n"
            "async def upload(file: UploadFile, redis):\n"
            "    data = await file.read()\n"
            "    await redis.enqueue_job('resize', data)\n",
            line=5,
            message="`enqueue_job('resize')` is sent file contents or bytes: store them and send a storage key",
        ),
        Invalid(
            "from fastapi import UploadFile\n\n"
            "async def upload(file: UploadFile, redis):\n"
            "    await redis.enqueue_job('resize', file, _job_id=file.filename)\n",
            line=4,
            message="`enqueue_job('resize')` is sent an uploaded file",
        ),
        Invalid(
            _JOBS,
            files={"app/__init__.py": "", "app/repo.py": _REPO},
            path="app/jobs.py",
            line=5,
            message="`enqueue_job('notify')` is sent a model instance or QuerySet: send its id",
        ),
        Invalid(
            "from sqlalchemy import select\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
            "from app.db import User\n\n"
            "async def remind(session: AsyncSession, redis):\n"
            "    result = await session.execute(select(User).where(User.active))\n"
            "    users = result.scalars().all()\n"
            "    await redis.enqueue_job('remind', users=users)\n",
            line=8,
            message="`enqueue_job('remind')` is sent a model instance or QuerySet",
        ),
        Invalid(
            "import pandas as pd\n\n"
            "async def report(redis, path):\n"
            "    frame = pd.read_parquet(path).dropna()\n"
            "    await redis.enqueue_job('summarise', frame)\n",
            line=5,
            message="`enqueue_job('summarise')` is sent a whole DataFrame",
        ),
        Invalid(
            "from fastapi import Request\n\n"
            "async def hook(request: Request):\n"
            "    await request.app.state.arq.enqueue_job('record', request)\n",
            line=4,
            message="`enqueue_job('record')` is sent the web request",
        ),
        Invalid(
            "import csv\n\n"
            "async def load(redis, path):\n"
            "    rows = []\n"
            "    with open(path) as f:\n"
            "        for row in csv.DictReader(f):\n"
            "            rows.append({'plan': row['PlanId'], 'value': row['Value']})\n"
            "            if len(rows) > 10000:\n"
            "                await redis.enqueue_job('save_rows', {'rows': rows})\n"
            "                rows = []\n",
            path="app/importer.py",
            line=9,
            message="`enqueue_job('save_rows')` is sent the rows of a file, gathered in a list",
        ),
    )
    valid = (
        Valid(
            "from app.schemas import SmsModel\n\n"
            "async def send(m: SmsModel, redis):\n"
            "    for recipient in m.recipients:\n"
            "        await redis.enqueue_job('send_sms', recipient, m.text)\n",
            files={"app/__init__.py": "", "app/schemas.py": _SCHEMAS},
            path="app/views.py",
        ),
        Valid(
            "from fastapi import UploadFile\n\n"
            "async def upload(file: UploadFile, redis, storage):\n"
            "    key = await storage.put(await file.read())\n"
            "    await redis.enqueue_job('resize', key, name=file.filename)\n",
        ),
        Valid(
            "async def ship(ctx, order):\n"
            "    ids = {'order_id': order.id, 'user_id': order.user_id}\n"
            "    await ctx['redis'].enqueue_job('notify', order.id, ids)\n",
        ),
        Valid(
            "from sqlalchemy import select\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
            "from app.db import User\n\n"
            "async def remind(session: AsyncSession, redis):\n"
            "    ids = (await session.scalars(select(User.id))).all()\n"
            "    await redis.enqueue_job('remind', ids)\n",
        ),
        Valid(
            "import uuid\n\nasync def start(redis, recipient, m_base):\n"
            "    await redis.enqueue_job('send_sms', str(uuid.uuid4()), recipient, m_base)\n",
        ),
        Valid(
            "from fastapi import Request\n\n"
            "async def hook(request: Request):\n"
            "    body = await request.json()\n"
            "    await request.app.state.arq.enqueue_job('record', request.client.host, body)\n",
        ),
        Valid(
            "async def read_later(redis, path):\n"
            "    with open(path) as handle:\n"
            "        first = handle.readline()\n"
            "    await redis.enqueue_job('parse', path, first_line=first)\n",
        ),
        Valid(
            "import csv\n\n"
            "async def load(redis, path, ids):\n"
            "    batch = []\n"
            "    for plan_id in ids:\n"
            "        batch.append(plan_id)\n"
            "    await redis.enqueue_job('save_rows', {'ids': batch, 'path': path})\n"
            "    with open(path) as f:\n"
            "        for row in csv.DictReader(f):\n"
            "            await redis.enqueue_job('save_row', row['PlanId'])\n",
            path="app/importer.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        sent = arq_job(node)
        if sent is None:
            return
        ctx = self.ctx
        if is_test_module(ctx.model.module, ctx.model.path):  # a test's messages never reach a production broker
            return
        for _, value in sent.arguments:
            problem = unsendable(ctx.model, value, ctx.scope)
            if problem is not None:
                self.report(value, f"`{sent.label}` is sent {problem.what}: {problem.instead}")
