"""Redis locks: one holder at a time, released only by the holder that took them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import cast

from redis.asyncio import Redis

# (redis-py 5 types async commands as `Awaitable[T] | T`: the casts pick the async side.)
# Compare-and-delete: a holder whose lease ran out must not release the next holder's lock.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class LockHeld(Exception):
    """Another process holds the lock."""

    def __init__(self, key: str) -> None:
        super().__init__(f"lock {key} is held by another process")
        self.key = key


@asynccontextmanager
async def hold_lock(client: Redis, key: str, lease_seconds: int) -> AsyncIterator[None]:
    """Hold `key` for the block; the lease frees it if the holder dies without releasing."""
    token = uuid.uuid4().hex
    if not await client.set(key, token, nx=True, ex=lease_seconds):
        raise LockHeld(key)
    try:
        yield
    finally:
        await cast("Awaitable[int]", client.eval(_RELEASE, 1, key, token))
