"""JSON for jobs and results, on the producer and the worker side alike (ARQ's default is pickle).

A job that is not JSON, such as one pickled by a producer with ARQ's defaults, fails to
deserialize and is refused: its function never runs. Exceptions in results are stored as their
type name and message and come back as `JobFailed` (cancellations as `asyncio.CancelledError`,
so `Job.abort()` and `Job.result()` behave as with pickle).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

EXCEPTION_MARKER = "__exception__"


class JobFailed(Exception):
    """A job's failure, read back from its JSON result."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}" if message else kind)
        self.kind = kind


def _encode(value: Any) -> Any:
    if isinstance(value, BaseException):
        return {EXCEPTION_MARKER: type(value).__name__, "message": str(value)}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get(EXCEPTION_MARKER)
    if not isinstance(kind, str) or set(obj) != {EXCEPTION_MARKER, "message"}:
        return obj
    if kind == "CancelledError":
        return asyncio.CancelledError(obj["message"])
    return JobFailed(kind, str(obj["message"]))


def serialize(value: Any) -> bytes:
    return json.dumps(value, default=_encode, separators=(",", ":")).encode()


def deserialize(data: bytes) -> Any:
    return json.loads(data, object_hook=_decode)
