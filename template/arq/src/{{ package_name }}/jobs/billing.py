"""Billing jobs: side effects that must happen once per order."""

from __future__ import annotations

from typing import Any

from .. import outbox
from .base import job


@job("billing.send_receipt")
async def send_receipt(ctx: dict[str, Any], order_id: str, amount_cents: int) -> dict[str, Any]:
    """Queue the receipt of `order_id` in the outbox, once, however often this runs."""
    message = {"order_id": order_id, "amount_cents": amount_cents}
    position, sent_now = await outbox.append_once(ctx["redis"], "receipts", message, f"receipt:{order_id}")
    return {"order_id": order_id, "outbox_position": position, "sent_now": sent_now}
