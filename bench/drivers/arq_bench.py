"""ARQ throughput and latency, run inside a rendered project's own environment.

    python arq_bench.py PACKAGE JOBS REDIS_URL

Prints one JSON line per measurement: the rendered service's worker for each of its queues (its
WorkerSettings, started by `python -m PACKAGE.worker NAME`, the probe jobs declared with the
service's own `job()` and registered beside its jobs), then a plain ARQ Worker with its defaults
(pickle, max_jobs 10) on the same Redis, each with no-op jobs and 10 ms jobs. The 10 ms job awaits
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
from measuring import WARM_TIMEOUT, emit, redis_records, start, stop, summary, write_probes

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


async def bench(package: str, jobs: int, redis_url: str, env: dict[str, str]) -> None:
    settings = importlib.import_module(f"{package}.settings").get_settings()
    pool = await importlib.import_module(f"{package}.connection").create_job_pool()
    for spec in importlib.import_module(f"{package}.queues").QUEUES:
        worker = start([sys.executable, "-m", "template_worker", spec.name], env)
        try:
            for kind in ("noop", "sleep"):
                numbers = await measure(pool, settings.queue_name(spec.name), kind, jobs, redis_url)
                setting = f"max_jobs {spec.concurrency}, poll_delay {settings.poll_delay} s, JSON"
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
    package, jobs, redis_url = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
    asyncio.run(bench(package, jobs, redis_url, env))


if __name__ == "__main__":
    main()
