"""Housekeeping jobs, run by the cron schedule."""

from __future__ import annotations

import time
from typing import Any

from .. import dead_letters
from ..settings import get_settings
from .base import job

HEARTBEAT_HISTORY = 100


@job("maintenance.heartbeat")
async def heartbeat(ctx: dict[str, Any]) -> float:
    """Record that the schedule is alive; the health check reports the age of the last one."""
    now = time.time()
    key = get_settings().key("heartbeat")
    async with ctx["redis"].pipeline(transaction=True) as pipe:
        pipe.rpush(key, now)
        pipe.ltrim(key, -HEARTBEAT_HISTORY, -1)
        await pipe.execute()
    return now


@job("maintenance.trim_dead_letters")
async def trim_dead_letters(ctx: dict[str, Any]) -> int:
    """Drop dead letters older than DEAD_LETTER_MAX_AGE_DAYS."""
    return await dead_letters.trim(ctx["redis"], get_settings().dead_letter_max_age_days * 86_400)
