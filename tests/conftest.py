from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # for `helpers`


class Result:
    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        self.code = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr


@pytest.fixture
def jobs_lint():
    """Run the installed `jobs-lint` command, as a user would."""
    executable = shutil.which("jobs-lint", path=os.path.dirname(sys.executable)) or "jobs-lint"

    def run(*args: str, cwd: Path | str | None = None, env: dict[str, str] | None = None) -> Result:
        completed = subprocess.run(
            [executable, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1", **(env or {})},
            timeout=120,
        )
        return Result(completed)

    return run


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture project in its own directory with a pyproject.toml."""
    target = tmp_path / "project"
    shutil.copytree(ROOT / "tests" / "fixtures", target)
    (target / "pyproject.toml").write_text("[project]\nname = 'sample'\nversion = '0'\n")
    return target
