"""The schedule answers become each tool's schedule: Celery's beat entries (routed like their
tasks), ARQ's cron jobs and Temporal's Schedules (plus the payload sweep with the object store),
and the Celery README's schedule table."""

from __future__ import annotations

import ast
import importlib.util
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from tests.template.rendering import render

ROUTES = [
    {"pattern": "maintenance.heart*", "queue": "critical"},
    {"pattern": "maintenance.*", "queue": "low"},
    {"pattern": "reports.*", "queue": "high"},
]
SCHEDULES: dict[str, list[dict[str, Any]]] = {
    "defaults": [
        {"name": "trim-dead-letters", "task": "maintenance.trim_dead_letters", "cron": "17 3 * * *"},
        {"name": "heartbeat", "task": "maintenance.heartbeat", "every": 60},
    ],
    "three-entries": [
        {"name": "rebuild", "task": "reports.rebuild_index", "cron": "*/15 0-6,22-23 1 1-12/2 1-5"},
        {"name": "pulse", "task": "maintenance.heartbeat", "every": 10},
        {"name": "trim", "task": "maintenance.trim_dead_letters", "cron": "0 4 * * 0"},
    ],
    "empty": [],
}


def assigned(module: Path, name: str) -> ast.expr:
    """The expression assigned to `name` at the top of `module`."""
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(target, ast.Name) and target.id == name for target in targets) and node.value:
                return node.value
    raise AssertionError(f"{name} is not assigned in {module}")


def as_tuples(schedule: list[dict[str, Any]]) -> list[tuple[str, str, str | int]]:
    return [(e["name"], e["task"], e["cron"] if "cron" in e else e["every"]) for e in schedule]


def expected_queue(task: str) -> str:
    return next((route["queue"] for route in ROUTES if fnmatchcase(task, route["pattern"])), "default")


@pytest.mark.parametrize("label", SCHEDULES)
def test_celery_beat_schedule_is_the_answers_routed_like_their_tasks(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label: str
) -> None:
    schedule = SCHEDULES[label]
    project = render(template_repo, tmp_path / "service", {"schedule": schedule, "task_routes": ROUTES})
    package = project / "src" / "jobs_service"
    assert list(ast.literal_eval(assigned(package / "schedule.py", "SCHEDULE"))) == as_tuples(schedule)
    assert "from .schedule import beat_schedule" in (package / "celery_config.py").read_text()
    assert '"beat_schedule": beat_schedule(settings),' in (package / "celery_config.py").read_text()

    # The queue of each entry is the route's: queues.py is plain Python, loaded as it is.
    spec = importlib.util.spec_from_file_location("rendered_queues", package / "queues.py")
    assert spec is not None and spec.loader is not None
    queues = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, queues)  # its dataclass looks itself up there
    spec.loader.exec_module(queues)
    readme = (project / "README.md").read_text()
    for entry in schedule:
        queue = expected_queue(entry["task"])
        assert queues.queue_for(entry["task"]).name == queue
        when = f"cron `{entry['cron']}`" if "cron" in entry else f"every {entry['every']} s"
        assert f"| {entry['name']} | `{entry['task']}` | {when} | {queue} |" in readme
    assert "BEAT_LOCK_TIMEOUT" in readme and "dynamic_schedule add" in readme
    assert "BEAT_LOCK_TIMEOUT" in (project / ".env.example").read_text()


def test_celery_without_scheduling_has_no_schedule(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"scheduling": False})
    package = project / "src" / "jobs_service"
    assert not (package / "schedule.py").exists() and not (package / "dynamic_schedule.py").exists()
    assert "beat" not in (package / "celery_config.py").read_text()
    assert "BEAT_" not in (package / "settings.py").read_text().upper()
    assert "## Schedule" not in (project / "README.md").read_text()


def test_arq_cron_jobs_are_the_answers(template_repo: Path, tmp_path: Path) -> None:
    schedule = SCHEDULES["three-entries"]
    project = render(template_repo, tmp_path / "service", {"tool": "arq", "schedule": schedule})
    rendered = ast.literal_eval(assigned(project / "src" / "jobs_service" / "schedule.py", "SCHEDULE"))
    assert list(rendered) == as_tuples(schedule)


def test_temporal_schedules_are_the_answers(template_repo: Path, tmp_path: Path) -> None:
    schedule = SCHEDULES["three-entries"]
    project = render(template_repo, tmp_path / "service", {"tool": "temporal", "schedule": schedule})
    calls = assigned(project / "src" / "jobs_service" / "schedules.py", "SCHEDULES")
    assert isinstance(calls, ast.Tuple)
    rendered = []
    for call in calls.elts:
        assert isinstance(call, ast.Call)
        fields = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        rendered.append((fields["name"], fields["workflow"], fields.get("cron", fields.get("every_seconds"))))
    assert rendered == as_tuples(schedule)


@pytest.mark.parametrize("object_store", [True, False])
def test_temporal_sweeps_stored_payloads_on_a_schedule_only_with_the_object_store(
    template_repo: Path, tmp_path: Path, object_store: bool
) -> None:
    answers = {"tool": "temporal", "object_store": object_store}
    project = render(template_repo, tmp_path / "service", answers)
    package = project / "src" / "jobs_service"
    schedules = (package / "schedules.py").read_text()
    readme = (project / "README.md").read_text()
    assert (package / "payload_sweep.py").exists() == object_store
    assert (
        '"maintenance.sweep_objects": (SweepObjectsWorkflow' in (package / "workflows.py").read_text()
    ) == object_store
    assert ("def configured(settings: Settings)" in schedules) == object_store
    assert ("| sweep-objects | `maintenance.sweep_objects` |" in readme) == object_store
    assert ("PAYLOAD_EXPIRES=" in (project / ".env.example").read_text()) == object_store
    # The sweep's schedule is not an answer: SCHEDULES stays the answers'.
    calls = assigned(package / "schedules.py", "SCHEDULES")
    assert isinstance(calls, ast.Tuple) and len(calls.elts) == len(SCHEDULES["defaults"])
