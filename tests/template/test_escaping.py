"""Free-text answers land in TOML, Python, Markdown, YAML, a Makefile and systemd units as the
literal text that was typed: quotes, backslashes, `%`, Markdown punctuation and non-ASCII included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from markdown_it import MarkdownIt

from tests.template.rendering import ROOT, render

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

HOSTILE = {
    "project_name": 'Jobs "Quoted" \\ Service #1 *ünïcode* 😀 \u2013 %i $(shell false) \\',
    "project_slug": "hostile",
    "description": "C:\\new\\tasks with 'single' and \"double\" quotes, `code`, <b>, [link](x) & 1. item",
    "author_name": "O\"Brien \\ D'Arcy",
    "author_email": 'o"brien\\x@example.com',
}


@pytest.fixture(scope="module", params=["celery", "arq", "temporal"])
def project(request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_repo, tmp_path_factory.mktemp(request.param) / "service", {**HOSTILE, "tool": request.param})


def test_pyproject_holds_the_answers_as_typed(project: Path) -> None:
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert metadata["description"] == HOSTILE["description"]
    assert metadata["authors"] == [{"name": HOSTILE["author_name"], "email": HOSTILE["author_email"]}]


def test_python_modules_hold_the_answers_as_typed(project: Path) -> None:
    package = project / "src" / "hostile"
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(), str(path))
    constants: dict[str, Any] = {}
    module = ast.parse((package / "__init__.py").read_text())
    assert ast.get_docstring(module) == HOSTILE["description"] + "."
    for node in module.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = ast.literal_eval(node.value)
    assert constants["PROJECT_NAME"] == HOSTILE["project_name"]
    assert constants["DESCRIPTION"] == HOSTILE["description"]
    assert "PROJECT_NAME" in (package / "api.py").read_text()


def test_rendered_code_with_such_answers_passes_ruff(project: Path) -> None:
    """The package's own ruff settings (E501, RUF001 confusables) accept any text in the answers."""
    ruff = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "ruff"), "check", "--no-cache", "src"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_readme_shows_the_answers_as_typed(project: Path) -> None:
    tokens = MarkdownIt("commonmark").parse((project / "README.md").read_text())
    assert tokens[0].type == "heading_open" and tokens[0].tag == "h1"
    heading = tokens[1].children or []
    assert "".join(child.content for child in heading if child.type == "text") == HOSTILE["project_name"].strip()
    assert tokens[3].type == "paragraph_open"
    paragraph = tokens[4].children or []
    assert all(child.type in {"text", "softbreak"} for child in paragraph), [child.type for child in paragraph]
    assert "".join(child.content for child in paragraph).startswith(HOSTILE["description"] + ".")


def test_yaml_files_parse(project: Path) -> None:
    for path in [*project.rglob("*.yml"), *project.rglob("*.yaml")]:
        yaml.safe_load(path.read_text())
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in HOSTILE} == HOSTILE


def test_makefile_reads_with_the_name_in_its_comment(project: Path) -> None:
    """A trailing backslash would continue the comment onto the next line; `$(shell)` must not run."""
    dry_run = subprocess.run(["make", "-n", "lint"], cwd=project, capture_output=True, text=True)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "ruff check" in dry_run.stdout


def test_systemd_units_escape_percent_specifiers(project: Path) -> None:
    for unit in (project / "deploy" / "systemd").glob("*.service"):
        (description,) = [line for line in unit.read_text().splitlines() if line.startswith("Description=")]
        assert description.startswith("Description=" + HOSTILE["project_name"].replace("%", "%%") + " worker")


@pytest.mark.parametrize("question", ["project_name", "description", "author_name", "author_email"])
@pytest.mark.parametrize("character", ["\n", "\t", "\x00", "\u2028"])
def test_line_breaks_and_control_characters_are_refused(
    template_repo: Path, tmp_path: Path, question: str, character: str
) -> None:
    value = f"a{character}b@example.com" if question == "author_email" else f"a{character}b"
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render(template_repo, tmp_path / "refused", {question: value})
    reason = str(refused.value).splitlines()[-1]
    assert "must be one line of text: no line breaks, tabs or control characters" in reason or (
        question == "author_email" and "is not an e-mail address" in reason
    )
