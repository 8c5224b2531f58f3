"""Redis locks: one holder at a time, released only by the holder that took them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

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


@contextmanager
def hold_lock(client: redis.Redis, key: str, lease_seconds: int) -> Iterator[None]:
    """Hold `key` for the block; the lease frees it if the holder dies without releasing."""
    token = uuid.uuid4().hex
    if not client.set(key, token, nx=True, ex=lease_seconds):
        raise LockHeld(key)
    try:
        yield
    finally:
        client.eval(_RELEASE, 1, key, token)
