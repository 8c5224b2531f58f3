"""The Temporal task queue rate limits answer: refused with its reason when invalid, rendered
into the project's task queues when valid, and not asked of the other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.rendering import render

REFUSED: list[tuple[Any, str]] = [
    ({"nowhere": 5}, 'rate limit for "nowhere", which is not one of the queues (critical, high, default, low, bulk)'),
    ({"bulk": 0}, 'rate limit of queue "bulk" must be a positive number of activities per second, got 0'),
    ({"bulk": -2.5}, "must be a positive number of activities per second, got -2.5"),
    ({"bulk": "fast"}, "must be a positive number of activities per second, got fast"),
    ({"bulk": True}, "must be a positive number of activities per second, got True"),
    ([5], "task_queue_rate_limits must be a mapping {queue name: activities per second}"),
]


@pytest.mark.parametrize(("limits", "reason"), REFUSED, ids=[str(limits) for limits, _ in REFUSED])
def test_bad_rate_limit_is_refused_with_its_reason(
    template_repo: Path, tmp_path: Path, limits: Any, reason: str
) -> None:
    answers = {"tool": "temporal", "task_queue_rate_limits": limits}
    with pytest.raises(ValueError, match="Validation error for question 'task_queue_rate_limits'") as refused:
        render(template_repo, tmp_path / "refused", answers)
    assert reason in str(refused.value)


def test_rate_limits_reach_the_task_queues(template_repo: Path, tmp_path: Path) -> None:
    limits = {"bulk": 2.5, "critical": 20}
    project = render(template_repo, tmp_path / "service", {"tool": "temporal", "task_queue_rate_limits": limits})
    queues = (project / "src" / "jobs_service" / "queues.py").read_text()
    assert 'TaskQueueSpec(name="bulk", concurrency=4, activities_per_second=2.5),' in queues
    assert 'TaskQueueSpec(name="critical", concurrency=2, activities_per_second=20.0),' in queues
    assert 'TaskQueueSpec(name="default", concurrency=2),' in queues
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["task_queue_rate_limits"] == limits
    assert "| bulk | 4 | 2.5 per second |" in (project / "README.md").read_text()


def test_other_tools_are_not_asked(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": "arq"})
    assert "task_queue_rate_limits" not in (project / ".copier-answers.yml").read_text()


REFUSED_PER_WORKER: list[tuple[str, Any, str]] = [
    (
        "temporal",
        0,
        'queue "bulk" worker_activities_per_second must be a positive number of activities per second, got 0',
    ),
    ("temporal", "fast", "worker_activities_per_second must be a positive number of activities per second, got fast"),
    ("temporal", True, "worker_activities_per_second must be a positive number of activities per second, got True"),
    ("arq", 5, 'queue "bulk" sets worker_activities_per_second, which only Temporal workers have'),
    ("celery", 5, 'queue "bulk" sets worker_activities_per_second, which only Temporal workers have'),
]


@pytest.mark.parametrize(
    ("tool", "rate", "reason"), REFUSED_PER_WORKER, ids=[f"{t}-{r}" for t, r, _ in REFUSED_PER_WORKER]
)
def test_bad_per_worker_rate_is_refused_with_its_reason(
    template_repo: Path, tmp_path: Path, tool: str, rate: Any, reason: str
) -> None:
    queues = [
        {"name": "default", "concurrency": 2},
        {"name": "bulk", "concurrency": 4, "worker_activities_per_second": rate},
    ]
    answers = {"tool": tool, "queues": queues, "task_routes": []}
    with pytest.raises(ValueError, match="Validation error for question 'queues'") as refused:
        render(template_repo, tmp_path / "refused", answers)
    assert reason in str(refused.value)


def test_per_worker_rate_reaches_the_workers(template_repo: Path, tmp_path: Path) -> None:
    queues = [
        {"name": "default", "concurrency": 2},
        {"name": "bulk", "concurrency": 4, "worker_activities_per_second": 3},
    ]
    answers = {"tool": "temporal", "queues": queues, "task_routes": [{"pattern": "maintenance.*", "queue": "bulk"}]}
    project = render(template_repo, tmp_path / "service", answers)
    queues_py = (project / "src" / "jobs_service" / "queues.py").read_text()
    assert 'TaskQueueSpec(name="bulk", concurrency=4, worker_activities_per_second=3.0),' in queues_py
    assert 'TaskQueueSpec(name="default", concurrency=2),' in queues_py
    worker_py = (project / "src" / "jobs_service" / "worker.py").read_text()
    assert "max_activities_per_second=spec.worker_activities_per_second," in worker_py
    assert "disable_eager_activity_execution=spec.worker_activities_per_second is not None," in worker_py


def test_without_per_worker_rates_the_workers_have_none(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": "temporal"})
    assert "worker_activities_per_second" not in (project / "src" / "jobs_service" / "worker.py").read_text()
    assert "worker_activities_per_second" not in (project / "src" / "jobs_service" / "queues.py").read_text()
