from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.scope import Scope
from jobs_lint.semantic.summaries import CREATES

CREATES_ONLY = frozenset({CREATES})

RETRY_POLICY = "temporalio.common.RetryPolicy"

_ACTIVITY = (
    "import httpx\nfrom temporalio import activity\n\n"
    "@activity.defn\nasync def charge(order_id: str) -> None:\n"
    "    httpx.post('https://pay.example/charges', json={'order': order_id})\n\n"
)
_WORKFLOW = "@workflow.defn\nclass Orders:\n    @workflow.run\n    async def run(self, order_id: str) -> None:\n"


class UnboundedActivityRetries(Rule):
    """
    ## What it does
    Finds activity calls (`workflow.execute_activity()`, `start_activity()`, their `_method`
    and local variants, a client's standalone ones) that schedule an activity of the project
    that creates something each time it runs (an HTTP POST, an email, a payment, an ORM
    create; the same list as JL104 and JL304) and has no idempotency guard, when nothing limits
    its retries: no `retry_policy` (or `retry_policy=None`), or a `RetryPolicy` without
    `maximum_attempts` or with `maximum_attempts=0`, and no `schedule_to_close_timeout`. What the
    activity creates is followed through the functions and methods it calls, in any module (the
    finding names the chain); a function with an idempotency guard stops the chain.

    Options passed as `**kwargs`, retry policies the linter cannot resolve, and activities it
    does not know (defined outside the project) pass.

    A heuristic, enabled by default after measuring it on the Temporal samples, the SDK and 32
    public Temporal projects (915 activities, 783 activity calls): 4 activities create something
    with no guard, and the 2 findings (both notification POSTs retried without limit) are true.
    A `client.messages.create(...)` of an LLM SDK (`anthropic`, `openai`) asks for a completion
    and is not a side effect.

    ## Why is this bad?
    Temporal's default retry policy retries an activity without limit. An activity that posts
    a payment or sends an email and then fails (a timeout on the reply, a worker restart)
    repeats the effect on every attempt, for as long as the failure lasts. Pass an
    idempotency key to the remote side, or bound the retries:
    `retry_policy=RetryPolicy(maximum_attempts=3)`.
    """

    code = "JL412"
    name = "unbounded-activity-retries"
    summary = "A side-effecting activity is scheduled with no limit on its retries"
    needles = (needles.TEMPORAL, (b"_activity",))

    invalid = (
        Invalid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n",
            line=15,
            message="Activity `charge` creates an HTTP POST each time it runs and is",
        ),
        Invalid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from proj.activities import notify\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            notify, order_id, start_to_close_timeout=timedelta(seconds=30),\n"
            "            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5)),\n        )\n",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "from temporalio import activity\nfrom proj.mail import mailer\n\n"
                "@activity.defn\ndef notify(order_id: str) -> None:\n"
                "    mailer.send_email('shop@example.com', f'order {order_id} shipped')\n",
            },
            path="proj/workflows.py",
            line=12,
            message="Activity `notify` creates an email each time it runs and is retried",
        ),
        Invalid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30),\n"
            "            retry_policy=RetryPolicy(maximum_attempts=0),\n        )\n",
            line=16,
            message="Activity `charge` creates an HTTP POST each time it runs and is",
        ),
        Invalid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            "POLICY = RetryPolicy(backoff_coefficient=3.0)\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.start_activity(\n"
            "            'charge', order_id, start_to_close_timeout=timedelta(seconds=30), retry_policy=POLICY,\n"
            "        )\n",
            line=18,
            message="Activity `charge` creates an HTTP POST each time it runs and is",
        ),
        Invalid(
            "from datetime import timedelta\n"
            "import requests\nfrom temporalio import activity, workflow\n\n"
            "class Tickets:\n"
            "    @activity.defn\n    def open_ticket(self, title: str) -> None:\n"
            "        requests.post('https://tickets.example/api', json={'title': title})\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity_method(\n"
            "            Tickets.open_ticket, order_id,\n"
            "            start_to_close_timeout=timedelta(seconds=30), retry_policy=None,\n"
            "        )\n",
            line=14,
            message="Activity `open_ticket` creates an HTTP POST each time it runs and is",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.execute_local_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=5),\n        )\n",
            line=15,
            message="Activity `charge` creates an HTTP POST each time it runs and is",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from proj.activities import open_incident\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            open_incident, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "from temporalio import activity\nfrom proj.tracker import Tracker\n\n"
                "@activity.defn\nasync def open_incident(order_id: str) -> None:\n"
                "    await Tracker().report(order_id)\n",
                "proj/tracker.py": "class Tracker:\n"
                "    async def report(self, order_id: str) -> None:\n"
                "        self.jira.create_issue(fields={'summary': order_id})\n",
            },
            path="proj/workflows.py",
            line=11,
            message="creates a ticket each time it runs (through `open_incident -> Tracker.report -> "
            "self.jira.create_issue`) and is retried without limit",
        ),
    )
    valid = (
        Valid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30),\n"
            "            retry_policy=RetryPolicy(maximum_attempts=3),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            + _ACTIVITY
            + "OPTIONS = {'start_to_close_timeout': timedelta(seconds=30)}\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(charge, order_id, **OPTIONS)\n"
        ),
        Valid(
            "from datetime import timedelta\nimport httpx\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def charge(order_id: str) -> None:\n"
            "    httpx.post('https://pay.example/charges', headers={'Idempotency-Key': order_id})\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nimport httpx\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def price(order_id: str) -> float:\n"
            "    return httpx.get(f'https://pay.example/prices/{order_id}').json()['total']\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            price, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from payments.activities import charge\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            + _ACTIVITY
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            charge, order_id, schedule_to_close_timeout=timedelta(minutes=10),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            + _ACTIVITY
            + "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, order_id: str, policy: RetryPolicy) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            charge, order_id, start_to_close_timeout=timedelta(seconds=30), retry_policy=policy,\n"
            "        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom anthropic import AsyncAnthropic\n"
            "from temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def ask(prompt: str) -> str:\n"
            "    client = AsyncAnthropic(max_retries=0)\n"
            "    reply = await client.messages.create(model='claude', max_tokens=512, messages=[prompt])\n"
            "    return reply.content[0].text\n\n" + _WORKFLOW + "        await workflow.execute_activity(\n"
            "            ask, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n"
        ),
        Valid(
            "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from proj.activities import open_session\n\n"
            + _WORKFLOW
            + "        await workflow.execute_activity(\n"
            "            open_session, order_id, start_to_close_timeout=timedelta(seconds=30),\n        )\n",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "from temporalio import activity\nfrom proj.sessions import get_or_open\n\n"
                "@activity.defn\nasync def open_session(order_id: str) -> None:\n"
                "    await get_or_open(order_id)\n",
                "proj/sessions.py": "from proj.models import Session\n\n"
                "async def get_or_open(order_id: str) -> None:\n"
                "    await Session.objects.aget_or_create(order_id=order_id)\n",
            },
            path="proj/workflows.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        call = self.ctx.model.temporal.activity_call(node, self.ctx.scope)
        if call is None or call.opaque or call.activity is None:
            return
        if call.keyword("schedule_to_close_timeout") is not None:
            return
        if not self._unlimited(call.keyword("retry_policy"), self.ctx.scope):
            return
        activity = call.activity
        creates, through = activity.creates, ""
        related: tuple[tuple[str, int, str], ...] = ()
        if creates is None:
            # Through the functions it calls: the activity's own summary is the first hop.
            reach = self.ctx.index.calls.reach(activity.qualname, CREATES_ONLY, passed=True)
            if reach is None or len(reach.hops) < 2:
                return
            creates, through, related = reach.effect.what, f" (through `{reach.chain}`)", reach.related
        name = activity.qualname.rpartition(".")[2]
        self.report(
            node,
            f"Activity `{name}` creates {creates} each time it runs{through} and is retried without limit: "
            "set `RetryPolicy(maximum_attempts=...)` or make it idempotent",
            related=related,
        )

    def _unlimited(self, policy: ast.expr | None, scope: Scope | None) -> bool:
        """Whether a `retry_policy` argument leaves the attempts unlimited; False when unknown."""
        if isinstance(policy, ast.Name):
            found = self.ctx.model.lookup(policy.id, scope)
            bindings = found[0] if found else []
            if len(bindings) != 1 or not isinstance(bindings[0], ast.expr):
                return False
            policy, scope = bindings[0], found[1] if found else scope
        if policy is None or (isinstance(policy, ast.Constant) and policy.value is None):
            return True
        if not isinstance(policy, ast.Call) or self.ctx.model.qualname(policy.func, scope) != RETRY_POLICY:
            return False
        if any(keyword.arg is None for keyword in policy.keywords):
            return False
        attempts = next((k.value for k in policy.keywords if k.arg == "maximum_attempts"), None)
        return attempts is None or (isinstance(attempts, ast.Constant) and attempts.value == 0)
