"""Rendered projects pass their own checks: ruff, strict mypy, jobs-lint and their own test suite.

Static checks run over a covering set of answer combinations per tool (every pair of yes/no
choices appears together); the rendered test suites, which start real workers (and, for Temporal,
real Temporal servers), run for a few of them: three Celery combinations, one ARQ and one
Temporal. Each rendered project gets its own virtualenv from its own pyproject (ARQ pins redis<6,
which Celery 5.7 cannot share).

Every Python version the template offers is in each tool's static set, one row after another, and
each project is installed and checked on an interpreter of its own version (found on PATH or in
pyenv; when there is none the test is skipped, and fails in CI, REQUIRE_SERVICES=1). The test suites
run on this interpreter's version, and the minimal Celery one on the newest version offered.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import pytest

from tests.template.rendering import (
    OFFERED_PYTHONS,
    assert_static_checks_pass,
    assert_suite_passes,
    build_venv,
    interpreter,
    pairwise_rows,
    render,
)

pytestmark = pytest.mark.slow


HERE = ".".join(platform.python_version_tuple()[:2])


def interpreter_of(answers: dict[str, Any]) -> str:
    """An interpreter of the answers' Python version; skips the test without one (fails in CI)."""
    version = answers.get("python_version", HERE)
    found = interpreter(version)
    if found is None:
        reason = f"no Python {version} on this machine (a python{version} on PATH, or pyenv's)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return found


def with_pythons(answer_sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each answer set with the next offered Python version, round the list."""
    return [
        answers | {"python_version": OFFERED_PYTHONS[index % len(OFFERED_PYTHONS)]}
        for index, answers in enumerate(answer_sets)
    ]


# Each factor: (its "no" answers, its "yes" answers).
FACTORS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"broker": "redis"}, {"broker": "rabbitmq"}),
    ({"result_backend": "none"}, {"result_backend": "redis"}),
    ({"metrics": False}, {"metrics": True}),
    ({"flower": False}, {"flower": True}),
    ({"api": False}, {"api": True}),
    ({"scheduling": False}, {"scheduling": True}),
    # Kubernetes runs the Dockerfile's image: its manifests come with it.
    ({"docker": False}, {"docker": True, "kubernetes": True}),
    ({"ci": False}, {"ci": True}),
    ({"object_store": False}, {"object_store": True}),
]
QUORUM_QUEUES = [
    {"name": "critical", "priority": 9, "prefetch": 1, "concurrency": 2, "quorum": True},
    {"name": "default", "priority": 5, "prefetch": 4, "concurrency": 2},
    {"name": "bulk", "priority": 1, "prefetch": 8, "concurrency": 1},
]
# Temporal's default queues, bulk with a per-worker rate (worker_activities_per_second).
TEMPORAL_PER_WORKER_RATE_QUEUES = [
    {"name": "critical", "priority": 9, "prefetch": 1, "concurrency": 2},
    {"name": "high", "priority": 7, "prefetch": 1, "concurrency": 2},
    {"name": "default", "priority": 5, "prefetch": 4, "concurrency": 2},
    {"name": "low", "priority": 3, "prefetch": 4, "concurrency": 1},
    {"name": "bulk", "priority": 1, "prefetch": 16, "concurrency": 4, "worker_activities_per_second": 40},
]


def answers_for(row: tuple[bool, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for (no, yes), chosen in zip(FACTORS, row, strict=True):
        answers |= yes if chosen else no
    if answers["broker"] == "rabbitmq":
        answers["queues"] = QUORUM_QUEUES
        answers["task_routes"] = [
            {"pattern": "billing.*", "queue": "critical"},
            {"pattern": "reports.*", "queue": "bulk"},
        ]
    return answers


STATIC = with_pythons([answers_for(row) for row in pairwise_rows(len(FACTORS))])

TEMPORAL_FACTORS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"metrics": False}, {"metrics": True}),
    ({"api": False}, {"api": True}),
    ({"scheduling": False}, {"scheduling": True}),
    ({"docker": False}, {"docker": True, "kubernetes": True}),
    ({"ci": False}, {"ci": True}),
    ({"shared_rate_limits": {}}, {"shared_rate_limits": {"partner_api": "10/s"}}),
    ({"object_store": False}, {"object_store": True}),
]


def temporal_answers_for(row: tuple[bool, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = {"tool": "temporal"}
    for (no, yes), chosen in zip(TEMPORAL_FACTORS, row, strict=True):
        answers |= yes if chosen else no
    return answers


TEMPORAL_EVERYTHING_ON = temporal_answers_for(tuple([True] * len(TEMPORAL_FACTORS))) | {"python_version": HERE}
# The full suite checks the everything-on project too: the static set leaves it out.
TEMPORAL_STATIC = with_pythons(
    [
        answers
        for answers in map(temporal_answers_for, pairwise_rows(len(TEMPORAL_FACTORS)))
        if answers | {"python_version": HERE} != TEMPORAL_EVERYTHING_ON
    ]
)
EVERYTHING_ON = answers_for(tuple([False] + [True] * (len(FACTORS) - 1))) | {"python_version": HERE}
FULL_SUITES = {
    "redis-everything-on": EVERYTHING_ON,
    "rabbitmq": {**EVERYTHING_ON, **answers_for(tuple([True] * len(FACTORS)))},
    "minimal": answers_for(tuple([False] * len(FACTORS))) | {"python_version": OFFERED_PYTHONS[-1]},
    # A rate-limited queue and a per-worker rate too: the project's own tests check its Workers
    # get the answers' rates and hold the per-worker one.
    "temporal-everything-on": {
        **TEMPORAL_EVERYTHING_ON,
        "task_queue_rate_limits": {"bulk": 50},
        "queues": TEMPORAL_PER_WORKER_RATE_QUEUES,
    },
}


def label(answers: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in answers.items() if key not in {"queues", "task_routes"})


@pytest.mark.parametrize("factors", [len(FACTORS), len(TEMPORAL_FACTORS)])
def test_static_set_covers_every_pair_of_choices(factors: int) -> None:
    rows = pairwise_rows(factors)
    for first in range(factors):
        for second in range(first + 1, factors):
            assert {(row[first], row[second]) for row in rows} == {
                (False, False),
                (False, True),
                (True, False),
                (True, True),
            }


@pytest.mark.parametrize(
    "answers", STATIC + TEMPORAL_STATIC, ids=[label(answers) for answers in STATIC + TEMPORAL_STATIC]
)
def test_rendered_project_passes_its_static_checks(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    assert_static_checks_pass(project, build_venv(project, interpreter_of(answers)))


@pytest.mark.parametrize("answers", FULL_SUITES.values(), ids=FULL_SUITES.keys())
def test_rendered_project_passes_its_own_test_suite(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    bin_dir = build_venv(project, interpreter_of(answers), for_suite=True)
    assert_static_checks_pass(project, bin_dir)
    assert_suite_passes(project, bin_dir)


# ARQ: the yes/no choices that change Python code (docker, kubernetes and ci only add YAML files
# and are rendered in the full suite). Each choice alone, plus every choice at once in the full suite,
# shows every pair of choices in all four combinations.
ARQ_FACTORS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"metrics": False}, {"metrics": True}),
    ({"api": False}, {"api": True}),
    ({"scheduling": False}, {"scheduling": True}),
    ({"database": "none"}, {"database": "postgresql"}),
    ({"object_store": False}, {"object_store": True}),
]
ARQ_STATIC_ROWS = [tuple(column == alone for column in range(len(ARQ_FACTORS))) for alone in range(len(ARQ_FACTORS))]
ARQ_FULL_ROW = (True,) * len(ARQ_FACTORS)


def arq_answers_for(row: tuple[bool, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = {"tool": "arq"}
    for (no, yes), chosen in zip(ARQ_FACTORS, row, strict=True):
        answers |= yes if chosen else no
    return answers


ARQ_STATIC = with_pythons([arq_answers_for(row) | {"docker": False, "ci": False} for row in ARQ_STATIC_ROWS])
ARQ_EVERYTHING_ON = arq_answers_for(ARQ_FULL_ROW) | {
    "docker": True,
    "kubernetes": True,
    "ci": True,
    "python_version": HERE,
}


def test_arq_static_set_and_full_suite_cover_every_pair_of_choices() -> None:
    rows = [*ARQ_STATIC_ROWS, ARQ_FULL_ROW]
    for first in range(len(ARQ_FACTORS)):
        for second in range(first + 1, len(ARQ_FACTORS)):
            assert {(row[first], row[second]) for row in rows} == {
                (False, False),
                (False, True),
                (True, False),
                (True, True),
            }


@pytest.mark.parametrize("answers", ARQ_STATIC, ids=[label(answers) for answers in ARQ_STATIC])
def test_rendered_arq_project_passes_its_static_checks(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    assert_static_checks_pass(project, build_venv(project, interpreter_of(answers)))


def test_rendered_arq_project_passes_its_own_test_suite(template_repo: Path, tmp_path: Path) -> None:
    """ARQ pins redis<6, so the project has its own environment (Celery 5.7 needs redis>=6.4)."""
    project = render(template_repo, tmp_path / "service", ARQ_EVERYTHING_ON)
    bin_dir = build_venv(project, interpreter_of(ARQ_EVERYTHING_ON), for_suite=True)
    assert_static_checks_pass(project, bin_dir)
    assert_suite_passes(project, bin_dir)


@pytest.mark.parametrize("static_set", [STATIC, TEMPORAL_STATIC, ARQ_STATIC], ids=["celery", "temporal", "arq"])
def test_static_set_covers_every_offered_python(static_set: list[dict[str, Any]]) -> None:
    assert {answers["python_version"] for answers in static_set} == set(OFFERED_PYTHONS)
