"""The outbox: side effects recorded in Redis for a relay to deliver (mail, webhooks, events).

Jobs append with `append_once`: one Lua script checks the message's idempotency key, appends and
records the key, atomically. A job that runs again, or a command that its worker sends again
because Redis died before the reply came back, finds the key and appends nothing; a Redis
restarted from its append-only file has the message and the key, or neither.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis

from .settings import get_settings

# KEYS: the topic's list, the key's record. ARGV: the message, the record's TTL in seconds.
# Returns {position of the message in the list, 1 if appended now else 0}.
_APPEND_ONCE = """
local recorded = redis.call('get', KEYS[2])
if recorded then return {tonumber(recorded), 0} end
local length = redis.call('rpush', KEYS[1], ARGV[1])
redis.call('set', KEYS[2], length, 'EX', ARGV[2])
return {length, 1}
"""


async def append_once(client: Redis, topic: str, message: dict[str, Any], idempotency_key: str) -> tuple[int, bool]:
    """Append `message` to `topic` unless a message with `idempotency_key` was appended within
    IDEMPOTENCY_TTL. Returns (the message's position, 1-based; whether it was appended now)."""
    settings = get_settings()
    script = client.eval(
        _APPEND_ONCE,
        2,
        settings.key("outbox", topic),
        settings.key("outbox", topic, "appended", idempotency_key),
        json.dumps(message),
        str(settings.idempotency_ttl),
    )
    position, appended = await cast("Awaitable[list[int]]", script)
    return position, appended == 1


async def append(client: Redis, topic: str, message: dict[str, Any]) -> int:
    """Append `message` to `topic` with no idempotency key (a job that runs again appends again:
    jobs use `append_once`). Returns the topic's new length."""
    key = get_settings().key("outbox", topic)
    return await cast("Awaitable[int]", client.rpush(key, json.dumps(message)))


async def read(client: Redis, topic: str) -> list[dict[str, Any]]:
    items = await cast("Awaitable[list[bytes]]", client.lrange(get_settings().key("outbox", topic), 0, -1))
    return [json.loads(item) for item in items]
