"""Run a side effect once per idempotency key, however often its job runs.

ARQ is pessimistic: a job whose worker died runs again. The key is claimed with SET NX and a
lease while the side effect runs, and replaced by the recorded outcome (with a TTL) when it
succeeded. A run that finds the outcome returns it without repeating the side effect; one that
finds the claim of a live run raises `KeyBusy` so the job retries later; a claim left by a killed
worker expires with its lease.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from .locks import LockHeld, hold_lock
from .settings import get_settings


class KeyBusy(Exception):
    """The side effect for this key is running elsewhere right now."""


async def run_once(client: Redis, key: str, side_effect: Callable[[], Awaitable[Any]]) -> tuple[Any, bool]:
    """Return (outcome, ran_now). The outcome must be JSON-serialisable."""
    settings = get_settings()
    done_key = settings.key("idempotency", key, "done")
    recorded = await client.get(done_key)
    if recorded is not None:
        return json.loads(recorded), False
    try:
        async with hold_lock(client, settings.key("idempotency", key, "claim"), settings.job_timeout):
            recorded = await client.get(done_key)  # finished between our first look and the claim
            if recorded is not None:
                return json.loads(recorded), False
            outcome = await side_effect()
            await client.set(done_key, json.dumps(outcome), ex=settings.idempotency_ttl)
            return outcome, True
    except LockHeld:
        raise KeyBusy(key) from None
