"""ARQ's worker, made to ride out a Redis restart and to give a dead worker's jobs back in seconds.

ARQ 0.28 alone stops a worker on the first Redis error of its poll loop (the process exits), and
marks a running job with an in-progress key that lives JOB_TIMEOUT + 10 s: a job whose worker
died waits that long (5 min 10 s by default) before another worker may run it. This worker:

- retries each Redis command through an outage of about REDIS_RETRY_SECONDS, with backoff capped
  at 1 s, so it carries on within a second of Redis answering again; running jobs just wait. A
  poll that still fails is logged and tried again: the process stays up whatever the outage.
- holds the in-progress key of each job it runs as a lease of IN_PROGRESS_LEASE seconds, renewed
  every third of it while the job runs: no other worker takes a live worker's job, and a job whose
  worker died, or whose claim was lost in a Redis restart, runs again within the lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar, cast

from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Errors of a Redis that is away: refused or reset connections, a server still loading its data
# (BusyLoadingError is a ConnectionError), timeouts, and a transaction whose WATCHed connection died.
OUTAGE_ERRORS: tuple[type[RedisError], ...] = (RedisConnectionError, RedisTimeoutError, WatchError)

# Extends the lease of each running job's in-progress key, never shortening it (ARQ keeps a cron
# job's key a minute after it ends), and returns the keys that no longer exist.
_RENEW_LEASES = """
local lost = {}
for _, key in ipairs(KEYS) do
  local ttl = redis.call('pttl', key)
  if ttl == -2 then
    table.insert(lost, key)
  elseif ttl >= 0 and ttl < tonumber(ARGV[1]) then
    redis.call('pexpire', key, ARGV[1])
  end
end
return lost
"""


class RetryFor(Retry):
    """Retries an operation on outage errors until `seconds` have passed since it began,
    after 0.1, 0.2, 0.4 and 0.8 s, then every second.

    redis-py 5 connects outside its command retries: a command sent while Redis is down would fail
    at once. Retrying connection errors (OSError) here makes the connect wait too; and as the
    command's retry and its connect's each stop at their deadline, an outage longer than `seconds`
    fails a command in about `seconds`, not retries times retries.
    """

    __slots__ = ("_seconds",)

    def __init__(self, seconds: float) -> None:
        super().__init__(ExponentialBackoff(cap=1.0, base=0.05), retries=-1)
        self.update_supported_errors([OSError, asyncio.TimeoutError])
        self._seconds = seconds

    async def call_with_retry(self, do: Callable[[], Awaitable[T]], fail: Callable[[Any], Any]) -> T:
        deadline = time.monotonic() + self._seconds
        failures = 0
        while True:
            try:
                return await do()
            except self._supported_errors as error:
                failures += 1
                await fail(error)
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(self._backoff.compute(failures))


def retrying(settings: RedisSettings, seconds: float) -> RedisSettings:
    """`settings` whose connections and commands wait for Redis through an outage of `seconds`."""
    # Not retry_on_timeout: redis-py would add the timeouts of a connect to the command's errors.
    return replace(settings, retry=RetryFor(seconds), retry_on_error=[RedisConnectionError, RedisTimeoutError])


class ResilientWorker(Worker):
    def __init__(self, *, redis_retry_seconds: float, in_progress_lease: float, **kwargs: Any) -> None:
        kwargs["redis_settings"] = retrying(kwargs.get("redis_settings") or RedisSettings(), redis_retry_seconds)
        super().__init__(**kwargs)
        self.in_progress_timeout_s = in_progress_lease
        self._lease_ms = int(in_progress_lease * 1000)

    async def main(self) -> None:
        renewing = asyncio.create_task(self._renew_leases())
        try:
            await super().main()
        finally:
            renewing.cancel()

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except OUTAGE_ERRORS as error:
            logger.warning("Redis unavailable (%s: %s); polling again", type(error).__name__, error)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except RedisError:
                # ARQ counts the job against max_jobs before its WATCH; an error there escapes
                # without giving the slot back, and enough of them would stop the worker for good.
                self._release_sem_dec_counter_on_complete()
                raise

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.in_progress_timeout_s / 3)
            running = [in_progress_key_prefix + job_id for job_id, task in self.tasks.items() if not task.done()]
            if not running:
                continue
            try:
                renewal = self.pool.eval(_RENEW_LEASES, len(running), *running, str(self._lease_ms))
                lost = await cast("Awaitable[list[bytes]]", renewal)
            except RedisError as error:
                logger.warning("could not renew the leases of %d jobs: %s", len(running), error)
                continue
            for key in lost:
                logger.warning("lease %s expired while its job ran: another worker may run it too", key.decode())
