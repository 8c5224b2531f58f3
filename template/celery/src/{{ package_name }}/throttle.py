"""Distributed rate limits for tasks: a token from the shared bucket before the body runs.

Celery's own `rate_limit` holds per worker process group; this one holds across every worker on
every host (see `token_bucket`). A task without a free token is sent again with a countdown to
the time its reserved token is due and its current run ends; it never sleeps on a worker.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task
from celery.exceptions import Ignore

from .redis_client import get_redis
from .settings import get_settings
from .token_bucket import Bucket, take

R = TypeVar("R")
Body = Callable[..., R]


def throttled(bucket: Bucket, key: str) -> Callable[[Body[R]], Body[R]]:
    """Limit a bound task (`bind=True`) to `bucket`'s rate per value of its argument `key`.

    The deferred run is the same message sent again (same task id, links and chain) with its
    `retries` count unchanged: waiting for a token does not use up the task's `max_retries`.
    """

    def decorate(body: Body[R]) -> Body[R]:
        signature = inspect.signature(body)
        if key not in signature.parameters:
            raise TypeError(f"{body.__name__} has no argument {key!r} to rate-limit by")

        @functools.wraps(body)
        def run(task: Task, *args: Any, **kwargs: Any) -> R:  # type: ignore[type-arg]
            tenant = str(signature.bind(task, *args, **kwargs).arguments[key])
            wait = take(get_redis(), bucket, get_settings().key_prefix, tenant, str(task.request.id))
            if wait:
                task.signature_from_request(countdown=wait).apply_async()
                raise Ignore()
            return body(task, *args, **kwargs)

        return run

    return decorate
