"""The longest valid names render a project whose ruff check, ruff format --check and jobs-lint
find nothing, and Kubernetes names at their limit of 63 characters validate.

Names land in docstrings, comments, imports, command lines and literals; at their maximum length
(package name and slug 40 characters, queue and rate limit names 40) every line must still fit
the rendered project's line length and be as `ruff format` writes it. One project per tool and
broker, with every optional feature on but Kubernetes, which changes no Python file and refuses
a slug and queue name that long together (a worker's name would pass 63 characters). Ruff runs at
the version the rendered project pins, in a virtualenv of its own; mypy does not look at line
lengths and is left to the matrix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.template.kubernetes_agreement import check_manifests
from tests.template.rendering import render, run, uv

pytestmark = pytest.mark.slow

# A package name that sorts after "tests", whose imports isort must still put before the tests' own.
PACKAGE = "z" * 20 + "_" + "y" * 19
SLUG = "c" * 20 + "-" + "d" * 19
# Queue names at their maximum, with both separators (Kubernetes names them with "-" for "_").
QUEUES = ["critical_" + "x" * 31, "high-" + "y" * 35, "default", "low_" + "z" * 36, "bulk-" + "w" * 35]
# Route patterns have no maximum length: one that is long.
ROUTES = ["billing.*", "reports.*", "maintenance.*", "pipeline." + "stage_" * 16 + "*", "demo.*"]
LONG_CRON = "0-29/10,45 0-6,22-23 1,15,31 jan-mar,JUN,dec mon-fri"
LONG_LIMIT_NAME = "partner_api_" + "q" * 28


def longest_answers(tool: str, broker: str = "redis") -> dict[str, Any]:
    queues: list[dict[str, Any]] = []
    for name in QUEUES:
        queue: dict[str, Any] = {"name": name, "concurrency": 64}
        if tool != "arq":
            queue |= {"priority": 9, "prefetch": 100}
        if tool == "temporal":
            queue["worker_activities_per_second"] = 12345.678
        if broker == "rabbitmq" and name != "default":
            queue["quorum"] = True
        queues.append(queue)
    routes: list[dict[str, Any]] = [
        {"pattern": pattern, "queue": queue} for pattern, queue in zip(ROUTES, QUEUES, strict=True)
    ]
    if tool == "celery":
        for route in routes:
            route["rate_limit"] = "123456.75/m"
    answers: dict[str, Any] = {
        "tool": tool,
        "project_name": "A Very Long Project Name For Background Jobs " * 4,
        "project_slug": SLUG,
        "package_name": PACKAGE,
        "description": "Background jobs, described at length " * 4,
        "author_name": "The Platform Team Of A Long Organisation Name",
        "author_email": "platform.team.with.a.long.address@example-organisation.com",
        "queues": queues,
        "task_routes": routes,
        "scheduling": True,
        "schedule": [
            {"name": "trim-dead-letters-" + "e" * 62, "task": "maintenance.trim_dead_letters", "cron": LONG_CRON},
            {"name": "heartbeat_" + "f" * 70, "task": "maintenance.heartbeat", "every": 86_400},
            {"name": "rebuild-index", "task": "reports.rebuild_index", "every": 86_400},
        ],
        "metrics": True,
        "queue_alert_threshold": {name: 900 for name in QUEUES},
        "api": True,
        "docker": True,
        "kubernetes": False,
        "ci": True,
        "object_store": True,
        "object_store_threshold": 67_108_864,
    }
    if tool == "celery":
        answers |= {"broker": broker, "result_backend": "redis", "flower": True}
    if tool == "arq":
        answers["database"] = "postgresql"
    if tool == "temporal":
        answers |= {
            "task_queue_rate_limits": {name: 12345.678 for name in QUEUES},
            "shared_rate_limits": {LONG_LIMIT_NAME: "123456.75/h", "b" * 40: "1/s"},
        }
    return answers


def without_features(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers with every optional feature off: some lines are only rendered then."""
    off = {
        "scheduling": False,
        "metrics": False,
        "api": False,
        "docker": False,
        "ci": False,
        "object_store": False,
        "flower": False,
        "result_backend": "none",
        "database": "none",
        "shared_rate_limits": {},
    }
    return answers | {key: value for key, value in off.items() if key in answers}


VARIANTS = {
    "celery-redis": longest_answers("celery"),
    "celery-rabbitmq": longest_answers("celery", "rabbitmq"),
    "arq": longest_answers("arq"),
    "temporal": longest_answers("temporal"),
    "celery-redis-no-features": without_features(longest_answers("celery")),
    "arq-no-features": without_features(longest_answers("arq")),
    "temporal-no-features": without_features(longest_answers("temporal")),
}


@pytest.fixture(scope="module")
def pinned_ruff(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ruff at the version the rendered projects pin (the same in every tool's pyproject)."""
    pins = {
        match
        for tool in ("celery", "arq", "temporal")
        for match in re.findall(
            r'"(ruff==[^"]+)"', (template_repo / "template" / tool / "pyproject.toml.jinja").read_text()
        )
    }
    assert len(pins) == 1, pins
    venv = tmp_path_factory.mktemp("ruff") / ".venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run([uv(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *pins], check=True, env=env)
    return venv / "bin" / "ruff"


def assert_lines_fit_and_format(project: Path, ruff: Path) -> None:
    checked = run(project, str(ruff), "check", "--no-cache", "src", "tests", "scripts")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = run(project, str(ruff), "format", "--no-cache", "--diff", ".")
    assert formatted.returncode == 0, formatted.stdout[-6000:] + formatted.stderr
    jobs_lint = Path(sys.executable).parent / "jobs-lint"
    linted = run(project, str(jobs_lint), "src", "tests", "scripts")
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize("answers", list(VARIANTS.values()), ids=list(VARIANTS))
def test_longest_names_render_a_project_whose_lines_fit_and_are_formatted(
    template_repo: Path, pinned_ruff: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    assert_lines_fit_and_format(project, pinned_ruff)


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        ({"package_name": "a" * 41}, 'The package name "' + "a" * 41 + '" is longer than 40 characters'),
        ({"project_slug": "a" * 41}, 'The slug "' + "a" * 41 + '" is longer than 40 characters'),
    ],
    ids=["package_name", "project_slug"],
)
def test_names_over_the_maximum_are_refused(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=r"^Validation error for question '[a-z_]+': .") as refused:
        render(template_repo, tmp_path / "service", {**longest_answers("celery"), **answers})
    assert reason in str(refused.value), str(refused.value)


def test_kubernetes_names_of_63_characters_validate(template_repo: Path, tmp_path: Path) -> None:
    """A 40-character slug leaves 15 characters for a queue: its worker's name has 63."""
    queues = [{"name": "default", "concurrency": 1}, {"name": "bulk_" + "w" * 10, "concurrency": 1}]
    answers = {"tool": "celery", "project_slug": SLUG, "package_name": PACKAGE, "kubernetes": True, "queues": queues}
    project = render(template_repo, tmp_path / "service", answers)
    worker = f"{SLUG}-worker-bulk-{'w' * 10}"
    assert len(worker) == 63
    assert f"  name: {worker}\n" in (project / "deploy" / "kubernetes" / f"worker-bulk_{'w' * 10}.yaml").read_text()
    check_manifests(project, answers)
