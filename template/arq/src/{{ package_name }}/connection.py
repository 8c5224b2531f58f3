"""The Redis connection of producers and workers: same URL, same JSON serializer, same queues."""

from __future__ import annotations

from arq.connections import ArqRedis, RedisSettings, create_pool

from .queues import DEFAULT_QUEUE
from .serialization import deserialize, serialize
from .settings import get_settings


def redis_settings() -> RedisSettings:
    settings = get_settings()
    parsed = RedisSettings.from_dsn(settings.redis_url)
    if parsed.ssl:
        parsed.ssl_cert_reqs = "required"
        parsed.ssl_ca_certs = settings.tls_ca_file
        parsed.ssl_check_hostname = True
    return parsed


async def create_job_pool() -> ArqRedis:
    """A pool that enqueues JSON jobs (to the default queue unless a queue is named)."""
    return await create_pool(
        redis_settings(),
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=get_settings().queue_name(DEFAULT_QUEUE),
    )
