"""The monitoring files rendered with metrics=yes: alert rules named after the answered queues with
their thresholds, a scrape configuration, a Grafana dashboard; none of them with metrics=no.
(The rendered projects' own tests run promtool on them and check the metric names on a worker.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.rendering import render

FILES = (
    "deploy/prometheus/alerts.yml",
    "deploy/prometheus/alerts.test.yml",
    "deploy/prometheus/prometheus.yml",
    "deploy/grafana/dashboard.json",
    "tests/test_alert_rules.py",
    "tests/monitoring_files.py",
)
QUEUES = [
    {"name": "urgent", "priority": 9, "prefetch": 1, "concurrency": 1},
    {"name": "default", "priority": 5, "prefetch": 2, "concurrency": 1},
]
BACKLOG = {"celery": "CeleryQueueBacklog", "arq": "ArqQueueBacklog", "temporal": "TemporalTaskQueueBacklog"}


def rules(project: Path) -> list[dict[str, Any]]:
    document = yaml.safe_load((project / "deploy/prometheus/alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("tool", ["celery", "arq", "temporal"])
def test_alerts_follow_the_answered_queues_and_thresholds(template_repo: Path, tmp_path: Path, tool: str) -> None:
    # ARQ queues have no priority or prefetch (the template refuses them there).
    queues = [{"name": q["name"], "concurrency": q["concurrency"]} for q in QUEUES] if tool == "arq" else QUEUES
    answers = {"tool": tool, "queues": queues, "task_routes": [], "queue_alert_threshold": {"urgent": 7}}
    project = render(template_repo, tmp_path / "service", answers)
    for name in FILES:
        assert (project / name).is_file(), name
    backlog = {rule["labels"]["queue"]: rule["expr"] for rule in rules(project) if rule["alert"] == BACKLOG[tool]}
    assert sorted(backlog) == ["default", "urgent"]
    default = 30 if tool == "temporal" else 1000
    scale = 1000 if tool == "temporal" else 1  # Temporal's latencies are in milliseconds
    assert backlog["urgent"].rstrip().endswith(f"> {7 * scale}")
    assert backlog["default"].rstrip().endswith(f"> {default * scale}")
    without_worker = [rule["labels"]["queue"] for rule in rules(project) if rule["alert"].endswith("WithoutWorker")]
    assert without_worker == ["urgent", "default"]
    assert {rule["alert"].removeprefix(tool.capitalize()) for rule in rules(project)} >= {
        "DeadLettersGrowing",
        "ScheduleSilent",
    }
    assert all(rule["annotations"]["runbook"] == "README.md#alerts" for rule in rules(project))
    unit_tests = yaml.safe_load((project / "deploy/prometheus/alerts.test.yml").read_text())
    assert unit_tests["rule_files"] == ["alerts.yml"] and unit_tests["tests"]
    scrape = yaml.safe_load((project / "deploy/prometheus/prometheus.yml").read_text())
    targets = [config["targets"][0] for config in scrape["scrape_configs"][0]["static_configs"]]
    assert targets == ["worker-urgent:9808", "worker-default:9808"]
    dashboard = json.loads((project / "deploy/grafana/dashboard.json").read_text())
    assert all(target["expr"].count(f"{tool}_") for panel in dashboard["panels"] for target in panel["targets"])
    assert "Alerts" in (project / "README.md").read_text()


def test_no_monitoring_files_without_metrics(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"metrics": False, "scheduling": False})
    for name in FILES:
        assert not (project / name).exists(), name


def test_a_schedule_without_heartbeat_has_no_silent_schedule_alert(template_repo: Path, tmp_path: Path) -> None:
    schedule = [{"name": "trim", "task": "maintenance.trim_dead_letters", "cron": "17 3 * * *"}]
    project = render(template_repo, tmp_path / "service", {"schedule": schedule})
    assert not [rule for rule in rules(project) if rule["alert"] == "CeleryScheduleSilent"]


def test_flower_keeps_its_state_on_a_volume(template_repo: Path, tmp_path: Path) -> None:
    compose = yaml.safe_load((render(template_repo, tmp_path / "service", {}) / "compose.yaml").read_text())
    flower = compose["services"]["flower"]
    assert flower["environment"]["FLOWER_PERSISTENT"] == "True"
    assert flower["environment"]["FLOWER_DB"] == "/data/flower.db"
    assert flower["volumes"] == ["flower-data:/data"]
    assert "flower-data" in compose["volumes"]


@pytest.mark.parametrize(
    ("threshold", "reason"),
    [
        ({"nosuch": 5}, 'names "nosuch", which is not one of the queues'),
        (0, "must be a whole number >= 1"),
        ({"default": "many"}, "must be a whole number >= 1"),
    ],
)
def test_bad_queue_alert_threshold_is_refused(template_repo: Path, tmp_path: Path, threshold: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        render(template_repo, tmp_path / "service", {"queue_alert_threshold": threshold})


def test_temporal_threshold_beyond_the_sdk_buckets_is_refused(template_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at most 900 seconds"):
        render(template_repo, tmp_path / "service", {"tool": "temporal", "queue_alert_threshold": 1000})
