"""Run a side effect once per idempotency key, however often its task is delivered.

The key is claimed with SET NX and a lease while the side effect runs, and replaced by the
recorded outcome (with a TTL) when it succeeded. A delivery that finds the outcome returns it
without repeating the side effect; one that finds the claim of a live run raises `KeyBusy` so the
task retries later; a claim left by a killed worker expires with its lease.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .locks import LockHeld, hold_lock
from .redis_client import get_redis
from .settings import get_settings


class KeyBusy(Exception):
    """The side effect for this key is running elsewhere right now."""


def run_once(key: str, side_effect: Callable[[], Any]) -> tuple[Any, bool]:
    """Return (outcome, ran_now). The outcome must be JSON-serialisable."""
    settings = get_settings()
    client = get_redis()
    done_key = settings.key("idempotency", key, "done")
    recorded = client.get(done_key)
    if recorded is not None:
        return json.loads(recorded), False
    try:
        with hold_lock(client, settings.key("idempotency", key, "claim"), settings.task_time_limit):
            recorded = client.get(done_key)  # finished between our first look and the claim
            if recorded is not None:
                return json.loads(recorded), False
            outcome = side_effect()
            client.set(done_key, json.dumps(outcome), ex=settings.idempotency_ttl)
            return outcome, True
    except LockHeld:
        raise KeyBusy(key) from None
