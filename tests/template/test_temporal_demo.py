"""The Temporal project's `make demo` with the object store on: it starts an embedded SeaweedFS,
sends an order whose input is over the threshold through it, shows that only a key travelled
through Temporal, and leaves nothing running, at its end or after a Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import pytest

from tests.template.rendering import build_venv, render

pytestmark = pytest.mark.slow

THRESHOLD = 100_000
# Variables that would point the demo at configured services instead of embedded ones.
CONFIGURED = {"TEMPORAL_ADDRESS", "OBJECT_STORE_URL", "OBJECT_STORE_THRESHOLD", "KEY_PREFIX"}


@pytest.fixture(scope="module")
def project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = {"tool": "temporal", "object_store": True, "object_store_threshold": THRESHOLD}
    rendered = render(template_repo, tmp_path_factory.mktemp("temporal-demo") / "service", answers)
    build_venv(rendered)
    return rendered


def demo_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in CONFIGURED}
    return env | {"PYTHONUNBUFFERED": "1"}


def processes_of(project: Path) -> dict[int, str]:
    """The running processes started from the project's venv (the worker, SeaweedFS, the dev
    server), by pid: their command lines name it."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(project) in args:
            found[int(cmdline.parent.name)] = args
    return found


def kill_leftovers(project: Path) -> None:
    """After a failure nothing may stay up to load the later tests."""
    for pid in processes_of(project):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_demo_sends_a_large_order_by_key_through_the_embedded_store(project: Path) -> None:
    demo = subprocess.run(["make", "demo"], cwd=project, env=demo_env(), capture_output=True, text=True, timeout=240)
    output = demo.stdout + demo.stderr
    leftovers = processes_of(project)
    kill_leftovers(project)
    assert demo.returncode == 0, output[-4000:]
    started = re.search(r"^embedded object store at (http://127\.0\.0\.1:\d+) ", output, re.MULTILINE)
    assert started, output
    bulk = re.search(
        r"^order demo-\w+-bulk of [\d,]+ items: completed; Temporal's history holds only a (\d+)-byte key,"
        r" the ([\d,]+)-byte input is in the object store$",
        output,
        re.MULTILINE,
    )
    assert bulk, output
    assert int(bulk[1]) < 100 and THRESHOLD < int(bulk[2].replace(",", "")) < 2 * THRESHOLD
    where = rf"^  object s3://jobs-service-jobs/jobs-service-demo-\w+/payloads/\w+ at {re.escape(started[1])}$"
    assert re.search(where, output, re.MULTILINE), output
    assert not leftovers


def test_ctrl_c_stops_the_demo_and_everything_it_started(project: Path) -> None:
    demo = subprocess.Popen(
        ["make", "demo"],
        cwd=project,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert demo.stdout is not None
        # The store is up and the dev server and the worker are starting: all of them to stop.
        for line in demo.stdout:
            if line.startswith("embedded object store at"):
                break
        else:
            pytest.fail(f"the demo ended before starting its object store (exit code {demo.wait()})")
        assert processes_of(project)
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        output, _ = demo.communicate(timeout=20)
        # A quiet exit: the demo's own message, no traceback.
        assert "interrupted: the demo stopped what it started" in output, output
        assert "Traceback" not in output, output
        stop_by = time.monotonic() + 5
        while processes_of(project) and time.monotonic() < stop_by:
            time.sleep(0.1)
        assert not processes_of(project)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        kill_leftovers(project)
