"""Rendered projects install reproducibly: pinned checking tools, a uv.lock written by the first
`make install` and used by every later one, by the Dockerfile and by CI on every offered Python."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.rendering import OFFERED_PYTHONS, render, run

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CHECKING_TOOLS = {
    "ruff",
    "mypy",
    "pytest",
    "pytest-timeout",
    "pytest-xdist",
    "pytest-asyncio",
    "pre-commit",
    "celery-types",
}


@pytest.mark.parametrize("tool", ["celery", "arq", "temporal"])
def test_checking_tools_are_pinned(template_repo: Path, tmp_path: Path, tool: str) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": tool})
    dev = tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    tools = [requirement for requirement in dev if requirement.split("==")[0].split(">")[0] in CHECKING_TOOLS]
    assert {"ruff", "mypy", "pytest"} <= {requirement.split("==")[0] for requirement in tools}
    assert all("==" in requirement for requirement in tools), tools


@pytest.mark.parametrize("tool", ["celery", "temporal"])
@pytest.mark.parametrize("python_version", OFFERED_PYTHONS)
def test_ci_tests_every_offered_python_from_the_projects_on(
    template_repo: Path, tmp_path: Path, tool: str, python_version: str
) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": tool, "python_version": python_version})
    workflow: dict[Any, Any] = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["check"]
    expected = OFFERED_PYTHONS[OFFERED_PYTHONS.index(python_version) :]
    assert job["strategy"]["matrix"]["python-version"] == expected
    commands = [step.get("run", "") for step in job["steps"]]
    assert "uv sync --locked --extra dev" in commands
    dockerfile = (project / "Dockerfile").read_text()
    assert "COPY pyproject.toml uv.lock README.md ./" in dockerfile and "RUN uv sync --locked" in dockerfile


@pytest.mark.slow
def test_make_install_writes_the_lock_once_then_installs_from_it(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"api": False, "flower": False, "scheduling": False})
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHON": sys.executable}
    first = run(project, "make", "install", env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "no uv.lock: resolving the dependencies once; commit uv.lock" in first.stdout
    lock = (project / "uv.lock").read_text()
    assert 'name = "ruff"\nversion = "' in lock
    ruff = run(project, ".venv/bin/ruff", "--version")
    pinned = next(
        r
        for r in tomllib.loads((project / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
        if r.startswith("ruff==")
    )
    assert ruff.stdout.split()[1] == pinned.split("==")[1]

    again = run(project, "make", "install", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "no uv.lock" not in again.stdout and (project / "uv.lock").read_text() == lock

    # A dependency added to pyproject.toml without `uv lock`: the locked install refuses it.
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("dependencies = [\n", 'dependencies = [\n    "six",\n', 1))
    stale = run(project, "make", "install", env=env)
    assert stale.returncode != 0 and "lockfile" in (stale.stdout + stale.stderr).lower()
