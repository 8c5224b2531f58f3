"""Child processes that are always cleaned up: own process group, SIGTERM, then SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=timeout)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # pool children that outlived their parent
    process.wait()
