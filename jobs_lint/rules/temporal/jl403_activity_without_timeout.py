from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid

TIMEOUTS = ("start_to_close_timeout", "schedule_to_close_timeout")


class ActivityWithoutTimeout(Rule):
    """
    ## What it does
    Finds activity calls with neither `start_to_close_timeout` nor `schedule_to_close_timeout`:
    `workflow.execute_activity()`, `start_activity()`, their `_method` and `_class` variants,
    the local-activity ones (`execute_local_activity()`, ...), and a client's standalone
    `execute_activity()`/`start_activity()`. A timeout given as `None` counts as none; options
    passed as `**kwargs` are trusted.

    ## Why is this bad?
    Temporal needs to know when an attempt has failed. Without either timeout the SDK refuses to
    schedule the activity: in a workflow, `ValueError: Activity must have start_to_close_timeout
    or schedule_to_close_timeout` fails the workflow task, which is retried again and again, so
    the workflow is stuck at that line until a fixed worker is deployed, and nothing fails
    loudly before production. `start_to_close_timeout` bounds one attempt (set it a little above
    the longest run you expect); `schedule_to_close_timeout` bounds all attempts together.
    """

    code = "JL403"
    name = "activity-without-timeout"
    summary = "An activity is scheduled without a start-to-close or schedule-to-close timeout"
    needles = (needles.TEMPORAL, (b"_activity",))

    invalid = (
        Invalid(
            "from temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n"
            "    from proj.activities import charge\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, order_id: str) -> None:\n"
            "        await workflow.execute_activity(charge, order_id)\n",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "from temporalio import activity\n\n"
                "@activity.defn\nasync def charge(order_id: str) -> None:\n    pass\n",
            },
            path="proj/workflows.py",
            line=10,
            message="`workflow.execute_activity()` has neither `start_to_close_timeout`",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import workflow as wf\n\n"
            "@wf.defn\nclass Orders:\n"
            "    @wf.run\n    async def run(self) -> None:\n"
            "        handle = wf.start_activity('charge', heartbeat_timeout=timedelta(seconds=30))\n"
            "        await handle\n",
            line=8,
            message="`workflow.start_activity()` has neither `start_to_close_timeout` nor",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio.workflow import execute_local_activity\n\n"
            "async def lookup(key: str) -> str:\n"
            "    return await execute_local_activity('lookup', key, schedule_to_start_timeout=timedelta(seconds=5))\n",
            line=5,
            message="`workflow.execute_local_activity()` has neither",
        ),
        Invalid(
            "from temporalio import activity, workflow\n\n"
            "class Billing:\n    @activity.defn\n    async def refund(self, order_id: str) -> None:\n        pass\n\n"
            "@workflow.defn\nclass Refunds:\n"
            "    @workflow.run\n    async def run(self, order_id: str) -> None:\n"
            "        await workflow.execute_activity_method(Billing.refund, order_id, start_to_close_timeout=None)\n",
            line=12,
            message="`workflow.execute_activity_method()` has neither",
        ),
        Invalid(
            "from temporalio.client import Client\n\n"
            "async def main() -> None:\n"
            "    client = await Client.connect('localhost:7233')\n"
            "    await client.execute_activity('report', id='report-1', task_queue='reports')\n",
            line=5,
            message="`client.execute_activity()` has neither `start_to_close_timeout` nor",
        ),
    )
    valid = (
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, order_id: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            'charge', order_id, start_to_close_timeout=timedelta(minutes=2)\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "async def lookup(key: str) -> str:\n"
            "    return await workflow.execute_local_activity(\n"
            "        'lookup', key, schedule_to_close_timeout=timedelta(seconds=5)\n    )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "OPTIONS = {'start_to_close_timeout': timedelta(minutes=1)}\n\n"
            "async def charge(order_id: str) -> None:\n"
            "    await workflow.execute_activity('charge', order_id, **OPTIONS)\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "async def charge(order_id: str, timeout) -> None:\n"
            "    await workflow.execute_activity('charge', order_id, start_to_close_timeout=timeout)\n"
        ),
        Valid(
            "class Runner:\n"
            "    async def execute_activity(self, name: str) -> None:\n        pass\n\n"
            "async def main(runner: Runner) -> None:\n"
            "    await runner.execute_activity('charge')\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "async def child(order_id: str) -> None:\n"
            "    await workflow.execute_child_workflow('Charge', order_id, id=f'charge-{order_id}')\n"
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        call = self.ctx.model.temporal.activity_call(node, self.ctx.scope)
        if call is None or call.opaque:
            return
        if any(not _is_none(call.keyword(name)) for name in TIMEOUTS):
            return
        owner = "client" if call.standalone else "workflow"
        self.report(
            node,
            f"`{owner}.{call.function}()` has neither `start_to_close_timeout` nor `schedule_to_close_timeout`: "
            "Temporal refuses to schedule it",
        )


def _is_none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)
