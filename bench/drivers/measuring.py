"""What the drivers share: probe modules, worker processes, and the numbers of one measurement.

A driver runs inside a rendered project's environment (with this directory on sys.path), so this
module needs nothing beyond the standard library; `redis_records` imports redis-py when called.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# A job's record: seconds from enqueue to start, and the time it finished.
Record = tuple[float, float]
WARM_TIMEOUT = 120.0  # a worker's start (imports, connections) on a loaded machine
RUN_TIMEOUT = 600.0  # JOBS jobs on a queue with one worker slot, on a loaded machine
# The isolation scenario: a backlog of 10 ms jobs on the least urgent queue, then no-op jobs at a
# steady rate on the most urgent one.
BULK_JOBS = 1000
CRITICAL_RATE = 20.0  # jobs a second
CRITICAL_SECONDS = 10.0


def write_probes(modules: Mapping[str, str]) -> dict[str, str]:
    """Write the probe modules where this process and its workers import them; the workers' env.

    They go in the working directory (the rendered project, which bench/workers.py removes)."""
    probes = Path(tempfile.mkdtemp(prefix=".bench-probe-", dir=Path.cwd()))
    for name, source in modules.items():
        (probes / f"{name}.py").write_text(source)
    sys.path.insert(0, str(probes))
    return {**os.environ, "PYTHONPATH": f"{probes}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def start(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(list(argv), env=env, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def group_cpu_seconds(group: int) -> float:
    """CPU time of a process group so far: its live processes', and their reaped children's.

    A worker's CPU per job is what a loaded machine disturbs least: its wall time waits on other
    people's processes, its CPU time does not."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After the command's closing parenthesis: state, ppid, pgrp, ..., utime (14th field)
            # stime, cutime, cstime.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[2]) == group:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def redis_records(redis_url: str, key: str, count: int, queue: str, timeout: float = RUN_TIMEOUT) -> list[Record]:
    """Wait until `count` jobs pushed "<latency> <finished>" to the Redis list `key`; read and drop it."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.time() + timeout
    while (done := client.llen(key)) < count:
        if time.time() > deadline:
            raise SystemExit(f"{done} of {count} jobs ran in {timeout:.0f} s on {queue}")
        time.sleep(0.02)
    lines = [value.decode().split() for value in client.lrange(key, 0, -1)]
    client.delete(key)
    return [(float(latency), float(finished)) for latency, finished in lines]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(records: Sequence[Record], started: float) -> dict[str, float]:
    """Jobs/s from the first enqueue to the last finish, and enqueue-to-start latency in ms."""
    latencies = [latency * 1000 for latency, _ in records]
    finished = max(end for _, end in records)
    return {
        "jobs_per_s": len(records) / (finished - started),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


def send_times(started: float) -> list[float]:
    """When each critical job of the isolation scenario is due: CRITICAL_RATE a second from `started`."""
    return [started + i / CRITICAL_RATE for i in range(int(CRITICAL_RATE * CRITICAL_SECONDS))]


def isolation_summary(critical: Sequence[Record], bulk: Sequence[Record], started: float) -> dict[str, float]:
    """Enqueue-to-start of the critical jobs in ms, and how long the bulk backlog took to drain."""
    latencies = [latency * 1000 for latency, _ in critical]
    return {
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "bulk_s": max(end for _, end in bulk) - started,
    }


def emit(app: str, queue: str, setting: str, kind: str, numbers: Mapping[str, float]) -> None:
    """One row for bench/workers.py."""
    print(json.dumps({"app": app, "queue": queue, "setting": setting, "kind": kind, **numbers}), flush=True)
