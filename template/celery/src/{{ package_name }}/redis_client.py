"""The Redis connection shared by idempotency keys, locks and the dead-letter store."""

from __future__ import annotations

import ssl
from functools import lru_cache

import redis

from .settings import get_settings


@lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    settings = get_settings()
    if settings.redis_url.startswith("rediss://"):
        return redis.Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            ssl_ca_certs=settings.tls_ca_file,
        )
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)
