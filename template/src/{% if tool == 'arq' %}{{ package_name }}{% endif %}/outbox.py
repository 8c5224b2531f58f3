"""The outbox: side effects recorded in Redis for a relay to deliver (mail, webhooks, events).

Jobs append here only through `idempotency.run_once`, so a job that runs again never appends twice.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis

from .settings import get_settings


async def append(client: Redis, topic: str, message: dict[str, Any]) -> int:
    """Append `message` to `topic`; returns the topic's new length."""
    key = get_settings().key("outbox", topic)
    return await cast("Awaitable[int]", client.rpush(key, json.dumps(message)))


async def read(client: Redis, topic: str) -> list[dict[str, Any]]:
    items = await cast("Awaitable[list[bytes]]", client.lrange(get_settings().key("outbox", topic), 0, -1))
    return [json.loads(item) for item in items]
