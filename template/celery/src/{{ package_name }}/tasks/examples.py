"""Tasks that exercise the failure paths: a dependency that fails a few times, one that never recovers."""

from __future__ import annotations

from ..celery_app import app
from ..redis_client import get_redis
from ..settings import get_settings
from .base import ServiceTask, TransientError


@app.task(base=ServiceTask, name="examples.flaky")
def flaky(key: str, failures: int) -> int:
    """Fail with a transient error `failures` times for `key`, then succeed; returns the attempt count."""
    attempt = int(get_redis().incr(get_settings().key("examples", key, "attempts")))
    if attempt <= failures:
        raise TransientError(f"{key}: attempt {attempt} of {failures + 1} fails")
    return attempt


@app.task(base=ServiceTask, name="examples.unavailable")
def unavailable(key: str) -> None:
    """A dependency that never comes back: retried with backoff, then dead-lettered."""
    attempt = int(get_redis().incr(get_settings().key("examples", key, "attempts")))
    raise TransientError(f"{key}: still unavailable after {attempt} attempts")
