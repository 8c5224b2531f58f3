"""Celery throughput, isolation and the cost of each safe default, run inside a rendered project.

    python celery_bench.py PACKAGE SCENARIO JOBS BROKER_URL REDIS_URL

Prints one JSON line per measurement. SCENARIO is one of:

- throughput: the rendered service's worker for each of its queues (the way `make worker QUEUE=x`
  starts it), then a plain Celery app with its default configuration on the same broker, each
  with JOBS no-op jobs and JOBS 10 ms jobs (`time.sleep` in a pool process).
- isolation: the rendered workers of the most and the least urgent queue running at once, BULK_JOBS
  10 ms jobs queued on the least urgent one, then no-op jobs at CRITICAL_RATE a second on the
  most urgent one; then the same on a plain app's single queue, where they wait behind the backlog.
- safety: a plain app (the default queue's concurrency and prefetch), then the same app with one
  group of the rendered service's settings (SAFETY) switched on, then the rendered worker of the
  default queue with all of them: what each setting costs alone. The rendered worker runs twice:
  with tasks as the app makes them, and with tasks that keep their result (`ignore_result=False`);
  on RabbitMQ a third time, with the jobs sent in one confirmed batch (`publishing.confirmed_batch`)
  instead of one `apply_async` each waiting for its confirm. Each row also has the sender's time
  per job: the publisher confirms are the sender's cost, not the worker's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measuring import (
    BULK_JOBS,
    WARM_TIMEOUT,
    emit,
    group_cpu_seconds,
    isolation_summary,
    redis_records,
    send_times,
    start,
    stop,
    summary,
    write_probes,
)

PROBE = """
import os, time
import redis
{app}

_redis = redis.Redis.from_url(os.environ["BENCH_REDIS_URL"])


def _record(sent_at: float, key: str, started: float) -> None:
    _redis.rpush(key, f"{{started - sent_at}} {{time.time()}}")


def noop(sent_at: float, key: str) -> None:
    _record(sent_at, key, time.time())


def sleep(sent_at: float, key: str) -> None:
    started = time.time()
    time.sleep(0.01)
    _record(sent_at, key, started)


def register(app):
    app.task(name="bench.noop", shared=False)(noop)
    app.task(name="bench.sleep", shared=False)(sleep)
    # The same jobs as tasks that keep their result whatever the app's default.
    app.task(name="bench.noop.kept", shared=False, ignore_result=False)(noop)
    app.task(name="bench.sleep.kept", shared=False, ignore_result=False)(sleep)
    return app


app = register(app)
"""
TEMPLATE_APP = "from {package}.celery_app import app"
# A plain app, with the rendered service's settings named in BENCH_SETTINGS on top (safety).
PLAIN_APP = """
from celery import Celery

# What `flower: true` adds to the rendered settings.
EVENTS = {{"worker_send_task_events": True, "task_send_sent_event": True}}
ARGUMENTS_QUEUE = "{arguments_queue}"


def make_app(names):
    app = Celery("plain", broker=os.environ["BENCH_BROKER_URL"], set_as_current=False)
    if names:
        from {package}.celery_config import celery_config
        from {package}.settings import get_settings

        rendered = celery_config(get_settings()) | EVENTS
        if "task_queues" in names:
            # The rendered default queue's declaration (its arguments) on a queue of the plain app's
            # own: RabbitMQ refuses to declare an existing queue with other arguments.
            from dataclasses import replace

            from {package}.celery_config import _queue
            from {package}.queues import BY_NAME, DEFAULT_QUEUE

            spec = replace(BY_NAME[DEFAULT_QUEUE], name=ARGUMENTS_QUEUE)
            rendered["task_queues"] = [_queue(get_settings(), spec)]
        app.conf.update({{name: rendered[name] for name in names}})
    return app


app = make_app([name for name in os.environ.get("BENCH_SETTINGS", "").split(",") if name])
"""
# Each safe default of the rendered service, by the settings that make it.
RESULTS = ("result_backend", "result_backend_transport_options", "result_expires", "result_backend_always_retry")
SAFETY: dict[str, tuple[str, ...]] = {
    "late ack, reject and retry on worker lost": (
        "task_acks_late",
        "task_reject_on_worker_lost",
        "task_retry_on_worker_lost",
    ),
    "results stored": RESULTS,
    "results stored + result_extended": (*RESULTS, "result_extended"),
    "results stored + task_track_started": (*RESULTS, "task_track_started"),
    "time limits": ("task_soft_time_limit", "task_time_limit"),
    "child recycling (tasks, memory)": ("worker_max_tasks_per_child", "worker_max_memory_per_child"),
    "task events (flower: true)": ("worker_send_task_events", "task_send_sent_event"),
}
RENDERED = "all of them (the rendered worker)"
RENDERED_KEPT = "the rendered worker, a task that keeps its result"
RENDERED_BATCH = "the rendered worker, jobs sent in one confirmed batch"
# The plain app's queue for the variant with the rendered queue's arguments.
ARGUMENTS_QUEUE = "plain-arguments"
BROKER_SAFETY: dict[str, dict[str, tuple[str, ...]]] = {
    "redis": {
        "priority lists (kombu's transport)": ("broker_transport_options",),
        "atomic consume (redis_broker)": ("broker_transport", "broker_transport_options"),
    },
    "rabbitmq": {
        "publisher confirms": ("broker_transport_options",),
        "queue arguments (priorities, dead-letter exchange)": ("task_queues", "task_default_priority"),
    },
}


def send(app: Any, kind: str, queue: str, key: str, producer: Any = None) -> None:
    """Send a job of KIND: `noop` or `sleep`, with `.kept` for the task that keeps its result."""
    app.tasks[f"bench.{kind}"].apply_async((time.time(), key), queue=queue, producer=producer)


def measure(
    app: Any, queue: str, kind: str, jobs: int, redis_url: str, batch: Callable[[], Any] | None = None
) -> dict[str, float]:
    """`summary`'s numbers and the sender's ms per job; BATCH, if given, sends the jobs in one batch."""
    key = f"bench:{os.getpid()}:{queue}:{kind}:{time.time()}"
    send(app, kind, queue, key + ":warm")  # the worker is up once this ran
    redis_records(redis_url, key + ":warm", 1, queue, timeout=WARM_TIMEOUT)
    started = time.time()
    with batch() if batch else contextlib.nullcontext() as producer:
        for _ in range(jobs):
            send(app, kind, queue, key, producer)
    sent = time.time()
    return summary(redis_records(redis_url, key, jobs, queue), started) | {"send_ms": (sent - started) * 1000 / jobs}


def isolate(app: Any, critical: str, bulk: str, redis_url: str) -> dict[str, float]:
    key = f"bench:{os.getpid()}:isolation:{time.time()}"
    for queue in {critical, bulk}:  # both workers are up
        send(app, "noop", queue, f"{key}:warm:{queue}")
        redis_records(redis_url, f"{key}:warm:{queue}", 1, queue, timeout=WARM_TIMEOUT)
    started = time.time()
    for _ in range(BULK_JOBS):
        send(app, "sleep", bulk, key + ":bulk")
    due = send_times(time.time())
    for at in due:
        time.sleep(max(0.0, at - time.time()))
        send(app, "noop", critical, key + ":critical")
    records = redis_records(redis_url, key + ":critical", len(due), critical)
    return isolation_summary(records, redis_records(redis_url, key + ":bulk", BULK_JOBS, bulk), started)


def measure_cpu(
    worker: subprocess.Popen[bytes],
    app: Any,
    queue: str,
    kind: str,
    jobs: int,
    redis_url: str,
    batch: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """`measure`'s numbers and the worker's CPU ms per job, its start and a first job left out."""
    measure(app, queue, kind, 1, redis_url)
    before = group_cpu_seconds(worker.pid)
    numbers = measure(app, queue, kind, jobs, redis_url, batch)
    return numbers | {"cpu_ms": (group_cpu_seconds(worker.pid) - before) * 1000 / jobs}


def celery(*argv: str) -> list[str]:
    return [str(Path(sys.executable).parent / "celery"), *argv]


def throughput(package: str, jobs: int, redis_url: str, prefix: str, env: dict[str, str]) -> None:
    worker_argv = importlib.import_module(f"{package}.worker").worker_argv
    template = importlib.import_module("template_probe").app
    for spec in importlib.import_module(f"{package}.queues").QUEUES:
        worker = start(celery("-A", "template_probe", *worker_argv([spec], prefix, "error")), env)
        try:
            for kind in ("noop", "sleep"):
                numbers = measure(template, prefix + spec.name, kind, jobs, redis_url)
                setting = f"prefetch {spec.prefetch}, concurrency {spec.concurrency}, late ack"
                emit("template", spec.name, setting, kind, numbers)
        finally:
            stop(worker)
    plain = importlib.import_module("plain_probe").app
    worker = start(celery("-A", "plain_probe", "worker", "-Q", f"{prefix}plain", "--loglevel=error"), env)
    try:
        for kind in ("noop", "sleep"):
            numbers = measure(plain, f"{prefix}plain", kind, jobs, redis_url)
            emit("plain", "celery defaults", "defaults: prefetch 4, concurrency = cores, early ack", kind, numbers)
    finally:
        stop(worker)


def isolation(package: str, redis_url: str, prefix: str, env: dict[str, str]) -> None:
    worker_argv = importlib.import_module(f"{package}.worker").worker_argv
    specs = importlib.import_module(f"{package}.queues").QUEUES
    critical, bulk = specs[0], specs[-1]  # the queues are listed most urgent first
    argvs = [worker_argv([spec], prefix, "error") for spec in (critical, bulk)]
    workers = [start(celery("-A", "template_probe", *argv), env) for argv in argvs]
    try:
        template = importlib.import_module("template_probe").app
        numbers = isolate(template, prefix + critical.name, prefix + bulk.name, redis_url)
        setting = "a worker per queue: " + ", ".join(
            f"{spec.name} concurrency {spec.concurrency}, prefetch {spec.prefetch}" for spec in (critical, bulk)
        )
        emit("template", critical.name, setting, "isolation", numbers)
    finally:
        for worker in workers:
            stop(worker)
    worker = start(celery("-A", "plain_probe", "worker", "-Q", f"{prefix}plain", "--loglevel=error"), env)
    try:
        numbers = isolate(importlib.import_module("plain_probe").app, f"{prefix}plain", f"{prefix}plain", redis_url)
        emit("plain", "one queue", "defaults: prefetch 4, concurrency = cores, early ack", "isolation", numbers)
    finally:
        stop(worker)


def safety(package: str, jobs: int, broker_url: str, redis_url: str, prefix: str, env: dict[str, str]) -> None:
    queues = importlib.import_module(f"{package}.queues")
    default = queues.BY_NAME[queues.DEFAULT_QUEUE]
    worker_argv = importlib.import_module(f"{package}.worker").worker_argv
    probe = importlib.import_module("plain_probe")
    broker = "rabbitmq" if broker_url.startswith("amqp") else "redis"
    variants: list[tuple[str, tuple[str, ...] | None]] = [("none (plain app)", ())]
    variants += [*SAFETY.items(), *BROKER_SAFETY[broker].items(), (RENDERED, None), (RENDERED_KEPT, None)]
    batch = None
    if broker == "rabbitmq":
        batch = importlib.import_module(f"{package}.publishing").confirmed_batch
        variants.append((RENDERED_BATCH, None))
    # Measured in a random order, printed in this one: on a shared machine the load drifts during
    # a run, and a fixed order would give the same settings the quiet minutes in every repetition.
    measured: dict[str, list[dict[str, float]]] = {}
    for name, settings in random.sample(variants, len(variants)):
        kinds = [kind + (".kept" if name == RENDERED_KEPT else "") for kind in ("noop", "sleep")]
        if settings is None:
            app, queue = importlib.import_module("template_probe").app, prefix + default.name
            worker = start(celery("-A", "template_probe", *worker_argv([default], prefix, "error")), env)
        else:
            # Started the way the rendered worker is, with the default queue's shape.
            own = ARGUMENTS_QUEUE if "task_queues" in settings else "plain"
            app, queue = probe.register(probe.make_app(settings)), prefix + own
            argv = worker_argv([dataclasses.replace(default, name=own)], prefix, "error")
            worker = start(celery("-A", "plain_probe", *argv), env | {"BENCH_SETTINGS": ",".join(settings)})
        sender = batch if name == RENDERED_BATCH else None
        try:
            measured[name] = [measure_cpu(worker, app, queue, kind, jobs, redis_url, sender) for kind in kinds]
        finally:
            stop(worker)
            if settings is not None:
                app.close()
    for name, settings in variants:
        app_name = "template" if settings is None else "plain+" if settings else "plain"
        for kind, numbers in zip(("noop", "sleep"), measured[name], strict=True):
            emit(app_name, default.name, name, kind, numbers)


def main() -> None:
    package, scenario, jobs, broker_url, redis_url = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:6]
    prefix = f"bench{os.getpid()}."
    env = write_probes(
        {
            "template_probe": PROBE.format(app=TEMPLATE_APP.format(package=package)),
            "plain_probe": PROBE.format(app=PLAIN_APP.format(package=package, arguments_queue=ARGUMENTS_QUEUE)),
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
    if scenario == "throughput":
        throughput(package, jobs, redis_url, prefix, env)
    elif scenario == "isolation":
        isolation(package, redis_url, prefix, env)
    else:
        safety(package, jobs, broker_url, redis_url, prefix, env)


if __name__ == "__main__":
    main()
