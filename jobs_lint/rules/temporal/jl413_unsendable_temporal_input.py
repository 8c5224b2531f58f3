from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.messages.secrets import secret_inside
from jobs_lint.semantic.messages.values import unsendable
from jobs_lint.semantic.modules import is_test_module
from jobs_lint.semantic.temporal.payloads import payloads_encoded, temporal_input

_ACTIVITIES = (
    "from temporalio import activity\n\n"
    "@activity.defn\nasync def render(report) -> str:\n    return 'key'\n\n"
    "@activity.defn\nasync def charge(order) -> None:\n    return None\n"
)
_FILES = {"app/__init__.py": "", "app/activities.py": _ACTIVITIES}
_ENCRYPTED = (
    "import dataclasses\nfrom temporalio.converter import DataConverter\nfrom app.codec import EncryptionCodec\n\n"
    "converter = dataclasses.replace(DataConverter.default, payload_codec=EncryptionCodec())\n"
)
_WORKFLOWS = (
    "from datetime import timedelta\nfrom temporalio import workflow\nfrom app.activities import render\n\n"
    "@workflow.defn\nclass Report:\n"
    "    @workflow.run\n    async def run(self, source) -> str:\n"
    "        return await workflow.execute_activity(render, source, start_to_close_timeout=timedelta(minutes=5))\n"
)


class UnsendableTemporalInput(Rule):
    """
    ## What it does
    Finds the inputs of activities, workflows and child workflows that do not belong in a
    Temporal payload: file contents (`f.read()`, `path.read_bytes()`), uploads, whole DataFrames,
    ORM rows (a SQLAlchemy mapped object, a Django model instance or QuerySet, a list of them),
    the web request, a session, dumps of whole objects, objects whose class holds bytes in a
    field (directly or through its fields' classes), and credentials (an argument, or a field
    of the object or dict passed, named like a password, a token, an API key or a private key).
    It reads `workflow.execute_activity(...)` and its variants, `execute_child_workflow(...)`,
    a client's `start_workflow(...)`, `execute_workflow(...)`, `execute_activity(...)` and
    `start_activity(...)`, and a schedule's `ScheduleActionStartWorkflow(...)`, following
    values through local variables and project functions.

    ## Why is this bad?
    Every input is stored in the workflow's history, and Temporal caps it: 2 MB per payload
    and 4 MB per request by default, with warnings long before the history's own limit (50 MB
    or 51,200 events). A file or a list of rows that was small in tests fails in production, as
    a failed workflow task that retries forever, and every large input slows each replay of
    the workflow. Rows are stale by the time an activity retries. The history is kept for the
    namespace's retention period and shown in the Web UI and `temporal workflow show`:
    credentials in it are readable by anyone who can see the workflow, unless a codec encrypts
    every payload.

    Pass ids and storage keys, let activities load what they need, and read credentials in the
    activity from its own configuration or a secret store.
    """

    code = "JL413"
    name = "unsendable-temporal-input"
    summary = "A Temporal input carries a file, rows, an upload, a DataFrame, a request, a dump or a credential"
    needles = (needles.TEMPORAL, (b"activity", b"workflow", b"ScheduleAction"))

    invalid = (
        Invalid(
            "from temporalio.client import WorkflowHandle\n\n"
            "from proj.connect import get_client\nfrom proj.workflows import Sync\n\n"
            "async def start(source_id: str, access_token: str) -> WorkflowHandle:\n"
            "    client = await get_client()\n"
            "    return await client.start_workflow(\n"
            "        Sync.run, args=[source_id, access_token], id=source_id, task_queue='q'\n"
            "    )\n",
            path="proj/service.py",
            files={
                "proj/__init__.py": "",
                "proj/connect.py": "async def get_client():\n    ...\n",
                "proj/workflows/__init__.py": "from proj.workflows.sync import Sync\n",
                "proj/workflows/sync.py": "from temporalio import workflow\n\n"
                "@workflow.defn\nclass Sync:\n"
                "    @workflow.run\n    async def run(self, source_id: str, access_token: str) -> None:\n"
                "        return None\n",
            },
            line=9,
            message="`client.start_workflow()` is sent a credential (`access_token`)",
        ),
        Invalid(
            "from datetime import timedelta\n"
            "from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow, ScheduleSpec\n"
            "from app import settings\n\n"
            "async def schedule(client: Client) -> None:\n"
            "    await client.create_schedule(\n"
            "        'sync-labels',\n"
            "        Schedule(\n"
            "            action=ScheduleActionStartWorkflow(\n"
            "                'SyncLabels',\n"
            "                args=(settings.label_host, settings.label_api_key),\n"
            "                id='sync-labels',\n"
            "                task_queue='labels',\n"
            "            ),\n"
            "            spec=ScheduleSpec(intervals=[]),\n"
            "        ),\n"
            "    )\n",
            line=11,
            message="`ScheduleActionStartWorkflow()` is sent a credential (`label_api_key`): the workflow's history",
        ),
        Invalid(
            "from pathlib import Path\nfrom temporalio.client import Client\n"
            "from app.workflows import Report\n\n"
            "async def main(client: Client, path: str) -> None:\n"
            "    data = Path(path).read_bytes()\n"
            "    await client.execute_workflow(Report.run, data, id=path, task_queue='reports')\n",
            files={**_FILES, "app/workflows.py": _WORKFLOWS},
            path="app/start.py",
            line=7,
            message="`client.execute_workflow()` is sent file contents or bytes",
        ),
        Invalid(
            "from temporalio.client import Client\n\n"
            "async def start(client: Client, upload_path, api_key):\n"
            "    await client.start_workflow('ingest', args=[upload_path, api_key], id='x', task_queue='q')\n",
            line=4,
            message="`client.start_workflow()` is sent a credential (`api_key`): the workflow's history keeps it",
        ),
        Invalid(
            "from dataclasses import dataclass\nfrom temporalio.client import Client\n\n"
            "@dataclass\nclass Sync:\n    account: str\n    token: str\n\n"
            "async def sync(client: Client, account, settings):\n"
            "    await client.execute_workflow(\n"
            "        'sync', Sync(account=account, token=settings.CRM_TOKEN), id=account, task_queue='q'\n"
            "    )\n",
            line=11,
            message="`client.execute_workflow()` is sent a credential (`token`)",
        ),
        Invalid(
            "import pandas as pd\nfrom temporalio.client import Client\n\n"
            "async def start(client: Client, path):\n"
            "    frame = pd.read_csv(path)\n"
            "    await client.start_workflow('clean', frame.to_dict('records'), id=path, task_queue='q')\n",
            line=6,
            message="`client.start_workflow()` is sent a whole DataFrame",
        ),
        Invalid(
            "from sqlalchemy.orm import Session\nfrom temporalio.client import Client\nfrom app.db import Order\n\n"
            "async def checkout(client: Client, session: Session, order_id):\n"
            "    order = session.get(Order, order_id)\n"
            "    await client.start_workflow('checkout', order, id=f'checkout-{order_id}', task_queue='q')\n",
            line=7,
            message="`client.start_workflow()` is sent a model instance or QuerySet: send its id",
        ),
        Invalid(
            "from fastapi import UploadFile\nfrom temporalio.client import Client\n\n"
            "async def upload(client: Client, file: UploadFile):\n"
            "    await client.start_workflow('scan', await file.read(), id=file.filename, task_queue='q')\n",
            line=5,
            message="`client.start_workflow()` is sent file contents or bytes",
        ),
    )
    valid = (
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n"
            "from app.activities import render\n\n"
            "@workflow.defn\nclass Report:\n"
            "    @workflow.run\n    async def run(self, path: str) -> str:\n"
            "        return await workflow.execute_activity(\n"
            "            render, path, start_to_close_timeout=timedelta(minutes=5)\n"
            "        )\n",
            files=_FILES,
            path="app/workflows.py",
        ),
        Valid(
            "from temporalio.client import Client\n\n"
            "async def start(client: Client, account_id, secret_name):\n"
            "    await client.start_workflow('sync', args=[account_id, secret_name], id='x', task_queue='q')\n",
        ),
        Valid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def start(client: Client, order):\n"
            "    await client.start_workflow(\n"
            "        'checkout', {'order_id': order.pk, 'request_id': str(uuid.uuid4())}, id='x', task_queue='q'\n"
            "    )\n",
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Pay:\n"
            "    @workflow.run\n    async def run(self, task_token: bytes, page_token: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            'complete', args=[task_token, page_token], start_to_close_timeout=timedelta(seconds=30)\n"
            "        )\n",
        ),
        Valid(
            "from temporalio.client import Client\n\n"
            "async def start(client: Client, key: str, token_id: str):\n"
            "    await client.start_workflow('scan', key, id=token_id, task_queue='q')\n",
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\nfrom app.inputs import SyncRequest\n\n"
            "@workflow.defn\nclass Sync:\n"
            "    @workflow.run\n    async def run(self, request: SyncRequest) -> None:\n"
            "        await workflow.execute_activity('sync', request, start_to_close_timeout=timedelta(minutes=1))\n",
            path="app/workflows.py",
        ),
        Valid(
            "from temporalio.client import Client\nfrom app.converter import converter\n\n"
            "async def start(account_id, api_key):\n"
            "    client = await Client.connect('temporal:7233', data_converter=converter)\n"
            "    await client.start_workflow('sync', args=[account_id, api_key], id=account_id, task_queue='q')\n",
            files={"app/__init__.py": "", "app/converter.py": _ENCRYPTED},
            path="app/start.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        ctx = self.ctx
        sent = temporal_input(ctx.model, node, ctx.scope)
        if sent is None:
            return
        if is_test_module(ctx.model.module, ctx.model.path):  # a test's messages never reach a production broker
            return
        encoded = payloads_encoded(ctx.index)
        for _, value in sent.arguments:
            secret = None if encoded else secret_inside(value)
            if secret is not None:
                self.report(
                    value,
                    f"`{sent.label}` is sent a credential (`{secret}`): the workflow's history keeps it in "
                    "clear text; let the activity read it from its configuration",
                )
                continue
            problem = unsendable(ctx.model, value, ctx.scope)
            if problem is not None:
                self.report(value, f"`{sent.label}` is sent {problem.what}: {problem.instead}")
