"""Render the template from a tagged git copy of the working tree, and build rendered projects.

The copy holds the working tree as it is (uncommitted changes included), committed and tagged
with the version in `jobs_lint/__init__.py` (a release tag is `v` + that version), so Copier
renders what is being tested through its real git path, offline.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy
from copier.errors import DirtyLocalWarning
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from jobs_lint import __version__

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TAG = f"v{__version__}"


class _CopierLoader(yaml.SafeLoader):
    """copier.yml, each `!include` replaced by the YAML of the file it names."""


_CopierLoader.add_constructor(
    "!include", lambda loader, node: yaml.safe_load((ROOT / str(loader.construct_scalar(node))).read_text())
)
COPIER_CONFIG: dict[str, Any] = yaml.load((ROOT / "copier.yml").read_text(), _CopierLoader)
# The Python versions the template offers: python_version's choices.
OFFERED_PYTHONS: list[str] = COPIER_CONFIG["python_version"]["choices"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def copy_working_tree(destination: Path) -> Path:
    """The working tree's tracked and untracked (not ignored) files."""
    listed = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z").split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        # A link stays a link: each tool's tree links the files it shares (template/shared).
        if source.is_file() or source.is_symlink():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return destination


def tagged_copy(destination: Path) -> Path:
    """The working tree, committed and tagged TAG."""
    copy_working_tree(destination)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template under test")
    git(destination, "tag", TAG)
    return destination


def two_releases(destination: Path, older_tag: str, make_older: Callable[[Path], None]) -> Path:
    """A template repository with two releases: `older_tag`, the working tree as `make_older`
    changes it, then TAG, the working tree itself."""
    copy_working_tree(destination)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    newer_tree = git(destination, "write-tree").strip()
    make_older(destination)
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "older release")
    git(destination, "tag", older_tag)
    newer = git(destination, "commit-tree", newer_tree, "-p", "HEAD", "-m", "template under test")
    git(destination, "reset", "-q", "--hard", newer.strip())
    git(destination, "tag", TAG)
    return destination


def render(template: Path, destination: Path, answers: Mapping[str, Any]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)
        run_copy(str(template), destination, data=dict(answers), defaults=True, quiet=True, unsafe=False)
    return destination


def uv() -> str:
    search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    found = shutil.which("uv", path=search)
    if found is None:
        raise RuntimeError("uv is required to build rendered projects (pip install uv)")
    return found


def declared_requirements(project: Path) -> list[str]:
    """The project's dependencies with its dev and embedded extras, less the project itself."""
    metadata = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    extras = metadata.get("optional-dependencies", {})
    declared = [*metadata["dependencies"], *extras.get("dev", []), *extras.get("embedded", [])]
    return [requirement for requirement in declared if Requirement(requirement).name != metadata["name"]]


def interpreter(version: str) -> str | None:
    """A Python interpreter of `version` ("3.12"): this one, a `pythonX.Y` on PATH that runs, or
    one installed by pyenv (whose shims on PATH refuse versions that are not selected)."""
    if version == ".".join(platform.python_version_tuple()[:2]):
        return sys.executable
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    installed = pyenv_root.glob(f"versions/{version}.*/bin/python{version}")
    for candidate in filter(None, [shutil.which(f"python{version}"), *map(str, installed)]):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def build_venv(project: Path, python: str | None = None, *, for_suite: bool = False) -> Path:
    """The project's own virtualenv from its own pyproject (uv's cache is shared between them),
    on `python` (default: this interpreter).

    `for_suite`: the dependencies are compiled to bytecode at install (about 13 s of CPU). The
    suites run with PYTHONDONTWRITEBYTECODE (see `assert_suite_passes`), so otherwise every
    worker, beat and command a suite starts compiles their sources again, about half a second of
    CPU each; a venv only for static checks starts none.

    A project for a newer Python than its interpreter (3.12 or 3.13 built with 3.11) cannot be
    installed there: its declared requirements are, and ruff and mypy check it for its own version
    (their target version comes from its pyproject). Only its static checks can run; its test suite
    needs its own Python.
    """
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv(), "venv", "-q", "--python", python or sys.executable, str(project / ".venv")],
        check=True,
        env=env,
    )
    venv_python = project / ".venv" / "bin" / "python"
    requires_python = tomllib.loads((project / "pyproject.toml").read_text())["project"]["requires-python"]
    version = subprocess.run(
        [str(venv_python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    installable = SpecifierSet(requires_python).contains(version)
    install = ["-e", ".[dev]"] if installable else declared_requirements(project)
    compiled = ["--compile-bytecode"] if for_suite else []
    subprocess.run(
        [uv(), "pip", "install", "-q", *compiled, "--python", str(venv_python), *install],
        cwd=project,
        check=True,
        env=env,
    )
    return project / ".venv" / "bin"


def run(
    project: Path, *command: str, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_static_checks_pass(project: Path, bin_dir: Path) -> None:
    """The rendered project's ruff, strict mypy and jobs-lint find nothing, and every file is as
    `ruff format` writes it (a user's first `ruff format` changes no file the user did not write)."""
    ruff = run(project, str(bin_dir / "ruff"), "check", "src", "tests", "scripts")
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr
    formatted = run(project, str(bin_dir / "ruff"), "format", "--diff", ".")
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    mypy = run(project, str(bin_dir / "mypy"))
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    lint = run(project, str(bin_dir / "jobs-lint"), "src", "tests", "scripts")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def assert_suite_passes(project: Path, bin_dir: Path, *pytest_args: str) -> None:
    """The rendered project's own tests pass against real workers and brokers."""
    # REQUIRE_SERVICES passes through: in CI a rendered test that cannot reach RabbitMQ fails.
    suite = run(
        project,
        str(bin_dir / "pytest"),
        "-q",
        "-p",
        "no:cacheprovider",
        *pytest_args,
        env={"PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert suite.returncode == 0, suite.stdout[-6000:] + suite.stderr[-2000:]


def pairwise_rows(factors: int) -> list[tuple[bool, ...]]:
    """A covering array of strength 2 for up to 10 yes/no factors, in 6 rows.

    Column j is the j-th 3-subset of rows 1..5 (row 0 is all "no"): two distinct 3-subsets of a
    5-set always intersect and neither contains the other, so every pair of columns shows
    no/no, yes/no, no/yes and yes/yes.
    """
    columns = list(combinations(range(1, 6), 3))[:factors]
    if len(columns) < factors:
        raise ValueError("at most 10 factors")
    return [tuple(row in column for column in columns) for row in range(6)]
