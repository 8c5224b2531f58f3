from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.modules import is_test_module
from jobs_lint.semantic.scope import Scope
from jobs_lint.semantic.syntax import own_nodes
from jobs_lint.semantic.temporal.calls import is_test_client
from jobs_lint.semantic.temporal.hazards import replay_hazard

# Values that change from one call to the next, but say nothing about the business object.
# `date.today()` makes a daily key (`report-2026-01-31`): deliberate dedupe, not a fresh id.
_NOT_FRESH = frozenset({"time.sleep", "os.getenv", "os.environ", "os.getpid", "os.getppid", "datetime.date.today"})
_FRESH = frozenset({"shortuuid.uuid", "nanoid.generate", "ulid.new", "ulid.ULID"})
_MAX_DEPTH = 4
_STARTS = frozenset({"start_workflow", "execute_workflow", "WithStartWorkflowOperation"})


class RandomWorkflowId(Rule):
    """
    ## What it does
    Finds `start_workflow(...)`, `execute_workflow(...)` and `WithStartWorkflowOperation(...)`
    calls whose workflow `id` is built from a fresh random or time-based value: `uuid.uuid4()`,
    `uuid.uuid1()`, `time.time()`, `datetime.now()`, `random`, `secrets`, ULIDs and the like,
    directly or through a variable of the same function.

    ## Why is this bad?
    The workflow id is Temporal's idempotency key: while a workflow with that id runs, starting
    it again fails (or returns the running one, with `id_conflict_policy`). A fresh id on every
    call gives that up: a retried HTTP request, a redelivered message or a double click starts
    the same business process twice, and nothing finds the running workflow by its business
    object any more. Build the id from what the workflow is about (`f"order-{order.id}"`);
    use `id_reuse_policy` to say whether it may run again once it has finished.

    Tests want a fresh workflow on every run: test modules (`test_*.py`, `*_test.py`,
    `conftest.py`, anything under a `tests` directory) and workflows started on a
    `temporalio.testing.WorkflowEnvironment`'s client are not checked. Neither is a start whose
    function returns the fresh value the id is built from: its caller is handed the new run to
    follow (a new run per request, by design).
    """

    code = "JL406"
    name = "random-workflow-id"
    summary = "A workflow is started with a random or time-based id"
    needles = ((b"start_workflow", b"execute_workflow", b"WithStartWorkflowOperation"),)

    invalid = (
        Invalid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def place_order(client: Client, order_id: str) -> None:\n"
            "    await client.start_workflow(\n"
            "        'orders', order_id, id=f'order-{uuid.uuid4()}', task_queue='orders'\n    )\n",
            line=6,
            message="Workflow id built from `uuid.uuid4()`",
        ),
        Invalid(
            "from uuid import uuid4\nfrom temporalio.client import Client\n\n"
            "async def main() -> None:\n"
            "    client = await Client.connect('localhost:7233')\n"
            "    workflow_id = str(uuid4())\n"
            "    await client.execute_workflow('report', id=workflow_id, task_queue='reports')\n",
            line=7,
            message="Workflow id built from `uuid.uuid4()`",
        ),
        Invalid(
            "import time\n\nfrom proj.workflows import Invoice\n\n"
            "async def bill(temporal, customer: str) -> None:\n"
            "    await temporal.start_workflow(\n"
            "        Invoice.run, customer, id=f'invoice-{customer}-{time.time()}', task_queue='q'\n    )\n",
            files={
                "proj/__init__.py": "",
                "proj/workflows.py": "from temporalio import workflow\n\n"
                "@workflow.defn\nclass Invoice:\n"
                "    @workflow.run\n    async def run(self, customer: str) -> None:\n        pass\n",
            },
            path="proj/billing.py",
            line=7,
            message="Workflow id built from `time.time()`",
        ),
        Invalid(
            "from datetime import datetime\nfrom temporalio.client import Client, WithStartWorkflowOperation\n\n"
            "def operation() -> WithStartWorkflowOperation:\n"
            "    return WithStartWorkflowOperation(\n"
            "        'cart', id='cart-' + datetime.now().isoformat(), task_queue='carts'\n    )\n",
            line=6,
            message="Workflow id built from `datetime.datetime.now()`",
        ),
        Invalid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def export(client: Client, account: str) -> str:\n"
            "    export_id = f'export-{account}-{uuid.uuid4().hex}'\n"
            "    await client.start_workflow('export', account, id=export_id, task_queue='q')\n"
            "    return account\n",
            line=6,
            message="Workflow id built from `uuid.uuid4()`",
        ),
    )
    valid = (
        Valid(
            "import uuid\nfrom temporalio.testing import WorkflowEnvironment\n\n"
            "async def run_once() -> None:\n"
            "    async with await WorkflowEnvironment.start_local() as env:\n"
            "        await env.client.execute_workflow('w', id=uuid.uuid4().hex, task_queue='q')\n"
        ),
        Valid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def start_backfill(client: Client, versions: list[str]) -> dict[str, str]:\n"
            "    run_id = uuid.uuid4().hex\n"
            "    workflow_id = f'backfill-{run_id}'\n"
            "    await client.start_workflow('backfill', versions, id=workflow_id, task_queue='q')\n"
            "    return {'run': run_id}\n"
        ),
        Valid(
            "from temporalio.client import Client\n\n"
            "async def place_order(client: Client, order_id: str) -> None:\n"
            "    await client.start_workflow('orders', order_id, id=f'order-{order_id}', task_queue='orders')\n"
        ),
        Valid(
            "from datetime import date\nfrom temporalio.client import Client\n\n"
            "async def daily_report(client: Client, account: str) -> None:\n"
            "    report_id = f'report-{account}-{date.today():%Y-%m-%d}'\n"
            "    await client.start_workflow('report', id=report_id, task_queue='reports')\n"
        ),
        Valid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def test_orders(client: Client) -> None:\n"
            "    await client.execute_workflow('orders', id=f'orders-{uuid.uuid4()}', task_queue='q')\n",
            path="tests/test_orders.py",
        ),
        Valid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def place_order(client: Client, order_id: str) -> None:\n"
            "    request_id = str(uuid.uuid4())\n"
            "    await client.start_workflow('orders', request_id, id=f'order-{order_id}', task_queue='orders')\n"
        ),
        Valid(
            "import uuid\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Parent:\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        await workflow.execute_child_workflow('child', id=f'child-{workflow.uuid4()}')\n"
        ),
        Valid(
            "import uuid\n\n"
            "class Jobs:\n    def start_workflow(self, name: str, id: str) -> None:\n        pass\n\n"
            "def run(jobs: Jobs) -> None:\n    jobs.start_workflow('export', id=str(uuid.uuid4()))\n"
        ),
        Valid(
            "from temporalio.client import Client\n\n"
            "async def place_order(client: Client, workflow_id: str) -> None:\n"
            "    await client.start_workflow('orders', id=workflow_id, task_queue='orders')\n"
        ),
        Valid(
            "import uuid\nfrom temporalio.client import Client\n\n"
            "async def place_order(client: Client, order_id: str) -> None:\n"
            "    key = uuid.uuid5(uuid.NAMESPACE_URL, order_id)\n"
            "    await client.start_workflow('orders', id=str(key), task_queue='q')\n"
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name not in _STARTS or is_test_module(self.ctx.model.module, self.ctx.model.path):
            return
        temporal = self.ctx.model.temporal
        start = temporal.workflow_start(node, self.ctx.scope)
        if start is None or (isinstance(func, ast.Attribute) and is_test_client(temporal, func.value, self.ctx.scope)):
            return
        workflow_id = start.keyword("id")
        names: list[str] = []
        source = self._fresh(workflow_id, self.ctx.scope, 0, names) if workflow_id is not None else None
        if workflow_id is not None and source is not None and not self._returned(names):
            self.report(
                workflow_id,
                f"Workflow id built from `{source}()`: every call starts another workflow, so a retried "
                "request runs the work twice; build the id from a business key",
            )

    def _returned(self, names: list[str]) -> bool:
        """Whether the function returns a variable the id is built from (`return Started(workflow_id=
        workflow_id)`): its caller is handed the new run to follow, a new run per request by design."""
        defs = self.ctx.enclosing_defs
        if not names or not defs or isinstance(defs[-1], ast.ClassDef):
            return False
        wanted = set(names)
        return any(
            isinstance(node, ast.Return)
            and node.value is not None
            and any(isinstance(child, ast.Name) and child.id in wanted for child in ast.walk(node.value))
            for node in own_nodes(defs[-1])
        )

    def _fresh(self, node: ast.expr, scope: Scope | None, depth: int, names: list[str]) -> str | None:
        """The fresh-value call an expression is built from, following local variables that
        are part of it (not objects it reads an attribute of: `order.id` is a business key,
        however `order` was made); `names` gets the variables on the way."""
        model = self.ctx.model
        objects = {id(child.value) for child in ast.walk(node) if isinstance(child, ast.Attribute)}
        for child in ast.walk(node):
            if isinstance(child, ast.Call):
                path = model.temporal.qualname(child.func, scope)
                if path in _FRESH or (path not in _NOT_FRESH and replay_hazard(path, child) is not None):
                    return path
            elif isinstance(child, ast.Name) and id(child) not in objects and depth < _MAX_DEPTH:
                found = model.lookup(child.id, scope)
                if found is None or found[1].node is None:
                    continue  # a parameter, a builtin or a module global: not this call's doing
                for binding in found[0]:
                    if isinstance(binding, ast.expr):
                        source = self._fresh(binding, found[1], depth + 1, names)
                        if source is not None:
                            names.append(child.id)
                            return source
        return None
