"""Hosts of a test's own on one machine: Linux network namespaces joined by veth pairs.

A `Network` is a broker host and worker hosts, each with its own network stack. Every worker
host is linked to the broker host by a veth pair of its own (10.200.N.0/24: the broker end is .1,
the worker end .2), so cutting one link partitions one host and nothing else. Names carry a random
run id; closing the network SIGKILLs whatever still runs in its namespaces and deletes them
(which deletes their veths). The default namespace is never changed.

Processes run on a host when started from its `call` thread: that thread joined the namespace,
and a child process inherits the namespace of the thread that forked it. Clients the test opens
in `call` stay in the namespace too (a socket keeps the namespace it was made in).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

import pytest
import redis

from {{ package_name }}.embedded import redis_server_binary

CLONE_NEWNET = 0x40000000
Result = TypeVar("Result")


class NamespacesUnavailable(RuntimeError):
    """This machine will not let the test make network namespaces."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise NamespacesUnavailable(f"ip {' '.join(args)}: {result.stderr.strip()}")


def _enter(name: str) -> None:
    """Move the calling thread into namespace `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/var/run/netns/{name}") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise NamespacesUnavailable(f"setns({name}): {os.strerror(ctypes.get_errno())}")


class Host:
    def __init__(self, name: str) -> None:
        self.name = name
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=name, initializer=_enter, initargs=(name,))

    def call(self, function: Callable[..., Result], *args: object, **kwargs: object) -> Result:
        """`function(*args, **kwargs)` run by a thread inside this host's namespace."""
        return self._thread.submit(function, *args, **kwargs).result()

    def pids(self) -> list[int]:
        listing = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True, timeout=30)
        return [int(pid) for pid in listing.stdout.split()]

    def kill_everything(self) -> list[int]:
        """SIGKILL every process in the namespace, as the loss of the whole host would; returns them."""
        killed = []
        for _ in range(20):  # until nothing is left: a dying parent may have forked meanwhile
            pids = self.pids()
            if not pids:
                return killed
            for pid in pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            killed.extend(pids)
            time.sleep(0.1)
        raise AssertionError(f"processes left in {self.name}: {self.pids()}")

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)


class Network:
    """A broker host and `workers` worker hosts; use as a context manager."""

    def __init__(self, workers: int = 2) -> None:
        self.run = uuid.uuid4().hex[:6]
        self.broker = Host(f"jl{self.run}b")
        self.workers = [Host(f"jl{self.run}w{number}") for number in range(1, workers + 1)]
        self._made: list[Host] = []

    def __enter__(self) -> Network:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build(self) -> None:
        for host in (self.broker, *self.workers):
            _ip("netns", "add", host.name)
            self._made.append(host)
            _ip("-n", host.name, "link", "set", "lo", "up")
        for number, host in enumerate(self.workers, start=1):
            broker_end, worker_end = self._link(number)
            _ip("-n", self.broker.name, "link", "add", broker_end, "type", "veth", "peer", "name", worker_end, "netns", host.name)
            _ip("-n", self.broker.name, "addr", "add", f"10.200.{number}.1/24", "dev", broker_end)
            _ip("-n", host.name, "addr", "add", f"10.200.{number}.2/24", "dev", worker_end)
            _ip("-n", self.broker.name, "link", "set", broker_end, "up")
            _ip("-n", host.name, "link", "set", worker_end, "up")

    def _link(self, number: int) -> tuple[str, str]:
        """The two ends of worker host `number`'s link (interface names have at most 15 characters)."""
        return f"jl{self.run}b{number}", f"jl{self.run}w{number}"

    def broker_address(self, worker: Host) -> str:
        """The broker host's address as `worker` reaches it."""
        return f"10.200.{self.workers.index(worker) + 1}.1"

    def cut(self, worker: Host) -> None:
        """Take the broker end of `worker`'s link down: its packets are dropped silently, as in
        a partition; the worker host itself notices nothing."""
        _ip("-n", self.broker.name, "link", "set", self._link(self.workers.index(worker) + 1)[0], "down")

    def restore(self, worker: Host) -> None:
        _ip("-n", self.broker.name, "link", "set", self._link(self.workers.index(worker) + 1)[0], "up")

    def close(self) -> None:
        for host in reversed(self._made):
            with suppress(AssertionError):
                host.kill_everything()
            host.close()
            subprocess.run(["ip", "netns", "delete", host.name], capture_output=True, timeout=30)
        self._made.clear()


def require_namespaces() -> None:
    """Skip the calling test, with the reason, when this machine cannot make network namespaces;
    fail it instead in CI (REQUIRE_SERVICES=1), where the multi-host tests must run."""
    problem = namespaces_problem()
    if problem is not None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} (REQUIRE_SERVICES=1)")
        pytest.skip(problem)


def namespaces_problem() -> str | None:
    """Why this machine cannot run the multi-host tests, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    try:
        with Network(workers=1):
            return None
    except NamespacesUnavailable as problem:
        return str(problem)


class RedisHost:
    """A redis-server on the broker host, on every address of the host, port `port`: killed and
    restarted with the same append-only file (fsynced at every write), like `brokers.RestartableRedis`."""

    def __init__(self, host: Host, data_dir: Path, port: int) -> None:
        self.host = host
        self.data_dir = data_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def url_from(self, address: str, db: int = 0) -> str:
        return f"redis://{address}:{self.port}/{db}"

    def start(self, timeout: float = 20.0) -> None:
        command = [
            redis_server_binary(),
            "--bind", "0.0.0.0",
            "--protected-mode", "no",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
        ]  # fmt: skip
        log = (self.data_dir / "redis.log").open("ab")
        self.process = self.host.call(subprocess.Popen, command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = self.client()
        deadline = time.monotonic() + timeout
        while not self.host.call(self._answers, client):
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.process.returncode}: see {log.name}")
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not answer within {timeout}s")
            time.sleep(0.05)

    def client(self) -> redis.Redis:
        """A client for the test's own use through `host.call`: on the broker host, by loopback."""
        return redis.Redis.from_url(self.url_from("127.0.0.1"), decode_responses=True, socket_timeout=5)

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
