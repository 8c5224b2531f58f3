"""Rendered projects pass their own checks: ruff, strict mypy, jobs-lint and their own test suite.

Static checks run over a covering set of answer combinations (every pair of yes/no choices
appears together); the rendered test suites, which start real workers, run for three of them.
Each rendered project gets its own virtualenv from its own pyproject.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.template.rendering import (
    assert_static_checks_pass,
    assert_suite_passes,
    build_venv,
    pairwise_rows,
    render,
)

pytestmark = pytest.mark.slow

# Each factor: (its "no" answers, its "yes" answers).
FACTORS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"broker": "redis"}, {"broker": "rabbitmq"}),
    ({"result_backend": "none"}, {"result_backend": "redis"}),
    ({"metrics": False}, {"metrics": True}),
    ({"flower": False}, {"flower": True}),
    ({"api": False}, {"api": True}),
    ({"scheduling": False}, {"scheduling": True}),
    ({"docker": False}, {"docker": True}),
    ({"ci": False}, {"ci": True}),
    ({"python_version": "3.10"}, {"python_version": "3.11"}),
]
QUORUM_QUEUES = [
    {"name": "critical", "priority": 9, "prefetch": 1, "concurrency": 2, "quorum": True},
    {"name": "default", "priority": 5, "prefetch": 4, "concurrency": 2},
    {"name": "bulk", "priority": 1, "prefetch": 8, "concurrency": 1},
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


STATIC = [answers_for(row) for row in pairwise_rows(len(FACTORS))]
EVERYTHING_ON = answers_for(tuple([False] + [True] * (len(FACTORS) - 1)))
FULL_SUITES = {
    "redis-everything-on": EVERYTHING_ON,
    "rabbitmq": {**EVERYTHING_ON, **answers_for(tuple([True] + [True] * (len(FACTORS) - 1)))},
    "minimal": answers_for(tuple([False] * (len(FACTORS) - 1) + [True])),
}


def label(answers: dict[str, Any]) -> str:
    return "-".join(
        f"{key}={value}" for key, value in answers.items() if key not in {"queues", "task_routes"}
    )


def test_static_set_covers_every_pair_of_choices() -> None:
    rows = pairwise_rows(len(FACTORS))
    for first in range(len(FACTORS)):
        for second in range(first + 1, len(FACTORS)):
            assert {(row[first], row[second]) for row in rows} == {
                (False, False),
                (False, True),
                (True, False),
                (True, True),
            }


@pytest.mark.parametrize("answers", STATIC, ids=[label(answers) for answers in STATIC])
def test_rendered_project_passes_its_static_checks(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    assert_static_checks_pass(project, build_venv(project))


@pytest.mark.parametrize("answers", FULL_SUITES.values(), ids=FULL_SUITES.keys())
def test_rendered_project_passes_its_own_test_suite(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    project = render(template_repo, tmp_path / "service", answers)
    bin_dir = build_venv(project)
    assert_static_checks_pass(project, bin_dir)
    assert_suite_passes(project, bin_dir)
