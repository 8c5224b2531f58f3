"""Billing jobs: side effects that must happen once per order."""

from __future__ import annotations

from typing import Any

from .. import outbox
from ..idempotency import run_once
from .base import job


@job("billing.send_receipt")
async def send_receipt(ctx: dict[str, Any], order_id: str, amount_cents: int) -> dict[str, Any]:
    """Queue the receipt of `order_id` in the outbox, once, however often this runs."""
    redis = ctx["redis"]

    async def send() -> dict[str, Any]:
        length = await outbox.append(redis, "receipts", {"order_id": order_id, "amount_cents": amount_cents})
        return {"order_id": order_id, "outbox_position": length}

    outcome, sent_now = await run_once(redis, f"receipt:{order_id}", send)
    return {**outcome, "sent_now": sent_now}
