"""jobs-lint, a dev dependency and a pre-commit hook of every rendered project, comes from where
the template came from: a git remote others can reach, or, rendered from a local path, a file://
URL that the render and the README warn about, with the command that fixes it."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jinja2 import FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment

from tests.template.rendering import ROOT

SOURCE = "{% import 'template-support/jobs_lint_source.jinja' as s with context %}"


def environment() -> SandboxedEnvironment:
    """Copier's environment: sandboxed, with the Ansible filters, templates under the root."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(ROOT), extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"]
    )


def context(src_path: str) -> dict[str, Any]:
    return {
        "_copier_answers": {"_src_path": src_path},
        "_copier_conf": {"vcs_ref_hash": "abc123", "src_path": "/tmp/c"},
    }


def jobs_lint_source(src_path: str) -> dict[str, Any]:
    """What the template computes for a render from `src_path`."""
    template = environment().from_string(
        SOURCE + "{{ [s.jobs_lint_url, s.jobs_lint_rev, s.jobs_lint_local] | to_json }}"
    )
    url, rev, local = json.loads(template.render(context(src_path)))
    return {"url": url, "rev": rev, "local": local}


@pytest.mark.parametrize(
    ("src_path", "url"),
    [
        ("gh:team/jobs-lint", "https://github.com/team/jobs-lint"),
        ("gl:team/jobs-lint", "https://gitlab.com/team/jobs-lint"),
        ("https://git.example.com/team/jobs-lint.git", "https://git.example.com/team/jobs-lint.git"),
        ("git+https://git.example.com/team/jobs-lint.git", "https://git.example.com/team/jobs-lint.git"),
        ("git@git.example.com:team/jobs-lint.git", "git@git.example.com:team/jobs-lint.git"),
    ],
)
def test_a_remote_source_is_used_as_it_is(src_path: str, url: str) -> None:
    assert jobs_lint_source(src_path) == {"url": url, "rev": "abc123", "local": False}


def test_a_local_path_is_a_file_url_marked_local() -> None:
    assert jobs_lint_source("/srv/templates/jobs") == {
        "url": "file:///srv/templates/jobs",
        "rev": "abc123",
        "local": True,
    }


def test_rendered_from_a_path_the_readme_and_the_render_say_how_to_share(template_repo: Path, tmp_path: Path) -> None:
    copier = Path(sys.executable).parent / "copier"
    rendered = subprocess.run(
        [str(copier), "copy", "--defaults", str(template_repo), str(tmp_path / "service")],
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert f"comes from\nfile://{template_repo}, which only this machine can reach" in rendered.stderr
    readme = (tmp_path / "service" / "README.md").read_text()
    assert "## Before you share this project" in readme and readme.endswith("```\n")
    (fix,) = [line for line in readme.splitlines() if line.startswith("sed -i ")]
    assert f"  {fix}\n" in rendered.stderr

    # The one-line fix, with a reachable URL put in, leaves no file:// source behind.
    project = tmp_path / "service"
    remote = "https://git.example.com/platform/jobs-lint.git"
    subprocess.run(
        shlex.split(fix.replace("https://git.example.com/your-team/jobs-lint.git", remote)), cwd=project, check=True
    )
    for name in ("pyproject.toml", ".pre-commit-config.yaml"):
        text = (project / name).read_text()
        assert "file://" not in text and remote in text, name
    assert f"jobs-lint @ git+{remote}@" in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(("src_path", "section"), [("gh:team/jobs-lint", False), ("/srv/templates/jobs", True)])
def test_readme_section_only_for_a_local_source(src_path: str, section: bool) -> None:
    text = environment().get_template("template-support/jobs_lint_source.md.jinja").render(context(src_path))
    assert ("## Before you share this project" in text) == section
