"""The outbox: side effects recorded in Redis for a relay to deliver (mail, webhooks, events).

Tasks append here only through `idempotency.run_once`, so a redelivered task never appends twice.
"""

from __future__ import annotations

import json
from typing import Any

from .redis_client import get_redis
from .settings import get_settings


def append(topic: str, message: dict[str, Any]) -> int:
    """Append `message` to `topic`; returns the topic's new length."""
    return int(get_redis().rpush(get_settings().key("outbox", topic), json.dumps(message)))


def read(topic: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in get_redis().lrange(get_settings().key("outbox", topic), 0, -1)]
