"""What the engine reports besides rule findings: syntax errors it can be told to ignore, SARIF
locations that are URIs, `jobs-lint version`, empty selections, stub files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Syntax of a Python newer than this one, with what the message must say.
NEWER = [
    (
        (3, 12),
        "type Alias = list[int]\n",
        "a `type` alias is Python 3.12 syntax, which Python 3.12 or newer would parse",
    ),
    ((3, 12), "def first[T](items: list[T]) -> T:\n    return items[0]\n", "a type parameter list is Python 3.12"),
    (
        (3, 14),
        "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
        "`except` without parentheses is Python 3.14",
    ),
]
NEWER_HERE = [
    pytest.param(code, message, id=message[:20]) for version, code, message in NEWER if sys.version_info < version
]


@pytest.mark.skipif(not NEWER_HERE, reason="this Python parses every syntax the test knows")
@pytest.mark.parametrize(("code", "message"), NEWER_HERE)
def test_newer_syntax_says_which_python_parses_it_and_can_be_ignored(
    jobs_lint, tmp_path: Path, code: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "modern.py").write_text("from celery import shared_task\n" + code)
    result = jobs_lint(".", "--output-format", "json", cwd=tmp_path)
    [finding] = json.loads(result.out)
    assert finding["code"] == "JL001" and message in finding["message"]
    assert finding["message"].startswith(f"Syntax error (Python {sys.version_info.major}.{sys.version_info.minor}): ")
    assert jobs_lint(".", "--ignore", "JL001", cwd=tmp_path).code == 0
    assert jobs_lint(".", "--per-file-ignores", "modern.py:JL001", cwd=tmp_path).code == 0
    (tmp_path / "pyproject.toml").write_text("[tool.jobs-lint]\nper-file-ignores = {'modern.py' = ['JL001']}\n")
    assert jobs_lint(".", cwd=tmp_path).code == 0
    # A noqa comment on the line the error is reported at silences it too.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    line = finding["location"]["row"]
    lines = (tmp_path / "modern.py").read_text().splitlines()
    lines[line - 1] += "  # noqa: JL001"
    (tmp_path / "modern.py").write_text("\n".join(lines) + "\n")
    assert jobs_lint(".", cwd=tmp_path).code == 0


def test_other_engine_codes_cannot_be_ignored(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "blob.py").write_bytes(b"celery\x00")
    result = jobs_lint("blob.py", "--ignore", "JL002", "--output-format", "concise", cwd=tmp_path)
    assert "blob.py:1:1: JL002" in result.out and result.code == 1


def test_sarif_uris_are_percent_encoded(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    odd = tmp_path / "sp ace" / "c%1#.py"
    odd.parent.mkdir()
    odd.write_text("from celery import Celery\napp = Celery('x', task_serializer='pickle')\n")
    sarif = json.loads(jobs_lint(".", "--select", "JL101", "--output-format", "sarif", cwd=tmp_path).out)
    [result] = sarif["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "sp%20ace/c%251%23.py"


def test_version_is_a_command(jobs_lint, tmp_path: Path) -> None:
    from jobs_lint import __version__

    result = jobs_lint("version", cwd=tmp_path)
    assert (result.code, result.out, result.err) == (0, f"jobs-lint {__version__}\n", "")
    # A directory of that name is still checked when named as a path.
    (tmp_path / "version").mkdir()
    (tmp_path / "version" / "app.py").write_text(
        "from celery import Celery\napp = Celery('x', task_serializer='pickle')\n"
    )
    assert "JL101" in jobs_lint("check", "version", cwd=tmp_path).out


def test_no_python_files_is_a_warning_not_a_pass(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# nothing here\n")
    result = jobs_lint(".", cwd=tmp_path)
    assert result.code == 0
    assert "All checks passed!" not in result.out
    assert result.err == "jobs-lint: warning: No Python files found under the given path(s)\n"
    (tmp_path / "excluded.py").write_text("x = 1\n")
    forced = jobs_lint("--force-exclude", "--extend-exclude", "excluded.py", "excluded.py", cwd=tmp_path)
    assert "No Python files found" in forced.err


def test_stub_files_are_walked(jobs_lint, tmp_path: Path) -> None:
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "app.pyi").write_text(
        "from celery import Celery\napp = Celery('x', task_serializer='pickle')\n"
    )
    result = jobs_lint(".", "--select", "JL101", "--output-format", "concise", cwd=tmp_path)
    assert "stubs/app.pyi:2:35: JL101" in result.out


def test_needles_shared_between_prefilters_decide_as_each_prefilter_alone() -> None:
    """A file's needle searches are shared by every rule and the index, and a needle is taken
    as absent when a shorter one inside it is: the rules and files chosen must not change."""
    from jobs_lint import passes
    from jobs_lint.rules import RULES
    from jobs_lint.settings import load

    plan = passes.Plan.of(load(["."]).with_overrides({"select": ("ALL",)}))
    texts = [case.code for rule in RULES.values() for case in (*rule.valid, *rule.invalid)]
    texts += ["@app.task\ndef f(): pass\n", "x = '.task'\n", "from arq import Retry\n", "import os\n"]
    for text in texts:
        data = text.encode()
        found = passes.Searched(data)
        assert plan.wanted_by(data, found) == tuple(code for code in plan.rules if RULES[code].wants(data)), text
        alone = any(n in data for n in passes.FACT_NEEDLES) or any(
            n in data and p.search(data) for n, p in passes.FACT_PATTERNS
        )
        assert passes.needs_facts(data, found) == alone, text
