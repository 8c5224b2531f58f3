"""Ctrl-C during the Celery and ARQ `make demo`: everything the demo started stops (its workers,
the embedded Redis and SeaweedFS, the jobs' own process), nobody prints a traceback, and the demo
exits with 130, the shell's code for a command ended by SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest

from tests.template.rendering import build_venv, render

pytestmark = pytest.mark.slow

# Variables that would point the demo at configured services instead of embedded ones.
CONFIGURED = {"REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "OBJECT_STORE_URL", "KEY_PREFIX"}
# The first line the demo's jobs print: by then the worker, Redis and SeaweedFS are all up.
RUNNING = {"celery": "worker up: ", "arq": "workers up for queues: "}


@pytest.fixture(scope="module", params=sorted(RUNNING))
def project(
    request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    tool: str = request.param
    rendered = render(
        template_repo, tmp_path_factory.mktemp(f"{tool}-demo") / "service", {"tool": tool, "object_store": True}
    )
    build_venv(rendered)
    return tool, rendered


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, whatever session it runs in (each stays its parent's child)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found: set[int] = set()
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def command_line(pid: int) -> str:
    with suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return ""


def test_ctrl_c_stops_the_demo_and_everything_it_started_quietly(project: tuple[str, Path]) -> None:
    tool, path = project
    env = {name: value for name, value in os.environ.items() if name not in CONFIGURED} | {"PYTHONUNBUFFERED": "1"}
    demo = subprocess.Popen(
        [str(path / ".venv" / "bin" / "python"), "-m", "jobs_service.demo"],
        cwd=path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started: set[int] = set()
    try:
        assert demo.stdout is not None
        before = []
        for line in demo.stdout:
            before.append(line)
            if line.startswith(RUNNING[tool]):
                break
        else:
            pytest.fail(f"the demo ended before its jobs ran (exit code {demo.wait()}):\n{''.join(before)}")
        started = descendants(demo.pid)
        commands = " | ".join(map(command_line, started))
        # The jobs' process and the worker (each with this venv's Python), Redis and SeaweedFS.
        assert "jobs_service.demo_jobs" in commands and "jobs_service.worker" in commands, commands
        assert "redis-server" in commands and "weed server" in commands, commands

        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        rest, _ = demo.communicate(timeout=20)
        output = "".join(before) + rest
        assert demo.returncode == 130, output
        assert "interrupted: the demo stopped what it started" in output, output
        assert "Traceback" not in output, output
        # Pool processes the worker forked are killed with its group; the kernel reaps them.
        stop_by = time.monotonic() + 5
        while any(map(running, started)) and time.monotonic() < stop_by:
            time.sleep(0.1)
        assert not [command_line(pid) for pid in started if running(pid)]
    finally:
        leftovers = started | descendants(demo.pid)
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        for pid in filter(running, leftovers):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
