"""Report jobs: slow, progress in Redis, published once."""

from __future__ import annotations

import asyncio
from typing import Any

from .. import outbox
from ..settings import get_settings
from .base import job


@job("reports.build_report")
async def build_report(
    ctx: dict[str, Any], report_id: str, sections: int, seconds_per_section: float
) -> dict[str, Any]:
    """Build `sections` sections, then publish the report once (even if this job runs again)."""
    redis = ctx["redis"]
    settings = get_settings()
    await redis.incr(settings.key("reports", report_id, "attempts"))
    progress_key = settings.key("reports", report_id, "progress")
    for done in range(1, sections + 1):
        await asyncio.sleep(seconds_per_section)
        await redis.set(progress_key, done, ex=settings.keep_result)

    await outbox.append_once(redis, "reports", {"report_id": report_id, "sections": sections}, f"report:{report_id}")
    return {"report_id": report_id, "sections": sections}


@job("reports.rebuild_index")
async def rebuild_index(ctx: dict[str, Any]) -> int:
    """Rebuild the report index: here, count the published reports."""
    return len(await outbox.read(ctx["redis"], "reports"))
