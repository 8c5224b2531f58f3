"""Housekeeping tasks run by beat."""

from __future__ import annotations

import time

from .. import dead_letters
from ..celery_app import app
from ..redis_client import get_redis
from ..settings import get_settings
from .base import ServiceTask

HEARTBEAT_HISTORY = 100


@app.task(base=ServiceTask, name="maintenance.heartbeat")
def heartbeat() -> float:
    """Record that the schedule is alive; the health check reports the age of the last one."""
    now = time.time()
    key = get_settings().key("heartbeat")
    pipe = get_redis().pipeline()
    pipe.rpush(key, now)
    pipe.ltrim(key, -HEARTBEAT_HISTORY, -1)
    pipe.execute()
    return now


@app.task(base=ServiceTask, name="maintenance.trim_dead_letters")
def trim_dead_letters() -> int:
    """Drop dead letters older than DEAD_LETTER_MAX_AGE_DAYS."""
    return dead_letters.trim(get_settings().dead_letter_max_age_days * 86_400)
