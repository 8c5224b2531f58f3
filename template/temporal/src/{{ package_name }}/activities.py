"""Activities: every piece of I/O of the service. Workflows only orchestrate them.

Business failures raise non-retryable `ApplicationError`s with a type, so the workflow can react
(compensate) instead of retrying forever; transient failures raise retryable ones. Blocking file
I/O runs in a thread (`asyncio.to_thread`) so the worker's event loop keeps heartbeating.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .models import OrderRequest, ReportRequest, ReportResult
from .store import Store

# Test cards in the style of payment gateways: the fake gateway below knows these two.
DECLINED_CARD = "card_declined"
FLAKY_CARD = "card_flaky"  # the gateway fails twice, then answers
UNDELIVERABLE = "nowhere"

# Error types: workflows and retry policies refer to them by name.
PAYMENT_DECLINED = "PaymentDeclined"
INVALID_ORDER = "InvalidOrder"
UNDELIVERABLE_ADDRESS = "UndeliverableAddress"
GATEWAY_UNAVAILABLE = "GatewayUnavailable"
BUSINESS_ERRORS = [PAYMENT_DECLINED, INVALID_ORDER, UNDELIVERABLE_ADDRESS]


class Activities:
    """Activities bound to the store they write to; the worker registers `registered()`."""

    def __init__(self, store: Store, dead_letter_max_age: timedelta = timedelta(days=30)) -> None:
        self.store = store
        self.dead_letter_max_age = dead_letter_max_age

    def registered(self) -> list[Callable[..., Any]]:
        return [
            self.reserve_inventory,
            self.release_inventory,
            self.charge_payment,
            self.refund_payment,
            self.ship_order,
            self.record_dead_letter,
            self.build_report,
            self.rebuild_report_index,
            self.write_heartbeat,
            self.trim_dead_letters,
        ]

    async def _log(self, order_id: str, step: str) -> None:
        await asyncio.to_thread(self.store.append, "ledger", order_id, f"{step} attempt={activity.info().attempt}")

    # Orders: each step is idempotent per order id, so a retry never reserves or charges twice.

    @activity.defn
    async def reserve_inventory(self, order: OrderRequest) -> None:
        if not order.items or order.amount_cents <= 0:
            raise ApplicationError(f"order {order.order_id} is empty or free", type=INVALID_ORDER, non_retryable=True)
        await self._log(order.order_id, "reserve_inventory")
        await asyncio.to_thread(self.store.create, "reservations", order.order_id, {"items": order.items})

    @activity.defn
    async def release_inventory(self, order_id: str) -> None:
        await self._log(order_id, "release_inventory")
        await asyncio.to_thread(self.store.delete, "reservations", order_id)

    @activity.defn
    async def charge_payment(self, order: OrderRequest) -> None:
        await self._log(order.order_id, "charge_payment")
        if order.payment_method == DECLINED_CARD:
            raise ApplicationError(
                f"card declined for order {order.order_id}", type=PAYMENT_DECLINED, non_retryable=True
            )
        if order.payment_method == FLAKY_CARD and activity.info().attempt <= 2:
            raise ApplicationError("payment gateway unavailable", type=GATEWAY_UNAVAILABLE)
        # The order id is the gateway's idempotency key: a retried charge is not charged twice.
        await asyncio.to_thread(self.store.create, "charges", order.order_id, {"amount_cents": order.amount_cents})

    @activity.defn
    async def refund_payment(self, order_id: str) -> None:
        await self._log(order_id, "refund_payment")
        await asyncio.to_thread(self.store.delete, "charges", order_id)

    @activity.defn
    async def ship_order(self, order: OrderRequest) -> None:
        await self._log(order.order_id, "ship_order")
        if order.address.strip().lower() == UNDELIVERABLE:
            raise ApplicationError(
                f"cannot ship order {order.order_id} to {order.address!r}",
                type=UNDELIVERABLE_ADDRESS,
                non_retryable=True,
            )
        await asyncio.to_thread(self.store.create, "shipments", order.order_id, {"address": order.address})

    @activity.defn
    async def record_dead_letter(self, order_id: str, reason: str) -> None:
        """A failed order, kept for a person to look at (trimmed after DEAD_LETTER_MAX_AGE_DAYS)."""
        await asyncio.to_thread(self.store.create, "dead-letters", order_id, {"reason": reason, "at": time.time()})

    # Reports: a long activity that heartbeats its progress and resumes from it after a retry.

    @activity.defn
    async def build_report(self, request: ReportRequest) -> ReportResult:
        info = activity.info()
        done = int(info.heartbeat_details[0]) if info.heartbeat_details else 0
        # Sections after the last heartbeat may be half-written by the previous attempt: drop them.
        await asyncio.to_thread(self.store.keep_sections, request.report_id, done)
        try:
            for section in range(done + 1, request.sections + 1):
                await asyncio.sleep(request.seconds_per_section)  # the real work of a section
                line = json.dumps({"section": section, "attempt": info.attempt})
                await asyncio.to_thread(self.store.add_section, request.report_id, line)
                activity.heartbeat(section)
        except asyncio.CancelledError:
            await asyncio.to_thread(self.store.discard_report, request.report_id)
            raise
        path = await asyncio.to_thread(self.store.finish_report, request.report_id)
        return ReportResult(path=str(path), sections=request.sections, attempt=info.attempt, resumed_from_section=done)

    @activity.defn
    async def rebuild_report_index(self) -> int:
        return await asyncio.to_thread(self.store.rebuild_report_index)

    # Maintenance.

    @activity.defn
    async def write_heartbeat(self) -> float:
        """Proof of life for monitoring: the time the scheduled workflow last ran."""
        now = time.time()
        await asyncio.to_thread(self.store.append, "maintenance", "heartbeat", f"{now:.3f}")
        return now

    @activity.defn
    async def trim_dead_letters(self) -> int:
        seconds = self.dead_letter_max_age.total_seconds()
        return await asyncio.to_thread(self.store.delete_older_than, "dead-letters", seconds)
