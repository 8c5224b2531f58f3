"""Enqueue jobs on the queue their name routes to, and find them again by id."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

from .queues import QUEUES, queue_for
from .serialization import deserialize
from .settings import get_settings


async def enqueue(
    pool: ArqRedis,
    job_name: str,
    *args: Any,
    job_id: str | None = None,
    defer_by: timedelta | None = None,
    defer_until: datetime | None = None,
    **kwargs: Any,
) -> Job | None:
    """Enqueue `job_name`. With a business `job_id`, a second enqueue of the same id returns None
    (and runs nothing) until the first job's result expires: that is the dedupe."""
    return await pool.enqueue_job(
        job_name,
        *args,
        _job_id=job_id,
        _queue_name=get_settings().queue_name(queue_for(job_name).name),
        _defer_by=defer_by,
        _defer_until=defer_until,
        **kwargs,
    )


async def find(pool: ArqRedis, job_id: str) -> tuple[Job, JobStatus]:
    """The job with its status, looked up in every queue (not_found when no queue knows it)."""
    settings = get_settings()
    status = JobStatus.not_found
    job = Job(job_id, pool, _queue_name=settings.queue_name(QUEUES[0].name), _deserializer=deserialize)
    for spec in QUEUES:
        candidate = Job(job_id, pool, _queue_name=settings.queue_name(spec.name), _deserializer=deserialize)
        status = await candidate.status()
        if status is not JobStatus.not_found:
            return candidate, status
    return job, status
