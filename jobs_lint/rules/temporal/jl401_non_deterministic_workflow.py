from __future__ import annotations

import ast

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Fix
from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Valid
from jobs_lint.rules.temporal.workflow_code import WorkflowCodeRule
from jobs_lint.semantic.summaries import HAZARD
from jobs_lint.semantic.temporal.hazards import replay_hazard
from jobs_lint.semantic.temporal.project import WorkflowInfo

HAZARDS = frozenset({HAZARD})

# Replacements that return the same kind of value, so the fix is safe: name -> workflow API.
_SAME_VALUE = {"uuid.uuid4": "uuid4", "uuid.uuid1": "uuid4", "time.time": "time", "time.time_ns": "time_ns"}
# `random.<method>(...)` that `workflow.random()` (a `random.Random`) has as well.
_RANDOM_METHODS = frozenset(
    {
        "betavariate",
        "choice",
        "choices",
        "expovariate",
        "gauss",
        "getrandbits",
        "lognormvariate",
        "normalvariate",
        "randbytes",
        "randint",
        "random",
        "randrange",
        "sample",
        "shuffle",
        "triangular",
        "uniform",
    }
)


class NonDeterministicWorkflow(WorkflowCodeRule):
    """
    ## What it does
    Finds workflow code that reads the clock, randomness or the worker's environment:
    `datetime.now()`/`utcnow()`/`today()`, `time.time()`/`monotonic()`/`perf_counter()`/`sleep()`,
    the `random` and `secrets` modules (a seeded `random.Random(seed)` passes), `uuid.uuid1()`/
    `uuid4()`, `os.urandom()`, `os.getpid()`, `os.environ` and `os.getenv()`. Workflow code is
    every method of a `@workflow.defn` class and the functions of the same module they call;
    what the functions and methods they call in other modules do is followed too, and the
    finding names the chain of calls. Every read a call reaches is reported where it is made,
    not only the nearest: each branch of a helper may read the clock in its own place.
    `asyncio.sleep()` and `workflow.sleep()` are durable timers and pass, and so does code in a
    `workflow.unsafe.sandbox_unrestricted()` block. Threads and executors are the concurrency
    rule's business.

    ## Why is this bad?
    A worker rebuilds a workflow's state by replaying its history through the same code. A value
    that differs on replay (another time, another random number, another process) sends the code
    down another path: the replay no longer matches the history, the workflow task fails with a
    non-determinism error, and the workflow is stuck until the code is fixed. The workflow
    sandbox rejects some of these calls at run time, not before deploying. `workflow.now()`,
    `workflow.time()`, `workflow.random()` and `workflow.uuid4()` return the same values on
    every replay; configuration belongs in the workflow's input or in an activity.

    ## Fix safety
    `uuid.uuid4()` becomes `workflow.uuid4()`, `time.time()` becomes `workflow.time()` and
    `random.<method>(...)` becomes `workflow.random().<method>(...)`: the same kind of value,
    reproducible on replay. The fix is safe. Other calls have no fix: `workflow.now()` is
    timezone-aware where `datetime.now()` is naive, so that change is left to you.
    """

    code = "JL401"
    name = "non-deterministic-workflow"
    summary = "Workflow code reads the clock, randomness or the environment"
    needles = (needles.TEMPORAL,)
    fix = Applicability.SAFE

    invalid = (
        Invalid(
            "import uuid\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        return str(uuid.uuid4())\n",
            fixed="import uuid\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        return str(workflow.uuid4())\n",
            line=8,
            message="`uuid.uuid4()` in workflow `Orders` differs when the workflow is",
        ),
        Invalid(
            "from temporalio import workflow\nfrom uuid_extensions import uuid7\n\n"
            "@workflow.defn(sandboxed=False)\nclass Steps:\n"
            "    @workflow.run\n    async def run(self, step: int) -> dict:\n"
            "        return {'step': step, 'scope_id': uuid7()}\n",
            line=8,
            message="`uuid_extensions.uuid7()` in workflow `Steps` differs when the workflow is replayed: use "
            "`workflow.uuid4()`",
        ),
        Invalid(
            "from datetime import datetime\nfrom temporalio import workflow as wf\n\n"
            "def deadline():\n    return datetime.now()\n\n"
            "@wf.defn\nclass Billing:\n"
            "    @wf.run\n    async def run(self) -> None:\n"
            "        if deadline().hour > 17:\n            return\n",
            line=5,
            message="`datetime.datetime.now()` in workflow `Billing` differs when the",
        ),
        Invalid(
            "import random\nimport time\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Retry:\n"
            "    @workflow.run\n    async def run(self) -> float:\n"
            "        return time.time() + random.randint(1, 5)\n",
            fixed="import random\nimport time\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Retry:\n"
            "    @workflow.run\n    async def run(self) -> float:\n"
            "        return workflow.time() + workflow.random().randint(1, 5)\n",
            line=9,
            message="`time.time()` in workflow `Retry` differs when the workflow is",
        ),
        Invalid(
            "import os\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Config:\n"
            "    def __init__(self) -> None:\n        self.region = os.environ['REGION']\n\n"
            "    @workflow.run\n    async def run(self) -> str:\n        return self.region\n",
            line=7,
            message="`os.environ` in workflow `Config` differs when the workflow is",
        ),
        Invalid(
            "import time\nfrom temporalio.workflow import defn, run, signal\n\n"
            "@defn\nclass Poller:\n"
            "    @signal\n    def poke(self) -> None:\n        time.sleep(1)\n\n"
            "    @run\n    async def run(self) -> None:\n        pass\n",
            line=8,
            message="`time.sleep()` in workflow `Poller` differs when the workflow is",
        ),
        Invalid(
            "import secrets\nimport temporalio.workflow\n\n"
            "@temporalio.workflow.defn\nclass Tokens:\n"
            "    @temporalio.workflow.run\n    async def run(self) -> str:\n        return secrets.token_hex(8)\n",
            line=8,
            message="`secrets.token_hex()` in workflow `Tokens` differs when the workflow",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.base import Base\n\n"
            "import datetime as dt\n\n"
            "@workflow.defn\nclass Report(Base):\n"
            "    @workflow.query\n    def age(self) -> float:\n"
            "        return (dt.date.today() - self.day).days\n",
            files={"proj/__init__.py": "", "proj/base.py": "class Base:\n    day = None\n"},
            path="proj/workflows.py",
            line=11,
            message="`datetime.date.today()` in workflow `Report` differs when the",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.ids import new_reference\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        return new_reference('order')\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/ids.py": "import uuid\n\ndef new_reference(prefix: str) -> str:\n"
                "    return f'{prefix}-{uuid.uuid4()}'\n",
            },
            line=9,
            message="through `new_reference -> uuid.uuid4`",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.ids import new_reference\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        return new_reference('order')\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/ids.py": "import uuid\n\ndef new_reference(prefix: str) -> str:\n"
                "    return f'{prefix}-{uuid.uuid4()}'\n",
            },
            checked="proj/ids.py",
            line=4,
            message="`uuid.uuid4()` in workflow `Orders`, reached through `run -> new_reference -> uuid.uuid4`",
        ),
        Invalid(
            "from temporalio import workflow\n\nfrom proj.clock import stamp\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, zone: str | None) -> str:\n"
            "        return stamp(zone)\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/clock.py": "import datetime\n\n"
                "def stamp(zone):\n"
                "    if zone is None:\n        return str(datetime.datetime.now())\n"
                "    return zoned(zone)\n\n"
                "def zoned(zone):\n    return str(datetime.datetime.now(zone))\n",
            },
            checked="proj/clock.py",
            line=9,
            message="`datetime.datetime.now()` in workflow `Orders`, reached through `run -> stamp -> zoned -> "
            "datetime.datetime.now`",
        ),
    )
    valid = (
        Valid(
            "import asyncio\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        await asyncio.sleep(60)\n"
            "        return f'{workflow.now()} {workflow.uuid4()} {workflow.random().randint(1, 5)}'\n"
        ),
        Valid(
            "import time\nimport uuid\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def stamp() -> str:\n"
            "    return f'{time.time()} {uuid.uuid4()}'\n"
        ),
        Valid(
            "import os\nimport uuid\nfrom temporalio.client import Client\n\n"
            "async def main() -> None:\n"
            "    client = await Client.connect(os.environ['TEMPORAL_ADDRESS'])\n"
            "    await client.start_workflow('orders', id=str(uuid.uuid4()), task_queue='q')\n"
        ),
        Valid(
            "import random\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Shuffle:\n"
            "    @workflow.run\n    async def run(self, items: list[int]) -> list[int]:\n"
            "        rng = random.Random(workflow.random().randint(0, 2**32))\n"
            "        rng.shuffle(items)\n        return items\n"
        ),
        Valid(
            "import time\nfrom datetime import datetime\n\n"
            "class Orders:\n    async def run(self) -> float:\n"
            "        return time.time() + datetime.now().timestamp()\n"
        ),
        Valid(
            "import time\nimport uuid\nfrom temporalio import workflow\n\n"
            "def fresh_id() -> str:\n    return str(uuid.uuid4())\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, created: float) -> str:\n"
            "        return time.strftime('%Y', time.gmtime(created))\n"
        ),
        Valid(
            "import time\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Yield:\n"
            "    @workflow.run\n    async def run(self) -> None:\n"
            "        with workflow.unsafe.sandbox_unrestricted():\n            time.sleep(0)\n"
        ),
        Valid(
            "from temporalio import workflow\n\nfrom proj.ids import reference\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self) -> str:\n"
            "        return reference('order', workflow.uuid4())\n",
            path="proj/workflows.py",
            files={
                "proj/__init__.py": "",
                "proj/ids.py": "def reference(prefix: str, value: object) -> str:\n    return f'{prefix}-{value}'\n",
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
        path = self.ctx.model.temporal.qualname(func, self.ctx.scope)
        instead = replay_hazard(path, node)
        if path is not None and instead is not None:
            self.report(node, _message(f"`{path}()`", workflow, instead), self._fix(node, path))
            return
        reach = self.reached(node, HAZARDS)
        if reach is None:
            return
        caller = self.ctx.enclosing_defs[-1].name
        for each in self.every_reach(reach, HAZARDS):
            effect = each.effect
            what = f"`{effect.callee}()`" if effect.callee != "os.environ" else "`os.environ`"
            self.report_reach(node, caller, each, _message(what, workflow, effect.what, each.chain), per_effect=True)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr == "environ":
            self._environ(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id == "environ":
            self._environ(node)

    def _environ(self, node: ast.Attribute | ast.Name) -> None:
        workflow = self.workflow()
        if workflow is not None and self.ctx.model.temporal.qualname(node, self.ctx.scope) == "os.environ":
            self.report(node, _message("`os.environ`", workflow, replay_hazard("os.environ") or ""))

    def _fix(self, node: ast.Call, path: str) -> Fix | None:
        module = self.ctx.model.temporal.workflow_module_name
        imports: tuple[tuple[str, str | None], ...] = ()
        if module is None:
            if "workflow" in self.ctx.model.module_scope.bindings:
                return None  # `workflow` names something else here
            module, imports = "workflow", (("temporalio", "workflow"),)
        if path in _SAME_VALUE and not (path == "uuid.uuid1" and (node.args or node.keywords)):
            replacement = f"{module}.{_SAME_VALUE[path]}"
        elif path.startswith("random.") and path.rpartition(".")[2] in _RANDOM_METHODS:
            replacement = f"{module}.random().{path.rpartition('.')[2]}"
        else:
            return None
        return Fix(f"Use `{replacement}`", (edits.replace(self.ctx.source, node.func, replacement),), imports=imports)


def _message(what: str, workflow: WorkflowInfo, instead: str, chain: str | None = None) -> str:
    name = workflow.qualname.rpartition(".")[2]
    through = f", reached through `{chain}`," if chain else ""
    return f"{what} in workflow `{name}`{through} differs when the workflow is replayed: use {instead}"
