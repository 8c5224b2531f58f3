"""Run a side effect once per idempotency key, however often its task is delivered.

The key is claimed with SET NX and a lease while the side effect runs, and replaced by the
recorded outcome (with a TTL) when it succeeded. A delivery that finds the outcome returns it
without repeating the side effect; one that finds the claim of a live run waits briefly for that
run's outcome, then raises `KeyBusy` so the task retries later; a claim left by a killed worker
expires with its lease.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from .locks import LockHeld, hold_lock
from .redis_client import get_redis
from .settings import get_settings

# A duplicate delivery often arrives while the first run is finishing: waiting this long for its
# outcome spares a retry, whose jittered backoff may be near zero and exhaust the retries at once.
BUSY_WAIT_SECONDS = 2.0


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
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
            recorded = client.get(done_key)
            if recorded is not None:
                return json.loads(recorded), False
        raise KeyBusy(key) from None
