"""Calls whose result differs between a workflow's first run and its replay, and what to use instead."""

from __future__ import annotations

import ast

# What differs between a workflow's first run and its replay -> what to use instead.
_NOW = "`workflow.now()`"
_TIME = "`workflow.time()`"
_RANDOM = "`workflow.random()`"
_CONFIG = "workflow input, or an activity that reads it"
REPLAY_HAZARDS = {
    "datetime.datetime.now": _NOW,
    "datetime.datetime.utcnow": _NOW,
    "datetime.datetime.today": _NOW,
    "datetime.date.today": "`workflow.now().date()`",
    "time.time": _TIME,
    "time.time_ns": "`workflow.time_ns()`",
    "time.monotonic": _TIME,
    "time.monotonic_ns": "`workflow.time_ns()`",
    "time.perf_counter": _TIME,
    "time.perf_counter_ns": "`workflow.time_ns()`",
    "time.process_time": _TIME,
    "time.sleep": "`await asyncio.sleep(...)` or `await workflow.sleep(...)` (a durable timer)",
    "uuid.uuid1": "`workflow.uuid4()`",
    "uuid.uuid4": "`workflow.uuid4()`",
    # Time-ordered UUIDs read the clock and randomness: the standard library's (Python 3.14) and
    # the packages that backport them.
    "uuid.uuid6": "`workflow.uuid4()`",
    "uuid.uuid7": "`workflow.uuid4()`",
    "uuid_extensions.uuid7": "`workflow.uuid4()`",
    "uuid_extensions.uuid7str": "`workflow.uuid4()`",
    "uuid6.uuid6": "`workflow.uuid4()`",
    "uuid6.uuid7": "`workflow.uuid4()`",
    "uuid_utils.uuid4": "`workflow.uuid4()`",
    "uuid_utils.uuid7": "`workflow.uuid4()`",
    "os.getpid": "`workflow.info()` (a replay runs on any worker process)",
    "os.getppid": "`workflow.info()` (a replay runs on any worker process)",
    "os.urandom": _RANDOM,
    "os.getenv": _CONFIG,
    "os.environ": _CONFIG,
    "pendulum.now": _NOW,
    "pendulum.today": _NOW,
    "arrow.now": _NOW,
    "arrow.utcnow": _NOW,
    "django.utils.timezone.now": _NOW,
}
# Whole modules whose every function differs between runs.
_RANDOM_MODULES = {"random.": _RANDOM, "secrets.": "an activity (or `workflow.random()` for non-secret values)"}
_DETERMINISTIC = frozenset({"secrets.compare_digest"})
# Time functions that read the clock only when called without a time argument.
_CLOCK_DEFAULTS = {
    "time.localtime": _NOW,
    "time.gmtime": _NOW,
    "time.ctime": _NOW,
    "time.asctime": _NOW,
    "time.strftime": _NOW,  # strftime(format) reads the clock; strftime(format, t) does not
}


def replay_hazard(qualname: str | None, call: ast.Call | None = None) -> str | None:
    """For a name a workflow calls or reads, what to use instead if its value changes between a
    workflow's first run and its replay (the clock, randomness, the environment); else None.
    `call` lets seeded `random.Random(seed)` and `time.gmtime(t)` pass."""
    if qualname is None or qualname in _DETERMINISTIC:
        return None
    found = REPLAY_HAZARDS.get(qualname)
    if found is not None:
        return found
    clock = _CLOCK_DEFAULTS.get(qualname)
    if clock is not None:
        needed = 2 if qualname == "time.strftime" else 1
        return clock if call is None or len(call.args) < needed else None
    for prefix, instead in _RANDOM_MODULES.items():
        if qualname.startswith(prefix):
            if qualname == "random.Random" and call is not None and (call.args or call.keywords):
                return None  # seeded: the same sequence on every replay
            return instead
    return None
