"""Billing tasks: side effects that must happen once per order."""

from __future__ import annotations

from typing import Any

from .. import outbox
from ..celery_app import app
from ..idempotency import run_once
from .base import ServiceTask


@app.task(bind=True, base=ServiceTask, name="billing.send_receipt")
def send_receipt(self: ServiceTask, order_id: str, amount_cents: int) -> dict[str, Any]:
    """Queue the receipt of `order_id` in the outbox, once, however often this runs."""

    def send() -> dict[str, Any]:
        length = outbox.append("receipts", {"order_id": order_id, "amount_cents": amount_cents})
        return {"order_id": order_id, "outbox_position": length}

    outcome, sent_now = run_once(f"receipt:{order_id}", send)
    return {**outcome, "sent_now": sent_now}
