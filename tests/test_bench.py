"""The worker benchmark's arithmetic and its refusals (the benchmark itself runs with `make bench`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench" / "drivers"))

from measuring import CRITICAL_RATE, CRITICAL_SECONDS, isolation_summary, percentile, send_times, summary

sys.path.insert(0, str(ROOT / "bench"))

from workers import medians, with_ratios


def test_summary_counts_from_the_first_enqueue_to_the_last_finish() -> None:
    # Four jobs enqueued from t=100; the last one finishes at t=102: 2 jobs/s.
    records = [(0.010, 100.5), (0.020, 101.0), (0.030, 101.5), (0.040, 102.0)]
    numbers = summary(records, started=100.0)
    assert numbers["jobs_per_s"] == pytest.approx(2.0)
    assert numbers["p50_ms"] == pytest.approx(30.0)
    assert numbers["p99_ms"] == pytest.approx(40.0)


def test_percentile_takes_values_seen() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_critical_jobs_are_due_at_a_steady_rate_for_the_scenario_s_length() -> None:
    due = send_times(1000.0)
    assert len(due) == int(CRITICAL_RATE * CRITICAL_SECONDS)
    assert due[0] == 1000.0 and due[1] - due[0] == pytest.approx(1 / CRITICAL_RATE)
    assert due[-1] < 1000.0 + CRITICAL_SECONDS


def test_isolation_reports_critical_latency_and_when_the_backlog_drained() -> None:
    critical = [(0.004, 101.0), (0.006, 102.0), (0.050, 103.0)]
    bulk = [(1.0, 104.0), (2.0, 107.5)]
    numbers = isolation_summary(critical, bulk, started=100.0)
    assert numbers == {"p50_ms": pytest.approx(6.0), "p99_ms": pytest.approx(50.0), "bulk_s": pytest.approx(7.5)}


def test_ratios_are_to_the_plain_app_of_the_same_run_broker_and_job() -> None:
    def row(broker: str, app: str, kind: str, rate: float) -> dict[str, object]:
        return {"tool": "celery", "broker": broker, "app": app, "kind": kind, "jobs_per_s": rate}

    rows = [row("redis", "plain", "noop", 100.0), row("redis", "template", "noop", 80.0)]
    rows += [row("rabbitmq", "plain", "noop", 50.0), row("rabbitmq", "template", "noop", 80.0)]
    assert [r["ratio"] for r in with_ratios(rows)] == [1.0, 0.8, 1.0, 1.6]


def test_repetitions_merge_into_medians_with_their_range() -> None:
    def row(rate: float) -> dict[str, object]:
        return {"tool": "arq", "broker": "redis", "app": "plain", "queue": "q", "setting": "s", "kind": "noop"} | {
            "jobs_per_s": rate
        }

    (merged,) = medians([[row(10.0)], [row(30.0)], [row(12.0)]])
    assert merged["jobs_per_s"] == 12.0 and merged["jobs_per_s_range"] == (10.0, 30.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tools", "rq"], "no benchmark for `rq`; choose from celery, arq, temporal"),
        (["--tools", "celery", "--brokers", "redis,kafka"], "no broker `kafka`; choose from redis, rabbitmq"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--repeat", "0"], "--repeat must be at least 1"),
        (
            ["--scenario", "safety", "--tools", "arq"],
            "--scenario safety measures Celery's settings: use --tools celery",
        ),
    ],
)
def test_workers_refuses_unknown_names_before_it_starts(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "workers.py"), *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
