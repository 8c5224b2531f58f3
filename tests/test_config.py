"""Configuration: a value of the wrong type is a one-line error naming the key and the type it
takes, and each file follows the nearest pyproject.toml above it, as in ruff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

PICKLE_APP = "from celery import Celery\napp = Celery('proj', task_serializer='pickle')\n"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[tool.jobs-lint]\nper-file-ignores = {"x.py" = 3}',
            '`per-file-ignores."x.py"` in {path} must be an array of strings, not an integer',
        ),
        (
            '[tool.jobs-lint]\nper-file-ignores = {"x.py" = "JL101"}',
            '`per-file-ignores."x.py"` in {path} must be an array of strings, not a string',
        ),
        (
            "[tool.jobs-lint]\nper-file-ignores = ['JL101']",
            "`per-file-ignores` in {path} must be a table of patterns to arrays of rule codes, not an array",
        ),
        ("[tool]\njobs-lint = 5", "`tool.jobs-lint` in {path} must be a table, not an integer"),
        ("tool = 'x'", "`tool` in {path} must be a table, not a string"),
        ("[tool.jobs-lint]\nselect = 'JL101'", "`select` in {path} must be an array of strings, not a string"),
        ("[tool.jobs-lint]\nignore = [101]", "`ignore` in {path} must be an array of strings, not an array holding"),
        ("[tool.jobs-lint]\nfix = 'yes'", "`fix` in {path} must be a boolean, not a string"),
        ("[tool.jobs-lint]\ncache-dir = true", "`cache-dir` in {path} must be a string, not a boolean"),
    ],
)
def test_a_value_of_the_wrong_type_is_a_configuration_error(jobs_lint, tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml + "\n")
    (tmp_path / "app.py").write_text(PICKLE_APP)
    result = jobs_lint(".", cwd=tmp_path)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"jobs-lint: error: {message.format(path=tmp_path / 'pyproject.toml')}")
    assert len(result.err.splitlines()) == 1 and "Traceback" not in result.err


def _two_projects(root: Path) -> None:
    """A monorepo: `billing` selects JL101 only, `reports` ignores it, the root selects everything."""
    (root / ".git").mkdir()
    (root / "pyproject.toml").write_text("[tool.jobs-lint]\nselect = ['ALL']\n")
    (root / "top.py").write_text(PICKLE_APP)
    for name, table in (("billing", "select = ['JL101']"), ("reports", "ignore = ['JL101']")):
        (root / name / "src").mkdir(parents=True)
        (root / name / "pyproject.toml").write_text(f"[project]\nname = '{name}'\n\n[tool.jobs-lint]\n{table}\n")
        (root / name / "src" / "app.py").write_text(PICKLE_APP)
    # A pyproject.toml without [tool.jobs-lint] is passed over, as ruff does.
    (root / "reports" / "src" / "pyproject.toml").write_text("[project]\nname = 'inner'\n")


def _codes(out: str, cwd: Path) -> set[tuple[str, str]]:
    return {(Path(os.path.relpath(e["filename"], cwd)).as_posix(), e["code"]) for e in json.loads(out)}


def test_each_file_follows_the_nearest_configuration(jobs_lint, tmp_path: Path) -> None:
    _two_projects(tmp_path)
    everything = _codes(jobs_lint(".", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {(path, code) for path, code in everything if code == "JL101"} == {
        ("top.py", "JL101"),
        ("billing/src/app.py", "JL101"),
    }
    assert {code for path, code in everything if path == "billing/src/app.py"} == {"JL101"}
    assert {code for path, code in everything if path == "reports/src/app.py"} == {"JL105"}
    assert {code for path, code in everything if path == "top.py"} == {"JL101", "JL105"}
    # The same from inside a sub-project, and for files named one by one (pre-commit).
    inside = _codes(
        jobs_lint("src", "../top.py", "--output-format", "json", cwd=tmp_path / "billing").out, tmp_path / "billing"
    )
    assert inside == {("src/app.py", "JL101"), ("../top.py", "JL101"), ("../top.py", "JL105")}
    named = _codes(jobs_lint("reports/src/app.py", "top.py", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {code for path, code in named if path == "reports/src/app.py"} == {"JL105"}
    # Flags apply to every file, over each one's configuration.
    flagged = _codes(jobs_lint(".", "--select", "JL105", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {code for _, code in flagged} == {"JL105"} and len(flagged) == 3
    # --config names one configuration for every file.
    config = tmp_path / "billing" / "pyproject.toml"
    single = _codes(jobs_lint(".", "--config", str(config), "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {code for _, code in single} == {"JL101"} and len(single) == 3


def test_a_changed_sub_project_configuration_is_not_hidden_by_the_cache(jobs_lint, tmp_path: Path) -> None:
    _two_projects(tmp_path)
    first = _codes(jobs_lint(".", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert ("reports/src/app.py", "JL101") not in first
    (tmp_path / "reports" / "pyproject.toml").write_text("[tool.jobs-lint]\nselect = ['JL101']\n")
    second = _codes(jobs_lint(".", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {code for path, code in second if path == "reports/src/app.py"} == {"JL101"}


def test_a_sub_project_excludes_paths_relative_to_itself(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.jobs-lint]\nextend-exclude = ['legacy/']\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text("[tool.jobs-lint]\nextend-exclude = ['generated/']\n")
    for directory in (tmp_path / "legacy", sub / "generated", sub / "src"):
        directory.mkdir()
        (directory / "app.py").write_text(PICKLE_APP)
    (tmp_path / "generated").mkdir()  # the sub-project's pattern is relative to the sub-project
    (tmp_path / "generated" / "app.py").write_text(PICKLE_APP)
    for _ in range(2):  # the second run reuses the remembered walk
        found = _codes(jobs_lint(".", "--output-format", "json", cwd=tmp_path).out, tmp_path)
        assert {path for path, _ in found} == {"sub/src/app.py", "generated/app.py"}
    shown = jobs_lint("--show-files", ".", cwd=tmp_path).out.split()
    assert shown == [str(tmp_path / "generated" / "app.py"), str(sub / "src" / "app.py")]
    # From inside the sub-project, its configuration is the top one.
    inside = _codes(jobs_lint(".", "--output-format", "json", cwd=sub).out, sub)
    assert {path for path, _ in inside} == {"src/app.py"}
    # A changed exclude is not hidden by the remembered walk.
    (sub / "pyproject.toml").write_text("[tool.jobs-lint]\nselect = ['JL101']\n")
    found = _codes(jobs_lint(".", "--output-format", "json", cwd=tmp_path).out, tmp_path)
    assert {path for path, _ in found} == {"sub/src/app.py", "sub/generated/app.py", "generated/app.py"}


@pytest.mark.parametrize("marker", ["", ".git"])
def test_a_broken_sibling_configuration_does_not_fail_a_run_that_checks_none_of_its_files(
    jobs_lint, tmp_path: Path, marker: str
) -> None:
    """As in ruff, a sub-project's pyproject.toml is read for the files it governs; checking
    another directory neither fails on it nor (without a project root) walks the working directory."""
    if marker:
        (tmp_path / marker).mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "tasks.py").write_text(PICKLE_APP)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "pyproject.toml").write_text("[tool.jobs-lint]\nbogus = 1\n")
    result = jobs_lint("app", "--select", "JL101", "--output-format", "json", cwd=tmp_path)
    assert result.code == 1, result.err
    found = [
        (os.path.relpath(d["filename"], tmp_path), d["location"]["row"], d["code"]) for d in json.loads(result.out)
    ]
    assert found == [(os.path.join("app", "tasks.py"), 2, "JL101")]
    # Checking the broken sub-project itself, or the tree holding it, still refuses it.
    for target in ("other", "."):
        refused = jobs_lint(target, cwd=tmp_path)
        assert refused.code == 2 and "Unknown key `bogus`" in refused.err, target
