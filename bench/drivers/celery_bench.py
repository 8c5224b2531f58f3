"""Celery throughput and latency, run inside a rendered project's own environment.

    python celery_bench.py PACKAGE BROKER_URL REDIS_URL JOBS

Prints one JSON line per measurement: the rendered service's worker for each of its queues (the
way `make worker QUEUE=x` starts it), then a plain Celery app with its default configuration on
the same broker, each with no-op jobs and 10 ms jobs.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = """
import os, time
import redis
{app_import}

_redis = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


def _record(sent_at: float, key: str, started: float) -> None:
    _redis.rpush(key, f"{{started - sent_at}} {{time.time()}}")


@app.task(name="bench.noop")
def noop(sent_at: float, key: str) -> None:
    _record(sent_at, key, time.time())


@app.task(name="bench.sleep")
def sleep(sent_at: float, key: str) -> None:
    started = time.time()
    time.sleep(0.01)
    _record(sent_at, key, started)
"""
PLAIN_APP = "from celery import Celery\napp = Celery('plain', broker=os.environ['BENCH_BROKER_URL'])"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(probe_module: object, queue: str | None, kind: str, jobs: int, redis_url: str) -> dict[str, float]:
    import redis

    client = redis.Redis.from_url(redis_url)
    task = getattr(probe_module, kind)
    key = f"bench:{os.getpid()}:{queue}:{kind}:{time.time()}"
    options = {"queue": queue} if queue else {}
    task.apply_async((time.time(), key + ":warm"), **options)  # the worker is up once this ran
    deadline = time.time() + 60
    while not client.llen(key + ":warm"):
        if time.time() > deadline:
            raise SystemExit(f"no worker consumed queue {queue}")
        time.sleep(0.05)
    start = time.time()
    for _ in range(jobs):
        task.apply_async((time.time(), key), **options)
    deadline = time.time() + 300
    while client.llen(key) < jobs:
        if time.time() > deadline:
            raise SystemExit(f"{client.llen(key)} of {jobs} jobs ran in 300 s on {queue}")
        time.sleep(0.02)
    records = [line.split() for line in (v.decode() for v in client.lrange(key, 0, -1))]
    client.delete(key, key + ":warm")
    latencies = [float(latency) * 1000 for latency, _ in records]
    finished = max(float(end) for _, end in records)
    return {
        "jobs_per_s": jobs / (finished - start),
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
    }


def start_worker(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    celery = str(Path(sys.executable).parent / "celery")
    return subprocess.Popen([celery, *argv], env=env, start_new_session=True, stdout=subprocess.DEVNULL)


def stop(worker: subprocess.Popen[bytes]) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def main() -> None:
    package, broker_url, redis_url, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    probes = Path(tempfile.mkdtemp(prefix="bench-probe-"))
    (probes / "template_probe.py").write_text(PROBE.format(app_import=f"from {package}.celery_app import app"))
    (probes / "plain_probe.py").write_text(PROBE.format(app_import=PLAIN_APP))
    sys.path.insert(0, str(probes))
    prefix = f"bench{os.getpid()}."
    env = {
        **os.environ,
        "PYTHONPATH": f"{probes}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "BENCH_REDIS_URL": redis_url,
        "BENCH_BROKER_URL": broker_url,
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": prefix,
        "METRICS_PORT": "0",
    }
    os.environ.update(env)
    queues = importlib.import_module(f"{package}.queues")
    worker_argv = importlib.import_module(f"{package}.worker").worker_argv
    template = importlib.import_module("template_probe")
    for spec in queues.QUEUES:
        worker = start_worker(["-A", "template_probe", *worker_argv([spec], prefix, "error")], env)
        try:
            for kind in ("noop", "sleep"):
                row = measure(template, prefix + spec.name, kind, jobs, redis_url)
                setting = f"prefetch {spec.prefetch}, concurrency {spec.concurrency}, late ack"
                print(json.dumps({"app": "template", "queue": spec.name, "setting": setting, "kind": kind, **row}))
        finally:
            stop(worker)
    plain = importlib.import_module("plain_probe")
    plain.app.conf.task_default_queue = f"{prefix}plain"
    worker = start_worker(["-A", "plain_probe", "worker", "-Q", f"{prefix}plain", "--loglevel=error"], env)
    try:
        for kind in ("noop", "sleep"):
            row = measure(plain, None, kind, jobs, redis_url)
            setting = "defaults: prefetch 4, concurrency = cores, early ack"
            print(json.dumps({"app": "plain", "queue": "celery defaults", "setting": setting, "kind": kind, **row}))
    finally:
        stop(worker)


if __name__ == "__main__":
    main()
