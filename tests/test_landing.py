"""Findings reached in another checked module land on the effect's line: once, with noqa on
either line, kept by `--fix` and the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

BILLING = (
    "import requests\n\n\n"
    "class Billing:\n"
    "    def charge(self, order_id):\n"
    "        requests.post('https://pay.example', json={'order': order_id}, timeout=5)\n"
)
TASKS = (
    "from celery import shared_task\n\n"
    "from proj.billing import Billing\n\n\n"
    "@shared_task(acks_late=True)\n"
    "def send_invoice(order_id):\n"
    "    Billing().charge(order_id)\n\n\n"
    "@shared_task(acks_late=True)\n"
    "def resend_invoice(order_id):\n"
    "    Billing().charge(order_id)\n"
)


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "billing.py").write_text(BILLING)
    (tmp_path / "proj" / "tasks.py").write_text(TASKS)
    return tmp_path


def _findings(jobs_lint, root: Path, *args: str) -> list[tuple[str, int, str]]:
    result = jobs_lint(*args, "--select", "JL104,JL010", "--output-format", "json", cwd=root)
    return [(Path(d["filename"]).name, d["location"]["row"], d["message"]) for d in json.loads(result.out)]


def test_jobs_reaching_one_effect_give_one_finding_on_it(jobs_lint, proj: Path) -> None:
    ((name, line, message),) = _findings(jobs_lint, proj, ".", "--no-cache")
    assert (name, line) == ("billing.py", 6)
    assert "Task `send_invoice` is retried" in message
    assert message.endswith("(also reached from 1 other job)")


def test_noqa_on_the_effect_line_silences_it_and_counts_as_used(jobs_lint, proj: Path) -> None:
    billing = proj / "proj" / "billing.py"
    billing.write_text(BILLING.replace("timeout=5)\n", "timeout=5)  # noqa: JL104\n"))
    assert _findings(jobs_lint, proj, ".", "--no-cache") == []
    # Checked alone, it is still used: the job modules that reach it decide the finding.
    assert _findings(jobs_lint, proj, "proj/billing.py", "--no-cache") == []


def test_the_effects_file_checked_alone_gets_the_finding(jobs_lint, proj: Path) -> None:
    for cache in ("--no-cache", None, None):  # cold, then the cache written by a partial run
        found = _findings(jobs_lint, proj, "proj/billing.py", *([cache] if cache else []))
        assert [(name, row) for name, row, _ in found] == [("billing.py", 6)]
        assert "`send_invoice -> Billing.charge -> requests.post`" in found[0][2]


def test_noqa_on_the_call_lines_silences_it(jobs_lint, proj: Path) -> None:
    tasks = proj / "proj" / "tasks.py"
    tasks.write_text(TASKS.replace("charge(order_id)\n", "charge(order_id)  # noqa: JL104\n"))
    assert _findings(jobs_lint, proj, ".", "--no-cache") == []


def test_fix_keeps_a_noqa_that_silences_a_finding_from_elsewhere(jobs_lint, proj: Path) -> None:
    billing = proj / "proj" / "billing.py"
    text = BILLING.replace("timeout=5)\n", "timeout=5)  # noqa: JL104\n").replace(
        "import requests\n", "import requests  # noqa: JL101\n"
    )
    billing.write_text(text)
    result = jobs_lint(".", "--select", "JL104,JL010", "--fix", "--no-cache", cwd=proj)
    assert result.code == 0, result.out
    assert billing.read_text() == text.replace("  # noqa: JL101", "")


def test_a_cached_run_lands_the_same_way(jobs_lint, proj: Path) -> None:
    first = _findings(jobs_lint, proj, ".")
    assert [(name, row) for name, row, _ in first] == [("billing.py", 6)]
    assert _findings(jobs_lint, proj, ".") == first
    # The cache holds the job module's findings on its call lines: checked alone, they stay there.
    alone = _findings(jobs_lint, proj, "proj/tasks.py")
    assert [(name, row) for name, row, _ in alone] == [("tasks.py", 8), ("tasks.py", 13)]
    assert all("through `Billing.charge -> requests.post`" in message for _, _, message in alone)
