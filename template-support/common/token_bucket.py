"""A token bucket in Redis that every worker on every host shares: one bucket per limit and key.

The key is the tenant (customer, account) the job works for, so each tenant has a bucket of its
own and a tenant with a deep backlog cannot use up another tenant's rate. One Lua script refills
the bucket by the time elapsed on Redis's own clock (`TIME`), so hosts with skewed clocks still
share one rate, and takes a token atomically.

A job that finds the bucket empty reserves the next free token and is deferred until it is due
(never slept on a worker). When it comes back it runs on its reservation without taking a second
token, so a backlog drains at the configured rate instead of retrying in a herd. Reservations
reach at most `horizon` seconds ahead (it must stay below the broker's visibility timeout): a job
further back is deferred without a reservation and asks again later.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

import redis
import redis.asyncio

# KEYS[1]: the bucket (hash of tokens and the time they were counted); KEYS[2]: this job's
# reservation. ARGV: rate (tokens per second), burst (capacity), horizon and grace (seconds).
# Returns how long the job must wait, in milliseconds ("0": run now).
_TAKE = """
if redis.call('DEL', KEYS[2]) == 1 then return '0' end
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local horizon = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = (1 - tokens) / rate
if wait > horizon then
  -- Too far ahead to reserve: come back when a reservation would fit, or after the horizon.
  return tostring(math.ceil(math.max(math.min(wait - horizon, horizon), 1 / rate) * 1000))
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- Once full again the bucket is the same as no bucket: let Redis drop it.
redis.call('PEXPIRE', KEYS[1], math.ceil(((burst - tokens) / rate + 1) * 1000))
if wait <= 0 then return '0' end
redis.call('SET', KEYS[2], '1', 'PX', math.ceil((wait + tonumber(ARGV[4])) * 1000))
return tostring(math.ceil(wait * 1000))
"""

_RATE = re.compile(r"^(\d+(?:\.\d+)?)/([smh])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}
# A deferred job that comes back later than its due time plus this keeps its reservation;
# later still, its reservation has expired and it takes a fresh token.
RESERVATION_GRACE = 60


def parse_rate(text: str) -> float:
    """Tokens per second of a rate written as Celery writes it: "10/s", "30/m", "100/h"."""
    match = _RATE.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f'rate "{text}" must be a positive number per s, m or h, such as "10/s"')
    return float(match.group(1)) / _SECONDS[match.group(2)]


@dataclass(frozen=True)
class Bucket:
    """A named limit: `rate` tokens per second, bursts of up to `burst` at once, per key."""

    name: str
    rate: float
    burst: int = 1
    horizon: float = 300.0

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1 or self.horizon <= 0:
            raise ValueError(f"bucket {self.name}: rate and horizon must be > 0 and burst >= 1")

    def keys(self, prefix: str, key: str, job_id: str) -> list[str]:
        base = f"{prefix}:ratelimit:{self.name}"
        return [f"{base}:bucket:{key}", f"{base}:reserved:{job_id}"]

    def args(self) -> list[str]:
        return [repr(self.rate), str(self.burst), repr(self.horizon), str(RESERVATION_GRACE)]


def _seconds(reply: object) -> float:
    text = reply.decode() if isinstance(reply, bytes) else str(reply)
    return int(text) / 1000


def take(client: redis.Redis, bucket: Bucket, prefix: str, key: str, job_id: str) -> float:
    """Take a token of `key`'s bucket for job `job_id`: 0 to run now, else seconds to defer."""
    return _seconds(client.eval(_TAKE, 2, *bucket.keys(prefix, key, job_id), *bucket.args()))


async def take_async(
    client: redis.asyncio.Redis, bucket: Bucket, prefix: str, key: str, job_id: str
) -> float:
    """`take` for asyncio workers."""
    reply = client.eval(_TAKE, 2, *bucket.keys(prefix, key, job_id), *bucket.args())
    return _seconds(await cast(Awaitable[object], reply))
