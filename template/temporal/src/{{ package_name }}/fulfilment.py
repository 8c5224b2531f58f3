"""Activities of the order's fulfilment, which runs in parallel with shipping: the invoice, and
the undo of a shipment when a parallel step fails.

They live apart from activities.py, which belongs to the project once rendered (template updates
never touch it), so that an update that brings the workflow calling them brings them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .models import OrderRequest
from .store import Store

INVOICE_REJECTED = "InvoiceRejected"


class FulfilmentActivities:
    """Bound to the store they write to, like `Activities`; each is idempotent per order id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def registered(self) -> list[Callable[..., Any]]:
        return [self.issue_invoice, self.void_invoice, self.cancel_shipment]

    async def _log(self, order_id: str, step: str) -> None:
        await asyncio.to_thread(self.store.append, "ledger", order_id, f"{step} attempt={activity.info().attempt}")

    @activity.defn
    async def issue_invoice(self, order: OrderRequest) -> None:
        await self._log(order.order_id, "issue_invoice")
        if "@" not in order.billing_email:
            raise ApplicationError(
                f"no billing address to send the invoice of order {order.order_id} to",
                type=INVOICE_REJECTED,
                non_retryable=True,
            )
        record = {"amount_cents": order.amount_cents, "to": order.billing_email}
        await asyncio.to_thread(self.store.create, "invoices", order.order_id, record)

    @activity.defn
    async def void_invoice(self, order_id: str) -> None:
        await self._log(order_id, "void_invoice")
        await asyncio.to_thread(self.store.delete, "invoices", order_id)

    @activity.defn
    async def cancel_shipment(self, order_id: str) -> None:
        await self._log(order_id, "cancel_shipment")
        await asyncio.to_thread(self.store.delete, "shipments", order_id)
