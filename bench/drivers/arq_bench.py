"""ARQ throughput, latency and isolation, run inside a rendered project's own environment.

    python arq_bench.py PACKAGE SCENARIO JOBS REDIS_URL

Prints one JSON line per measurement. SCENARIO `throughput`: the rendered service's worker for
each of its queues (its WorkerSettings, started by `python -m PACKAGE.worker NAME`, the probe jobs
declared with the service's own `job()` and registered beside its jobs), then a plain ARQ Worker
with its defaults (pickle, max_jobs 10) on the same Redis, each with no-op jobs and 10 ms jobs.
SCENARIO `isolation`: the rendered workers of the most and the least urgent queue at once,
BULK_JOBS 10 ms jobs queued on the least urgent one, then no-op jobs at CRITICAL_RATE a second on
the most urgent one; then the same on the plain worker's one queue. The 10 ms job awaits
`asyncio.sleep(0.01)`: ARQ jobs are coroutines that share the worker's event loop, so 10 ms of
waiting is their 10 ms job. A worker takes at most max_jobs jobs per poll of its queue, so short
jobs run at about max_jobs / poll_delay per second.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time

from arq.connections import ArqRedis, RedisSettings, create_pool
from measuring import (
    BULK_JOBS,
    WARM_TIMEOUT,
    emit,
    isolation_summary,
    redis_records,
    send_times,
    start,
    stop,
    summary,
    write_probes,
)

PROBE = """
import asyncio
import time


async def _record(ctx, sent_at: float, key: str, started: float) -> None:
    await ctx["redis"].rpush(key, f"{started - sent_at} {time.time()}")


async def noop(ctx, sent_at: float, key: str) -> None:
    await _record(ctx, sent_at, key, time.time())


async def sleep(ctx, sent_at: float, key: str) -> None:
    started = time.time()
    await asyncio.sleep(0.01)
    await _record(ctx, sent_at, key, started)
"""
# The rendered worker's own command, with the probe jobs registered beside the service's jobs.
TEMPLATE_WORKER = """
import sys
import arq_probe
from {package} import worker
from {package}.jobs.base import job

worker.FUNCTIONS = (*worker.FUNCTIONS, job("bench.noop")(arq_probe.noop), job("bench.sleep")(arq_probe.sleep))
if __name__ == "__main__":
    worker.main([*sys.argv[1:], "--loglevel", "error"])
"""
PLAIN_WORKER = """
import os
from arq import func
from arq.connections import RedisSettings
from arq.worker import run_worker
import arq_probe


class WorkerSettings:
    functions = [func(arq_probe.noop, name="bench.noop"), func(arq_probe.sleep, name="bench.sleep")]
    redis_settings = RedisSettings.from_dsn(os.environ["BENCH_REDIS_URL"])
    queue_name = os.environ["BENCH_PLAIN_QUEUE"]


if __name__ == "__main__":
    run_worker(WorkerSettings)
"""


async def measure(pool: ArqRedis, queue_name: str, kind: str, jobs: int, redis_url: str) -> dict[str, float]:
    key = f"bench:{os.getpid()}:{queue_name}:{kind}:{time.time()}"
    await pool.enqueue_job(f"bench.{kind}", time.time(), key + ":warm", _queue_name=queue_name)
    redis_records(redis_url, key + ":warm", 1, queue_name, timeout=WARM_TIMEOUT)  # the worker is up
    started = time.time()
    for _ in range(jobs):
        await pool.enqueue_job(f"bench.{kind}", time.time(), key, _queue_name=queue_name)
    return summary(redis_records(redis_url, key, jobs, queue_name), started)


async def isolate(pool: ArqRedis, critical: str, bulk: str, redis_url: str) -> dict[str, float]:
    key = f"bench:{os.getpid()}:isolation:{time.time()}"
    for queue in {critical, bulk}:  # both workers are up
        await pool.enqueue_job("bench.noop", time.time(), f"{key}:warm:{queue}", _queue_name=queue)
        redis_records(redis_url, f"{key}:warm:{queue}", 1, queue, timeout=WARM_TIMEOUT)
    started = time.time()
    for _ in range(BULK_JOBS):
        await pool.enqueue_job("bench.sleep", time.time(), key + ":bulk", _queue_name=bulk)
    due = send_times(time.time())
    for at in due:
        await asyncio.sleep(max(0.0, at - time.time()))
        await pool.enqueue_job("bench.noop", time.time(), key + ":critical", _queue_name=critical)
    records = redis_records(redis_url, key + ":critical", len(due), critical)
    return isolation_summary(records, redis_records(redis_url, key + ":bulk", BULK_JOBS, bulk), started)


async def isolation(package: str, redis_url: str, env: dict[str, str]) -> None:
    settings = importlib.import_module(f"{package}.settings").get_settings()
    specs = importlib.import_module(f"{package}.queues").QUEUES
    critical, bulk = specs[0], specs[-1]  # the queues are listed most urgent first
    pool = await importlib.import_module(f"{package}.connection").create_job_pool()
    workers = [start([sys.executable, "-m", "template_worker", spec.name], env) for spec in (critical, bulk)]
    try:
        names = settings.queue_name(critical.name), settings.queue_name(bulk.name)
        numbers = await isolate(pool, *names, redis_url)
        setting = "a worker per queue: " + ", ".join(
            f"{spec.name} max_jobs {spec.concurrency}, poll_delay "
            f"{settings.poll_delay if spec.poll_delay is None else spec.poll_delay} s"
            for spec in (critical, bulk)
        )
        emit("template", critical.name, setting, "isolation", numbers)
    finally:
        for worker in workers:
            stop(worker)
    plain_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    worker = start([sys.executable, "-m", "plain_worker"], env)
    try:
        numbers = await isolate(plain_pool, env["BENCH_PLAIN_QUEUE"], env["BENCH_PLAIN_QUEUE"], redis_url)
        emit("plain", "one queue", "defaults: max_jobs 10, poll_delay 0.5 s, pickle", "isolation", numbers)
    finally:
        stop(worker)
    await pool.aclose()
    await plain_pool.aclose()


async def throughput(package: str, jobs: int, redis_url: str, env: dict[str, str]) -> None:
    settings = importlib.import_module(f"{package}.settings").get_settings()
    pool = await importlib.import_module(f"{package}.connection").create_job_pool()
    for spec in importlib.import_module(f"{package}.queues").QUEUES:
        worker = start([sys.executable, "-m", "template_worker", spec.name], env)
        try:
            for kind in ("noop", "sleep"):
                numbers = await measure(pool, settings.queue_name(spec.name), kind, jobs, redis_url)
                poll_delay = settings.poll_delay if spec.poll_delay is None else spec.poll_delay
                setting = f"max_jobs {spec.concurrency}, poll_delay {poll_delay} s, JSON"
                emit("template", spec.name, setting, kind, numbers)
        finally:
            stop(worker)
    plain_pool = await create_pool(RedisSettings.from_dsn(redis_url))
    worker = start([sys.executable, "-m", "plain_worker"], env)
    try:
        for kind in ("noop", "sleep"):
            numbers = await measure(plain_pool, env["BENCH_PLAIN_QUEUE"], kind, jobs, redis_url)
            emit("plain", "arq defaults", "defaults: max_jobs 10, poll_delay 0.5 s, pickle", kind, numbers)
    finally:
        stop(worker)
    await pool.aclose()
    await plain_pool.aclose()


def main() -> None:
    package, scenario, jobs, redis_url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    env = write_probes(
        {
            "arq_probe": PROBE,
            "template_worker": TEMPLATE_WORKER.format(package=package),
            "plain_worker": PLAIN_WORKER,
        }
    )
    env |= {
        "BENCH_REDIS_URL": redis_url,
        "BENCH_PLAIN_QUEUE": f"bench{os.getpid()}:plain",
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": f"bench{os.getpid()}.",
        "METRICS_PORT": "0",
    }
    os.environ.update(env)
    if scenario == "isolation":
        asyncio.run(isolation(package, redis_url, env))
    else:
        asyncio.run(throughput(package, jobs, redis_url, env))


if __name__ == "__main__":
    main()
