"""Small jobs that show retries, failures, aborts and the shared HTTP client."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ..settings import get_settings
from .base import TransientError, job


@job("pipeline.add")
async def add(ctx: dict[str, Any], x: int, y: int) -> int:
    return x + y


@job("pipeline.fetch_status")
async def fetch_status(ctx: dict[str, Any], url: str) -> int:
    """GET `url` with the worker's shared client; 5xx and connection errors are retried."""
    client: httpx.AsyncClient = ctx["http"]
    try:
        response = await client.get(url)
    except httpx.TransportError as error:
        raise TransientError(f"{url}: {error}") from error
    if response.status_code >= 500:
        raise TransientError(f"{url} answered {response.status_code}")
    return response.status_code


@job("demo.flaky")
async def flaky(ctx: dict[str, Any], name: str, failures: int) -> int:
    """Fail with a transient error on the first `failures` tries; returns the try that worked."""
    await ctx["redis"].rpush(get_settings().key("demo", name, "tries"), ctx["job_try"])
    if ctx["job_try"] <= failures:
        raise TransientError(f"{name}: try {ctx['job_try']} failed on purpose")
    return int(ctx["job_try"])


@job("demo.broken")
async def broken(ctx: dict[str, Any], name: str) -> None:
    """Fail with an error that is not transient: no retry, straight to the dead letters."""
    raise ValueError(f"{name} cannot be processed")


@job("demo.sleep")
async def sleep(ctx: dict[str, Any], seconds: float) -> float:
    """Sleep on the event loop (abortable: cancellation lands in asyncio.sleep)."""
    await asyncio.sleep(seconds)
    return seconds
