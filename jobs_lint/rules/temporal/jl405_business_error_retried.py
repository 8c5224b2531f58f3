from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid

# Built-in errors that say the input is wrong: another attempt with the same input fails the same way.
_INPUT_ERRORS = frozenset(
    {"ValueError", "TypeError", "KeyError", "LookupError", "PermissionError", "NotImplementedError"}
)
# Words in a project's own error names that say a business rule refused the work.
_BUSINESS_WORDS = (
    "Validation",
    "Invalid",
    "NotFound",
    "Forbidden",
    "Unauthorized",
    "PermissionDenied",
    "Declined",
    "Rejected",
    "Insufficient",
    "Business",
)


class BusinessErrorRetried(Rule):
    """
    ## What it does
    Finds activities that raise an error meaning "this input is wrong" (`ValueError`,
    `TypeError`, `KeyError`, `LookupError`, `PermissionError`, `NotImplementedError`, or a
    project error named like `InvalidOrder`, `CustomerNotFound`, `PaymentDeclined`,
    `InsufficientFunds`) while nothing bounds the activity's retries: no call of it in the
    project passes a `retry_policy` or a `schedule_to_close_timeout`, and no retry policy lists
    the error among its `non_retryable_error_types`.

    An activity whose whole body is `raise NotImplementedError` is a declaration for typed
    calls, run elsewhere, and passes.

    ## Why is this bad?
    Temporal's default retry policy retries an activity forever, with the interval growing to
    100 seconds. An error that no retry can fix (a malformed order, a declined card, a missing
    customer) keeps the workflow retrying until someone notices, instead of letting it
    compensate or fail. Raise `ApplicationError(..., non_retryable=True)` for such failures,
    or list the error type in the caller's `RetryPolicy(non_retryable_error_types=[...])`.
    """

    code = "JL405"
    name = "business-error-retried"
    summary = "An activity raises a business error that the default retry policy retries forever"
    needles = (needles.TEMPORAL, (b"raise",))

    invalid = (
        Invalid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def charge(order: dict) -> None:\n"
            "    if order['amount'] <= 0:\n"
            "        raise ValueError(f\"invalid amount {order['amount']}\")\n",
            line=6,
            message="Activity `charge` raises `ValueError`, which the default retry policy",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "class PaymentDeclined(Exception):\n    pass\n\n"
            "class Payments:\n"
            "    @activity.defn\n    async def charge(self, card: str) -> None:\n"
            "        if card.startswith('0000'):\n            raise PaymentDeclined(card)\n",
            line=10,
            message="Activity `charge` raises `PaymentDeclined`, which the default retry",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "from proj.errors import CustomerNotFoundError\n\n"
            "@activity.defn(name='lookup')\ndef lookup(customers: dict, key: str) -> str:\n"
            "    if key not in customers:\n        raise CustomerNotFoundError(key)\n"
            "    return customers[key]\n",
            line=8,
            message="Activity `lookup` raises `CustomerNotFoundError`, which the default",
        ),
        Invalid(
            "from datetime import timedelta\nfrom temporalio import activity, workflow\n\n"
            "@activity.defn\nasync def ship(address: str) -> None:\n"
            "    if not address:\n        raise ValueError('no address')\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, address: str) -> None:\n"
            "        await workflow.execute_activity(ship, address, start_to_close_timeout=timedelta(seconds=30))\n",
            line=7,
            message="Activity `ship` raises `ValueError`, which the default retry policy",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "@activity.defn\ndef convert(kind: str) -> None:\n"
            "    if kind != 'pdf':\n        raise NotImplementedError(kind)\n",
            line=6,
            message="Activity `convert` raises `NotImplementedError`, which the default",
        ),
    )
    valid = (
        Valid(
            "from temporalio import activity\nfrom temporalio.exceptions import ApplicationError\n\n"
            "@activity.defn\nasync def charge(order: dict) -> None:\n"
            "    if order['amount'] <= 0:\n"
            "        raise ApplicationError('invalid amount', non_retryable=True)\n"
        ),
        Valid(
            "from datetime import timedelta\n"
            "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n\n"
            "with workflow.unsafe.imports_passed_through():\n    from proj.activities import ship\n\n"
            "@workflow.defn\nclass Orders:\n"
            "    @workflow.run\n    async def run(self, address: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            ship, address, start_to_close_timeout=timedelta(seconds=30),\n"
            "            retry_policy=RetryPolicy(maximum_attempts=5),\n        )\n",
            files={
                "proj/__init__.py": "",
                "proj/activities.py": "from temporalio import activity\n\n"
                "@activity.defn\nasync def ship(address: str) -> None:\n"
                "    if not address:\n        raise ValueError('no address')\n",
            },
            path="proj/workflows.py",
        ),
        Valid(
            "from temporalio import activity\nfrom temporalio.common import RetryPolicy\n\n"
            "POLICY = RetryPolicy(non_retryable_error_types=['ValueError'])\n\n"
            "@activity.defn\nasync def ship(address: str) -> None:\n"
            "    if not address:\n        raise ValueError('no address')\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def next_queue() -> str:\n"
            '    """Declared here, run by another worker."""\n'
            "    raise NotImplementedError\n"
        ),
        Valid(
            "def parse(amount: str) -> int:\n"
            "    if not amount.isdigit():\n        raise ValueError(amount)\n"
            "    return int(amount)\n"
        ),
        Valid(
            "import httpx\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def fetch(url: str) -> bytes:\n"
            "    async with httpx.AsyncClient() as client:\n"
            "        reply = await client.get(url)\n"
            "    if reply.status_code >= 500:\n        raise RuntimeError('server error, retry')\n"
            "    return reply.content\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\nasync def charge(order: dict) -> None:\n"
            "    try:\n        order['amount']\n"
            "    except KeyError as error:\n        raise error\n"
        ),
    )

    def visit_Raise(self, node: ast.Raise) -> None:
        raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if not isinstance(raised, (ast.Name, ast.Attribute)):
            return
        temporal = self.ctx.model.temporal
        activity = temporal.in_activity(self.ctx.enclosing_defs)
        if activity is None:
            return
        path = temporal.qualname(raised, self.ctx.scope)
        error = path.rpartition(".")[2] if path else None
        if not error or not _is_business_error(path or "", error):
            return
        if temporal.non_retryable(error) or temporal.retries_bounded(activity) or self._is_stub(node):
            return
        self.report(
            node,
            f"Activity `{activity.qualname.rpartition('.')[2]}` raises `{error}`, which the default retry "
            "policy retries forever: raise `ApplicationError(..., non_retryable=True)`",
        )

    def _is_stub(self, node: ast.Raise) -> bool:
        """`raise NotImplementedError` as an activity's whole body declares it for typed calls."""
        defs = self.ctx.enclosing_defs
        if not defs or self.ctx.model.temporal.activity_of(defs[-1]) is None:
            return False
        body = defs[-1].body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        return body == [node]


def _is_business_error(path: str, error: str) -> bool:
    if path == error:  # a builtin
        return error in _INPUT_ERRORS
    return any(word in error for word in _BUSINESS_WORDS)
