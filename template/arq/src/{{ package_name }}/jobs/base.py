"""How every job is declared: a name, retries of transient errors with backoff, dead letters.

ARQ retries a job only when it raises `Retry` or `RetryJob` or is cancelled; any other exception
fails it for good. `job()` turns transient errors into `Retry(defer=backoff(job_try))` until the
job's tries are used up, and records every job that fails for good as a dead letter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from arq import Retry
from arq.worker import Function, RetryJob, func
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .. import dead_letters
from ..idempotency import KeyBusy
from ..settings import get_settings

JobCoroutine = Callable[..., Awaitable[Any]]


class TransientError(Exception):
    """A failure worth retrying: a timeout, a 5xx, a dropped connection."""


# Redis's ConnectionError and TimeoutError are not the built-in ones: a Redis outage that outlasts
# the worker's command retries (REDIS_RETRY_SECONDS) is transient too.
RETRYABLE: tuple[type[Exception], ...] = (
    TransientError,
    KeyBusy,
    ConnectionError,
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
)


def backoff(job_try: int) -> float:
    """Seconds before try `job_try + 1`: exponential, capped, with jitter (half fixed, half random)."""
    settings = get_settings()
    ceiling = min(settings.retry_backoff_max, settings.retry_backoff * 2.0 ** (job_try - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311  (jitter, not a secret)


async def _dead_letter(
    ctx: dict[str, Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any], error: Exception
) -> None:
    redis: Redis = ctx["redis"]
    await dead_letters.record(
        redis,
        dead_letters.DeadLetter(
            job_id=str(ctx["job_id"]),
            function=name,
            args=list(args),
            kwargs=dict(kwargs),
            queue=str(ctx["queue"]),  # the queue of the worker that ran it
            error=f"{type(error).__name__}: {error}",
            tries=int(ctx["job_try"]),
            failed_at=time.time(),
        ),
    )


def job(name: str, *, max_tries: int | None = None, timeout: float | None = None) -> Callable[[JobCoroutine], Function]:
    """Register a coroutine `(ctx, ...)` as the job `name` (the name producers enqueue)."""

    def register(coroutine: JobCoroutine) -> Function:
        @wraps(coroutine)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            try:
                return await coroutine(ctx, *args, **kwargs)
            except (Retry, RetryJob):
                raise
            except RETRYABLE as error:
                if ctx["job_try"] < (max_tries or get_settings().max_tries):
                    raise Retry(defer=backoff(ctx["job_try"])) from error
                await _dead_letter(ctx, name, args, kwargs, error)
                raise
            except Exception as error:
                await _dead_letter(ctx, name, args, kwargs, error)
                raise

        # max_tries None: the worker's MAX_TRIES, read when the worker starts.
        return func(run, name=name, max_tries=max_tries, timeout=timeout)

    return register
