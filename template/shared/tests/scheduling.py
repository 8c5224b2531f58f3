"""How pytest-xdist hands the tests to its processes (`--dist loadscope` in pytest's addopts).

Each test is a work unit of its own, so that the slow ones spread over every process, except
where tests share a fixture that starts workers or brokers: the cases of one parametrized test
(rounds that must share one worker) and the tests of one class run in one process, in order.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling


class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    def _split_scope(self, nodeid: str) -> str:
        """The test's class, else the test function without its parameters."""
        path, *names = nodeid.split("[", 1)[0].split("::")
        return f"{path}::{names[0]}"
