"""Inputs and results of workflows and activities: plain dataclasses, serialised as JSON.

Workflows import this module through the sandbox, so it holds data only: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OrderRequest:
    """An order to reserve, charge and ship. `order_id` is the business key: one workflow per order."""

    order_id: str
    amount_cents: int
    items: list[str]
    payment_method: str = "card_ok"
    address: str = "1 Main Street, Springfield"
    billing_email: str = "billing@example.com"


@dataclass
class OrderStatus:
    """What the `status` query returns and the workflow's result."""

    order_id: str
    reference: str = ""
    received_at: str = ""
    state: str = "received"
    completed_steps: list[str] = field(default_factory=list)
    compensated_steps: list[str] = field(default_factory=list)
    approval_deadline: str | None = None
    approved_by: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ReportRequest:
    """A long report built section by section. The caller sets how soon a silent worker is
    considered dead (`heartbeat_timeout_seconds`)."""

    report_id: str
    sections: int = 5
    seconds_per_section: float = 1.0
    heartbeat_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ReportResult:
    """Where the report was written (a path, never its contents: payloads are capped at 2 MB)."""

    path: str
    sections: int
    attempt: int
    resumed_from_section: int
