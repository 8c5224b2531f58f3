"""Child processes that are always cleaned up: own process group, SIGTERM, then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import IO


def start(args: Sequence[str], env: Mapping[str, str], output: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
    """Start `python <args>` in its own process group, so stopping it stops its children too."""
    return subprocess.Popen(
        [sys.executable, *args], env=dict(env), start_new_session=True, stdout=output, stderr=output
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM the group (a worker's soft shutdown), SIGKILL it if it outlives `timeout`."""
    stop_all([process], timeout)


def stop_all(group: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    """Stop every process at once, within `timeout` seconds in all: one after the other, each
    given the whole timeout, a Ctrl-C on five workers took minutes."""
    for process in group:
        if process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in group:
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(deadline - time.monotonic(), 0))
    for process in group:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # pool children that outlived their parent
        process.wait()
