"""Calls to a partner API that allows each tenant a limited rate, whichever worker makes them."""

from __future__ import annotations

import time
from typing import Any

from ..settings import get_settings
from ..throttle import throttled
from ..token_bucket import Bucket, parse_rate
from .base import job

_settings = get_settings()
PARTNER_API = Bucket(
    "partner-api",
    rate=parse_rate(_settings.partner_rate_limit),
    burst=_settings.partner_burst,
    # Deferred jobs wait in Redis, so reservations may reach far ahead: a job waits at most once.
    horizon=3600,
)


# One try more than other jobs: the wait for a token counts as a try in ARQ.
@job("partners.sync_customer", max_tries=_settings.max_tries + 1)
@throttled(PARTNER_API, key="tenant")
async def sync_customer(ctx: dict[str, Any], tenant: str, customer: str) -> float:
    """Push one customer record to the partner; records when each call was made, per tenant."""
    called_at = time.time()
    await ctx["redis"].rpush(get_settings().key("partners", tenant, "calls"), f"{called_at:.6f} {customer}")
    return called_at
