"""Distributed rate limits for jobs: a token from the shared bucket before the body runs.

ARQ has no rate limit of its own. A job without a free token raises `Retry(defer=wait)` to the
time its reserved token is due (see `token_bucket`): it waits in Redis, not on a worker. ARQ
counts that deferral as a try, so a throttled job needs one try more than its own retries.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq import Retry

from .settings import get_settings
from .token_bucket import Bucket, take_async

R = TypeVar("R")
Job = Callable[..., Awaitable[R]]


def throttled(bucket: Bucket, key: str) -> Callable[[Job[R]], Job[R]]:
    """Limit a job `(ctx, ...)` to `bucket`'s rate per value of its argument `key`."""

    def decorate(body: Job[R]) -> Job[R]:
        signature = inspect.signature(body)
        if key not in signature.parameters:
            raise TypeError(f"{body.__name__} has no argument {key!r} to rate-limit by")

        @functools.wraps(body)
        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> R:
            tenant = str(signature.bind(ctx, *args, **kwargs).arguments[key])
            wait = await take_async(ctx["redis"], bucket, get_settings().key_prefix, tenant, str(ctx["job_id"]))
            if wait:
                raise Retry(defer=wait)
            return await body(ctx, *args, **kwargs)

        return run

    return decorate
