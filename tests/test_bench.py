"""The worker benchmark's arithmetic and its refusals (the benchmark itself runs with `make bench`)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench" / "drivers"))

from measuring import percentile, summary


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tools", "rq"], "no benchmark for `rq`; choose from celery, arq, temporal"),
        (["--tools", "celery", "--brokers", "redis,kafka"], "no broker `kafka`; choose from redis, rabbitmq"),
        (["--jobs", "0"], "--jobs must be at least 1"),
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
