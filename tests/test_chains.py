"""Findings reached through calls: the chain in the message and each hop in every output format."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import ROOT

FILES = {
    "proj/__init__.py": "",
    "proj/billing.py": "import requests\n\n\n"
    "class Billing:\n"
    "    def charge(self, order_id):\n"
    "        return requests.post('https://pay.example', json={'order': order_id}, timeout=5)\n\n\n"
    "def send_invoice(order_id):\n"
    "    Billing().charge(order_id)\n",
    "proj/tasks.py": "from celery import shared_task\n\n"
    "from proj.billing import send_invoice\n\n\n"
    "@shared_task(acks_late=True)\n"
    "def bill(order_id):\n"
    "    send_invoice(order_id)\n",
}
CHAIN = "send_invoice -> Billing.charge -> requests.post"


@pytest.fixture
def chained(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_text_lists_the_hops_under_the_snippet(jobs_lint, chained: Path) -> None:
    # The effect's module is checked too: the finding is on the effect, the job's call first.
    result = jobs_lint(".", "--select", "JL104", "--no-cache", cwd=chained)
    assert result.code == 1
    assert "proj/billing.py:6:16: JL104 Task `bill` is retried (`acks_late`) and creates an HTTP POST" in result.out
    assert f"through `bill -> {CHAIN}`" in result.out
    assert " = via: proj/tasks.py:8: `bill` calls `send_invoice`" in result.out
    assert " = via: proj/billing.py:10: `send_invoice` calls `Billing.charge`" in result.out
    assert " = via: proj/billing.py:6: `Billing.charge` calls `requests.post`" in result.out
    assert "proj/tasks.py:8" not in result.out.split(" = via")[0]


def test_the_call_line_keeps_the_finding_when_the_effect_is_not_checked(jobs_lint, chained: Path) -> None:
    result = jobs_lint("proj/tasks.py", "--select", "JL104", "--no-cache", "--output-format", "json", cwd=chained)
    (entry,) = json.loads(result.out)
    assert Path(entry["filename"]).name == "tasks.py" and entry["location"]["row"] == 8
    assert f"through `{CHAIN}`" in entry["message"]
    assert [(Path(r["filename"]).name, r["location"]["row"], r["message"]) for r in entry["related"]] == [
        ("billing.py", 10, "`send_invoice` calls `Billing.charge`"),
        ("billing.py", 6, "`Billing.charge` calls `requests.post`"),
    ]


def test_json_has_the_related_locations(jobs_lint, chained: Path) -> None:
    result = jobs_lint(".", "--select", "JL104", "--no-cache", "--output-format", "json", cwd=chained)
    (entry,) = json.loads(result.out)
    assert Path(entry["filename"]).name == "billing.py" and entry["location"]["row"] == 6
    assert CHAIN in entry["message"]
    assert [(Path(r["filename"]).name, r["location"]["row"], r["message"]) for r in entry["related"]] == [
        ("tasks.py", 8, "`bill` calls `send_invoice`"),
        ("billing.py", 10, "`send_invoice` calls `Billing.charge`"),
        ("billing.py", 6, "`Billing.charge` calls `requests.post`"),
    ]


def test_sarif_has_related_locations_and_a_code_flow(jobs_lint, chained: Path) -> None:
    result = jobs_lint(".", "--select", "JL104", "--no-cache", "--output-format", "sarif", cwd=chained)
    document = json.loads(result.out)
    schema = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    (entry,) = document["runs"][0]["results"]
    assert entry["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "proj/billing.py"
    related = [
        (r["id"], r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"]["startLine"])
        for r in entry["relatedLocations"]
    ]
    assert related == [(1, "proj/tasks.py", 8), (2, "proj/billing.py", 10), (3, "proj/billing.py", 6)]
    steps = entry["codeFlows"][0]["threadFlows"][0]["locations"]
    lines = [step["location"]["physicalLocation"]["region"]["startLine"] for step in steps]
    assert lines == [8, 10, 6]


def test_a_cached_run_reports_the_same_chain(jobs_lint, chained: Path) -> None:
    first = jobs_lint(".", "--select", "JL104", "--output-format", "json", cwd=chained)
    second = jobs_lint(".", "--select", "JL104", "--output-format", "json", cwd=chained)
    assert json.loads(first.out) == json.loads(second.out)
    (chained / "proj" / "billing.py").write_text(FILES["proj/billing.py"].replace("requests.post", "requests.get"))
    third = jobs_lint(".", "--select", "JL104", "--output-format", "json", cwd=chained)
    assert json.loads(third.out) == []  # a GET creates nothing: the helper's change reaches the task


SAME_MODULE = {
    "proj/__init__.py": "",
    "proj/activities.py": "import time\n"
    "from temporalio import activity\n\n\n"
    "def wait(seconds):\n"
    "    time.sleep(seconds)  # noqa: JL407\n\n\n"
    "def settle(seconds):\n"
    "    time.sleep(seconds)\n\n\n"
    "@activity.defn\n"
    "async def first(seconds: float) -> None:\n"
    "    settle(seconds)\n"
    "    wait(seconds)\n\n\n"
    "@activity.defn\n"
    "async def second(seconds: float) -> None:\n"
    "    settle(seconds)\n",
}


@pytest.fixture
def same_module(tmp_path: Path) -> Path:
    for name, text in SAME_MODULE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_an_effect_in_the_checked_module_is_reported_on_its_line_once(jobs_lint, same_module: Path) -> None:
    result = jobs_lint(".", "--select", "JL407", "--no-cache", "--output-format", "json", cwd=same_module)
    # Two activities reach `settle`'s sleep: one finding, on the sleep; `wait`'s sleep has a noqa.
    (entry,) = json.loads(result.out)
    assert entry["location"]["row"] == 10
    assert "Async activity `first` blocks the worker's event loop through `settle -> time.sleep`" in entry["message"]
    assert [(r["location"]["row"], r["message"]) for r in entry["related"]] == [
        (15, "`first` calls `settle`"),
        (10, "`settle` calls `time.sleep`"),
    ]


def test_sarif_flow_of_an_effect_reported_on_its_line_starts_at_the_job(jobs_lint, same_module: Path) -> None:
    result = jobs_lint(".", "--select", "JL407", "--no-cache", "--output-format", "sarif", cwd=same_module)
    (entry,) = json.loads(result.out)["runs"][0]["results"]
    steps = entry["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [step["location"]["physicalLocation"]["region"]["startLine"] for step in steps] == [15, 10]
