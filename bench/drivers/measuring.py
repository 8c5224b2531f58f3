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


def emit(app: str, queue: str, setting: str, kind: str, numbers: Mapping[str, float]) -> None:
    """One row for bench/workers.py."""
    print(json.dumps({"app": app, "queue": queue, "setting": setting, "kind": kind, **numbers}), flush=True)
