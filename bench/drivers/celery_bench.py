"""Celery throughput and latency, run inside a rendered project's own environment.

    python celery_bench.py PACKAGE JOBS BROKER_URL REDIS_URL

Prints one JSON line per measurement: the rendered service's worker for each of its queues (the
way `make worker QUEUE=x` starts it), then a plain Celery app with its default configuration on
the same broker, each with no-op jobs and 10 ms jobs (`time.sleep` in a pool process).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

from measuring import WARM_TIMEOUT, emit, redis_records, start, stop, summary, write_probes

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


def measure(probe_module: object, queue: str | None, kind: str, jobs: int, redis_url: str) -> dict[str, float]:
    task = getattr(probe_module, kind)
    key = f"bench:{os.getpid()}:{queue}:{kind}:{time.time()}"
    options = {"queue": queue} if queue else {}
    task.apply_async((time.time(), key + ":warm"), **options)  # the worker is up once this ran
    redis_records(redis_url, key + ":warm", 1, str(queue), timeout=WARM_TIMEOUT)
    started = time.time()
    for _ in range(jobs):
        task.apply_async((time.time(), key), **options)
    return summary(redis_records(redis_url, key, jobs, str(queue)), started)


def celery(*argv: str) -> list[str]:
    return [str(Path(sys.executable).parent / "celery"), *argv]


def main() -> None:
    package, jobs, broker_url, redis_url = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    prefix = f"bench{os.getpid()}."
    env = write_probes(
        {
            "template_probe": PROBE.format(app_import=f"from {package}.celery_app import app"),
            "plain_probe": PROBE.format(app_import=PLAIN_APP),
        }
    )
    env |= {
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
        worker = start(celery("-A", "template_probe", *worker_argv([spec], prefix, "error")), env)
        try:
            for kind in ("noop", "sleep"):
                numbers = measure(template, prefix + spec.name, kind, jobs, redis_url)
                setting = f"prefetch {spec.prefetch}, concurrency {spec.concurrency}, late ack"
                emit("template", spec.name, setting, kind, numbers)
        finally:
            stop(worker)
    plain = importlib.import_module("plain_probe")
    plain.app.conf.task_default_queue = f"{prefix}plain"
    worker = start(celery("-A", "plain_probe", "worker", "-Q", f"{prefix}plain", "--loglevel=error"), env)
    try:
        for kind in ("noop", "sleep"):
            numbers = measure(plain, None, kind, jobs, redis_url)
            emit("plain", "celery defaults", "defaults: prefetch 4, concurrency = cores, early ack", kind, numbers)
    finally:
        stop(worker)


if __name__ == "__main__":
    main()
