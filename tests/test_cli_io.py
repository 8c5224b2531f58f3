"""Where the command line reads and writes: standard input, output files, what it would do
(`--show-settings`, `--show-files`), statistics as JSON, and the rule URLs in its reports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Result

from jobs_lint.rules import RULES
from jobs_lint.rules.docs import RULES_PAGE, rule_url

VIEWS = """from proj.celery import app


def go():
    app.send_task("proj.tasks.fetch", args=("x",))
    app.send_task("proj.tasks.fetchh", args=("x",))
"""


@pytest.fixture
def piped():
    """Run the installed `jobs-lint` with text on its standard input, as an editor pipes it."""
    executable = shutil.which("jobs-lint", path=os.path.dirname(sys.executable)) or "jobs-lint"

    def run(text: str, *args: str, cwd: Path) -> Result:
        completed = subprocess.run(
            [executable, *args],
            input=text,
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=120,
        )
        return Result(completed)

    return run


def test_stdin_is_checked_as_the_named_file(piped, project: Path) -> None:
    text = (project / "proj" / "reports.py").read_text()
    result = piped(text, "-", "--stdin-filename", "proj/reports.py", cwd=project)
    assert result.code == 1
    assert result.out.startswith("proj/reports.py:7:45: JL101 [*] `apply_async` sends this message with pickle")
    assert "Found 1 error." in result.out


def test_stdin_uses_the_project_index(piped, project: Path) -> None:
    """A file that exists only on standard input is checked against the tasks the project defines."""
    result = piped(VIEWS, "check", "--output-format", "concise", "--stdin-filename", "proj/views.py", cwd=project)
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        "proj/views.py:6:19: JL111 `send_task()` names `proj.tasks.fetchh`,"
        " which no task of the project is registered under"
    )
    assert not (project / "proj" / "views.py").exists()


def test_stdin_fix_prints_the_fixed_text(piped, project: Path) -> None:
    before = (project / "proj" / "reports.py").read_text()
    result = piped(before, "--fix", "-", "--stdin-filename", "proj/reports.py", cwd=project)
    assert result.code == 0
    assert result.out == before.replace('serializer="pickle"', 'serializer="json"')
    assert "Found 1 error (1 fixed, 0 remaining)." in result.err
    assert (project / "proj" / "reports.py").read_text() == before  # the file is left alone

    result = piped(before, "--diff", "-", "--stdin-filename", "proj/reports.py", cwd=project)
    assert result.code == 1
    assert '-    fetch.apply_async((report,), serializer="pickle")' in result.out
    assert '+    fetch.apply_async((report,), serializer="json")' in result.out


def test_stdin_takes_the_settings_nearest_its_name(piped, project: Path) -> None:
    sub = project / "service"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.jobs-lint]\nignore = ["JL101"]\n')
    text = (project / "proj" / "reports.py").read_text()
    assert piped(text, "-", "--stdin-filename", "service/reports.py", cwd=project).code == 0
    assert piped(text, "-", "--stdin-filename", "proj/reports.py", cwd=project).code == 1


def test_stdin_with_other_paths_is_refused(piped, project: Path) -> None:
    result = piped("x = 1\n", "-", "proj", cwd=project)
    assert (result.code, result.err) == (
        2,
        "jobs-lint: error: `-` (standard input) cannot be combined with other paths\n",
    )


def test_output_file(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "json", "-o", "reports/jobs-lint.json", cwd=project)
    assert (result.code, result.out) == (1, "")
    entries = json.loads((project / "reports" / "jobs-lint.json").read_text())
    assert len(entries) == 5
    (project / "taken").write_text("")
    result = jobs_lint(".", "--output-file", "taken/out.txt", cwd=project)
    assert result.code == 2
    assert result.err.startswith("jobs-lint: error: Cannot write the output file taken/out.txt: ")
    assert len(result.err.splitlines()) == 1


def test_show_settings(jobs_lint, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.jobs-lint]\nselect = ["JL1"]\nextend-exclude = ["legacy"]\n')
    result = jobs_lint("--show-settings", "--ignore", "JL102", ".", cwd=project)
    assert result.code == 0
    lines = result.out.splitlines()
    assert f"Settings path: {project / 'pyproject.toml'}" in lines
    assert f"Project root: {project}" in lines
    assert 'select = ["JL1"]' in lines
    assert 'ignore = ["JL102"]' in lines
    assert 'extend-exclude = ["legacy"]' in lines
    assert "  JL101 pickle-serializer" in lines
    assert "  JL102 result-wait-in-task" not in lines
    assert "  JL301 arq-pickle-by-default" not in lines


def test_show_files(jobs_lint, project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text("x = 1\n")
    (project / ".gitignore").write_text("proj/settings.py\n")
    result = jobs_lint("--show-files", "--extend-exclude", "legacy", ".", cwd=project)
    assert result.code == 0
    assert result.out.splitlines() == [
        str(project / "proj" / name) for name in ("__init__.py", "celery.py", "reports.py", "tasks.py")
    ]


def test_statistics_as_json(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--statistics", "--output-format", "json", cwd=project)
    assert result.code == 1
    assert json.loads(result.out) == [
        {"code": "JL101", "name": "pickle-serializer", "count": 3, "fixable": True},
        {"code": "JL102", "name": "result-wait-in-task", "count": 2, "fixable": False},
    ]


def test_fixable_findings_are_marked(jobs_lint, project: Path) -> None:
    result = jobs_lint(".", "--output-format", "concise", cwd=project)
    lines = [line for line in result.out.splitlines() if ": JL" in line]
    assert all(": JL101 [*] " in line for line in lines if "JL101" in line)
    assert all(": JL102 " in line and "[*]" not in line for line in lines if "JL102" in line)
    # An unsafe fix is marked only when --unsafe-fixes would apply it.
    (project / "jobs.py").write_text(
        "import time\n\nasync def job(ctx):\n    time.sleep(1)\n\n\nclass WorkerSettings:\n    functions = [job]\n"
    )
    concise = ("--output-format", "concise", "--select", "JL302", "jobs.py")
    assert "jobs.py:4:5: JL302 Async job `job` blocks" in jobs_lint(*concise, cwd=project).out
    assert "jobs.py:4:5: JL302 [*] Async job `job` blocks" in jobs_lint(*concise, "--unsafe-fixes", cwd=project).out


def test_json_and_sarif_carry_the_rule_url(jobs_lint, project: Path) -> None:
    entries = json.loads(jobs_lint(".", "--output-format", "json", cwd=project).out)
    pickle = next(e for e in entries if e["code"] == "JL101")
    assert pickle["url"] == f"{RULES_PAGE}#pickle-serializer-jl101"
    assert pickle["severity"] == "error"
    sarif = json.loads(jobs_lint(".", "--output-format", "sarif", cwd=project).out)
    rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["JL102"]["helpUri"] == f"{RULES_PAGE}#result-wait-in-task-jl102"


def test_rule_urls_point_at_headings_of_the_rules_page() -> None:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    page = (ROOT / "docs" / "rules.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^## (.+)$", page, re.MULTILINE)
    }
    for rule in RULES.values():
        url = rule_url(rule)
        assert url.startswith(RULES_PAGE + "#")
        assert url.partition("#")[2] in anchors, rule.code


def test_stdin_of_an_excluded_file_with_force_exclude(piped, project: Path) -> None:
    """As pre-commit and editors run it: an excluded name is not checked, and --fix echoes the text."""
    text = (project / "proj" / "reports.py").read_text()
    args = ("--force-exclude", "--extend-exclude", "proj/reports.py", "-", "--stdin-filename", "proj/reports.py")
    result = piped(text, *args, cwd=project)
    assert (result.code, result.out) == (0, "All checks passed!\n")
    result = piped(text, "--fix", *args, cwd=project)
    assert (result.code, result.out) == (0, text)
    assert piped(text, *args[1:], cwd=project).code == 1  # without --force-exclude it is checked


def test_stdin_fix_echoes_text_it_cannot_read(piped, project: Path) -> None:
    """An editor that formats through `--fix -` must never get the report in place of its text."""
    data = "# -*- coding: ascii -*-\nx = 'caf\u00e9'\n"
    result = piped(data, "--fix", "-", "--stdin-filename", "proj/odd.py", cwd=project)
    assert result.code == 1
    assert result.out == data
    assert "proj/odd.py:1:1: JL002 Cannot decode file" in result.err
