"""Any valid answer set renders a project whose files parse, pass ruff's checks and format check,
and whose package imports; any invalid one is refused with a one-line reason.

Hypothesis draws the answers: names with quotes, backslashes, non-ASCII and Python keywords where
they are allowed, names at their maximum length, one to five queues in any order and priority,
routes, schedules (cron names, Sunday as 7), every tool, broker, backend and optional feature. The
examples are bounded, so the test costs about as much as a few matrix rows; the matrix runs full
`make check` on a fixed sample.
Each tool's package is imported in one environment holding every dependency that tool can need.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.template.kubernetes_agreement import check_manifests
from tests.template.rendering import COPIER_CONFIG, OFFERED_PYTHONS, build_venv, render, run

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.slow

TOOLS = ["celery", "arq", "temporal"]
KEYWORDS = ["class", "import", "async", "await", "def", "lambda", "None", "True", "yield"]
TASK_PATTERNS = ["billing.*", "reports.*", "pipeline.*", "maintenance.*", "demo.*", "billing.send_receipt", "re?orts.*"]
SCHEDULABLE = ["maintenance.heartbeat", "maintenance.trim_dead_letters", "reports.rebuild_index"]
ARQ_EVERY = [1, 2, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
# One line of text: anything printable, quotes, backslashes, `%`, `$`, `#`, Markdown and non-ASCII.
ONE_LINE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")) | st.sampled_from("\"'\\%$#*_[]<>`&{}|~"),
    max_size=30,
)


RESERVED_PACKAGES = {
    name
    for key in ("python_keywords", "stdlib_modules", "dependency_modules")
    for name in COPIER_CONFIG[key]["default"]
}


@st.composite
def crontab(draw: st.DrawFn) -> str:
    minute = draw(st.sampled_from(["*", "0", "*/15", "5,35", "0-29/10"]))
    hour = draw(st.sampled_from(["*", "3", "0-6,22-23", "*/2"]))
    day, month = draw(st.sampled_from([("*", "*"), ("1", "*"), ("29", "2"), ("31", "jan-mar"), ("15", "JUN,dec")]))
    weekday = draw(st.sampled_from(["*", "MON", "mon-fri", "7", "0", "5-7", "sun,wed"]))
    return f"{minute} {hour} {day} {month} {weekday}"


@st.composite
def valid_answers(draw: st.DrawFn, tool: str) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "tool": tool,
        "project_name": draw(ONE_LINE.filter(str.strip) | st.sampled_from(KEYWORDS)),
        # Short names, and names at their maximum length (40), whose lines must still fit.
        "project_slug": draw(
            st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,4}){0,2}", fullmatch=True)
            | st.from_regex(r"[a-z][a-z0-9]{19}-[a-z0-9]{19}", fullmatch=True)
        ),
        "package_name": draw(
            (
                st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True)
                | st.from_regex(r"[a-z_][a-z0-9_]{39}", fullmatch=True)
            ).filter(lambda name: name not in RESERVED_PACKAGES)
        ),
        "description": draw(ONE_LINE),
        "author_name": draw(ONE_LINE),
        "author_email": draw(st.from_regex(r'[A-Za-z0-9."\\+_%-]{1,10}@[a-z]{1,8}\.[a-z]{2,4}', fullmatch=True)),
        "python_version": draw(st.sampled_from(OFFERED_PYTHONS)),
        "metrics": draw(st.booleans()),
        "api": draw(st.booleans()),
        "docker": draw(st.booleans()),
        "kubernetes": draw(st.booleans()),
        "ci": draw(st.booleans()),
        "scheduling": draw(st.booleans()),
    }
    if tool == "celery":
        answers |= {
            "broker": draw(st.sampled_from(["redis", "rabbitmq"])),
            "result_backend": draw(st.sampled_from(["redis", "none"])),
            "flower": draw(st.booleans()),
        }
    if tool == "arq":
        answers["database"] = draw(st.sampled_from(["none", "postgresql"]))
    if tool == "temporal":
        answers["shared_rate_limits"] = draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
                | st.from_regex(r"[a-z][a-z0-9_]{39}", fullmatch=True),
                st.from_regex(r"[1-9][0-9]{0,3}(\.[0-9]{1,2})?/[smh]", fullmatch=True),
                max_size=3,
            )
        )
    if tool in {"celery", "arq"} and draw(st.booleans()):
        answers |= {"object_store": True, "object_store_threshold": draw(st.integers(1024, 64 * 1024 * 1024))}

    queue_name = (
        st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
        | st.from_regex(r"[a-z][a-z0-9_-]{39}", fullmatch=True)
        | st.sampled_from([keyword for keyword in KEYWORDS if keyword.islower()])
    )
    others = draw(
        st.lists(queue_name.filter(lambda name: name not in {"default", "dead-letter"}), max_size=4, unique=True)
    )
    names = ["default", *others]
    queues = []
    for name in draw(st.permutations(names)):
        queue: dict[str, Any] = {"name": name, "concurrency": draw(st.integers(1, 64))}
        if tool != "arq":
            queue |= {"priority": draw(st.integers(0, 9)), "prefetch": draw(st.integers(1, 100))}
        if answers.get("broker") == "rabbitmq" and draw(st.booleans()):
            queue["quorum"] = True
        queues.append(queue)
    answers["queues"] = queues
    answers["task_routes"] = [
        {"pattern": pattern, "queue": draw(st.sampled_from(names))}
        for pattern in draw(st.lists(st.sampled_from(TASK_PATTERNS), max_size=4, unique=True))
    ]
    # Kubernetes runs the Dockerfile's image, names "a_b" and "a-b" alike, and a worker
    # "<slug>-worker-<queue>" in at most 63 characters.
    answers["kubernetes"] &= (
        answers["docker"]
        and len({name.replace("_", "-") for name in names}) == len(names)
        and all(len(f"{answers['project_slug']}-worker-{name}") <= 63 for name in names)
    )
    if answers["scheduling"]:
        entries = []
        for index in range(draw(st.integers(0, 3))):
            entry: dict[str, Any] = {"name": f"entry-{index}", "task": draw(st.sampled_from(SCHEDULABLE))}
            if draw(st.booleans()):
                entry["cron"] = draw(crontab())
            else:
                entry["every"] = draw(st.sampled_from(ARQ_EVERY) if tool == "arq" else st.integers(1, 86_400))
            entries.append(entry)
        answers["schedule"] = entries
    return answers


def assert_files_parse(project: Path) -> None:
    for path in project.rglob("*"):
        if ".venv" in path.parts or not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            list(yaml.safe_load_all(text))  # Kubernetes manifests hold several documents
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            ast.parse(text, str(path))


IMPORT_ALL = """
import importlib, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(module.name)
"""
EVERYTHING = {
    "celery": {"broker": "rabbitmq", "flower": True, "object_store": True},
    "arq": {"database": "postgresql", "object_store": True},
    "temporal": {"shared_rate_limits": {"partner_api": "10/s"}},
}


@pytest.fixture(scope="module")
def tool_environments(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Per tool, an environment with every dependency its answers can ask for."""
    environments = {}
    for tool in TOOLS:
        answers = {"tool": tool, "metrics": True, "api": True, "scheduling": True, **EVERYTHING[tool]}
        project = render(template_repo, tmp_path_factory.mktemp(tool) / "everything", answers)
        environments[tool] = build_venv(project) / "python"
    return environments


def check_renders_and_imports(template_repo: Path, environments: dict[str, Path], answers: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        project = render(template_repo, Path(workdir) / "service", answers)
        assert_files_parse(project)
        assert yaml.safe_load((project / ".copier-answers.yml").read_text())["project_name"] == answers["project_name"]
        if answers["kubernetes"]:
            check_manifests(project, answers)
        # Lines within the line length and as `ruff format` writes them, whatever the names' lengths:
        # the environment's ruff is the version the project pins.
        ruff = environments[answers["tool"]].parent / "ruff"
        checked = run(project, str(ruff), "check", "--no-cache", "src", "tests", "scripts")
        assert checked.returncode == 0, checked.stdout[-3000:]
        formatted = run(project, str(ruff), "format", "--no-cache", "--check", ".")
        assert formatted.returncode == 0, formatted.stdout[-3000:]
        imported = subprocess.run(
            [str(environments[answers["tool"]]), "-c", IMPORT_ALL, answers["package_name"]],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project / "src")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert imported.returncode == 0, imported.stderr[-3000:]


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_valid_answers_render_files_that_parse_and_a_package_that_imports(
    template_repo: Path, tool_environments: dict[str, Path], tool: str, data: st.DataObject
) -> None:
    check_renders_and_imports(template_repo, tool_environments, data.draw(valid_answers(tool)))


# Each: a change that makes a valid answer set invalid, for any tool.
BREAKAGES = [
    {"project_name": "two\nlines"},
    {"description": "tab\there"},
    {"author_name": "nul\x00"},
    {"author_email": "no-at-sign"},
    {"project_slug": "Upper Case"},
    {"package_name": "class"},
    {"package_name": "json"},
    {"package_name": "a" * 41},
    {"project_slug": "a" * 41},
    {"queues": []},
    {"queues": [{"name": "default", "concurrency": 0}]},
    {"queues": [{"name": "default", "concurrency": 1}, {"name": "default", "concurrency": 1}]},
    {"queues": [{"name": "Bad Name", "concurrency": 1}, {"name": "default", "concurrency": 1}]},
    {"task_routes": [{"pattern": "billing.*", "queue": "nowhere"}]},
    {"task_routes": [{"pattern": "bad pattern", "queue": "default"}]},
    {"scheduling": True, "schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "61 * * * *"}]},
    {"scheduling": True, "schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "0 0 31 2 *"}]},
    {"scheduling": True, "schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "0 0 * * 8"}]},
    {"scheduling": True, "schedule": [{"name": "x", "task": "maintenance.heartbeat", "every": 0}]},
    {"scheduling": True, "schedule": [{"name": "x", "task": "no.such_task", "every": 60}]},
    {"docker": False, "kubernetes": True},
    {"kubernetes": True, "kubernetes_scaling": {"default": {"min_replicas": 0, "max_replicas": 1}}},
]


@pytest.mark.parametrize("tool", TOOLS)
@settings(max_examples=6, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_invalid_answers_are_refused_with_a_one_line_reason(
    template_repo: Path, tool: str, data: st.DataObject
) -> None:
    answers = data.draw(valid_answers(tool)) | data.draw(st.sampled_from(BREAKAGES))
    with tempfile.TemporaryDirectory() as workdir:
        with pytest.raises(ValueError, match=r"^Validation error for question '[a-z_]+': .") as refused:
            render(template_repo, Path(workdir) / "service", answers)
        assert "\n" not in str(refused.value).strip(), str(refused.value)
        assert not (Path(workdir) / "service" / "pyproject.toml").exists()
