"""JL404's examples that span modules: activities defined, registered or given timeouts in
other modules than the workflow that runs them (`files=` gives the other modules)."""

from __future__ import annotations

from jobs_lint.rules.base import Invalid, Valid

# Activities of another module (a function, a method of an activities class, one that heartbeats
# in a helper of a third module), and a workflow giving one a heartbeat timeout from settings.
_ACTIVITIES = {
    "proj/__init__.py": "",
    "proj/settings.py": "from datetime import timedelta\n\nHEARTBEAT = timedelta(seconds=30)\n",
    "proj/progress.py": "from temporalio import activity\n\ndef beat(done):\n    activity.heartbeat(done)\n",
    "proj/activities.py": "from temporalio import activity\n\nfrom proj.progress import beat\n\n"
    "@activity.defn\nasync def export(part: int) -> None:\n    pass\n\n"
    "@activity.defn\nasync def beating(part: int) -> None:\n    beat(part)\n\n"
    "class Exports:\n    def __init__(self, store):\n        self.store = store\n\n"
    "    @activity.defn\n    async def write(self, part: int) -> None:\n        pass\n",
}
_WORKFLOW = (
    "from datetime import timedelta\nfrom temporalio import workflow\n\n"
    "with workflow.unsafe.imports_passed_through():\n    {imports}\n\n"
    "@workflow.defn\nclass Export:\n    @workflow.run\n    async def run(self) -> None:\n"
    "        await workflow.execute_activity(\n"
    "            {activity}, 1, start_to_close_timeout=timedelta(hours=1), heartbeat_timeout=settings.HEARTBEAT,\n"
    "        )\n"
)


# A package that re-exports its activities without importing temporalio (the linter reads no
# facts from it), an activity registered by calling `activity.defn`, and one completed from outside.
_STEPS = {
    "proj/__init__.py": "",
    "proj/steps/__init__.py": "from .export import export\nfrom .wait import wait_for_approval\n",
    "proj/steps/export.py": "from temporalio import activity\n\n"
    "async def export_impl(part: int) -> None:\n    pass\n\n"
    "mock_export = export_impl\n\n"
    "export = activity.defn(name='export')(export_impl if part else mock_export)\n",
    "proj/steps/wait.py": "from temporalio import activity\n\n"
    "@activity.defn\nasync def wait_for_approval(request: str) -> None:\n    activity.raise_complete_async()\n",
    "proj/approvals.py": "async def approve(client, token: bytes) -> None:\n"
    "    await client.get_async_activity_handle(task_token=token).complete('yes')\n",
}
_BEATING_APPROVALS = (
    "async def approve(client, token: bytes) -> None:\n"
    "    handle = client.get_async_activity_handle(task_token=token)\n"
    "    await handle.heartbeat()\n    await handle.complete('yes')\n"
)
_TIMEOUTS = {
    "proj/__init__.py": "",
    "proj/limits.py": "from datetime import timedelta\nfrom temporalio.common import RetryPolicy\n\n"
    "CRAWL_TIMEOUT = timedelta(minutes=5)\nPOLICY = RetryPolicy(maximum_attempts=3)\n",
    "proj/activities.py": "from temporalio import activity\n\n"
    "@activity.defn\nasync def crawl(client, urls: list[str]) -> None:\n"
    "    for url in urls:\n        await client.get(url)\n",
}
_CRAWL = (
    "from datetime import timedelta\nfrom temporalio import workflow\n\n"
    "with workflow.unsafe.imports_passed_through():\n"
    "    from proj.activities import crawl\n    from proj.limits import CRAWL_TIMEOUT\n\n"
    "@workflow.defn\nclass Crawl:\n"
    "    @workflow.run\n    async def run(self, urls: list[str]) -> None:\n"
    "        await workflow.execute_activity(crawl, args=[None, urls], start_to_close_timeout={timeout})\n"
)

REACHED_INVALID = (
    Invalid(
        "from datetime import timedelta\nfrom temporalio import workflow\n\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from proj.activities import export\n\n"
        "@workflow.defn\nclass Export:\n"
        "    @workflow.run\n    async def run(self) -> None:\n"
        "        await workflow.execute_activity(\n"
        "            export,\n"
        "            start_to_close_timeout=timedelta(hours=1),\n"
        "            heartbeat_timeout=timedelta(seconds=30),\n"
        "        )\n",
        files={
            "proj/__init__.py": "",
            "proj/activities.py": "from temporalio import activity\n\n"
            "@activity.defn\nasync def export() -> None:\n    pass\n",
        },
        path="proj/workflows.py",
        line=14,
        message="Activity `export` never heartbeats",
    ),
    Invalid(
        "from temporalio import activity\n\nfrom proj.registry import Installer\n\n"
        "@activity.defn\nasync def sync_registry(url: str) -> None:\n"
        "    await Installer().install(url)\n",
        path="proj/activities.py",
        files={
            "proj/__init__.py": "",
            "proj/registry.py": "import asyncio\n\n"
            "class Installer:\n"
            "    async def install(self, url: str) -> None:\n"
            "        process = await asyncio.create_subprocess_exec('git', 'clone', url)\n"
            "        await process.wait()\n",
            "proj/workflows.py": "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n"
            "    from proj.activities import sync_registry\n\n"
            "@workflow.defn\nclass Sync:\n"
            "    @workflow.run\n    async def run(self, url: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            sync_registry, url, start_to_close_timeout=timedelta(minutes=15),\n"
            "        )\n",
        },
        line=6,
        message="Activity `sync_registry` may run for 15 minutes (the timeout its workflow gives it) and does "
        "I/O through `sync_registry -> Installer.install -> asyncio.create_subprocess_exec`",
    ),
    Invalid(
        _WORKFLOW.format(imports="from proj import activities, settings", activity="activities.export"),
        files=_ACTIVITIES,
        path="proj/workflows.py",
        line=12,
        message="Activity `export` never heartbeats",
    ),
    Invalid(
        _WORKFLOW.format(
            imports="from proj import settings\n    from proj.activities import Exports", activity="exports.write"
        )
        + "\nexports = Exports(None)\n",
        files=_ACTIVITIES,
        path="proj/workflows.py",
        line=13,
        message="Activity `write` never heartbeats",
    ),
    Invalid(
        _WORKFLOW.format(imports="from proj import settings", activity="'write'"),
        files=_ACTIVITIES,
        path="proj/workflows.py",
        line=12,
        message="Activity `write` never heartbeats",
    ),
    Invalid(
        _WORKFLOW.format(imports="from proj import settings, steps", activity="steps.export"),
        files={**_STEPS, "proj/settings.py": _ACTIVITIES["proj/settings.py"]},
        path="proj/workflows.py",
        line=12,
        message="Activity `export` never heartbeats",
    ),
    Invalid(
        _WORKFLOW.format(imports="from proj import settings, steps", activity="steps.wait_for_approval"),
        files={**_STEPS, "proj/settings.py": _ACTIVITIES["proj/settings.py"]},
        path="proj/workflows.py",
        line=12,
        message="Activity `wait_for_approval` is completed from outside (`activity.raise_complete_async()`) "
        "and nothing heartbeats for it",
    ),
    Invalid(
        "from temporalio import activity\n\n"
        "@activity.defn\nasync def crawl(client, urls: list[str]) -> None:\n"
        "    for url in urls:\n        await client.get(url)\n",
        files={
            **_TIMEOUTS,
            "proj/limits.py": _TIMEOUTS["proj/limits.py"].replace("minutes=5", "minutes=30"),
            "proj/workflows.py": _CRAWL.format(timeout="CRAWL_TIMEOUT"),
        },
        path="proj/activities.py",
        line=5,
        message="Activity `crawl` loops over I/O without `activity.heartbeat()`",
    ),
)

REACHED_VALID = (
    Valid(
        _WORKFLOW.format(imports="from proj import settings, steps", activity="steps.wait_for_approval"),
        files={
            **_STEPS,
            "proj/settings.py": _ACTIVITIES["proj/settings.py"],
            "proj/approvals.py": _BEATING_APPROVALS,
        },
        path="proj/workflows.py",
    ),
    Valid(
        _WORKFLOW.format(imports="from proj import settings, steps", activity="steps.wait_for_approval"),
        files={
            **_STEPS,
            "proj/settings.py": _ACTIVITIES["proj/settings.py"],
            "proj/waiting.py": "from temporalio.client import AsyncActivityHandle\n\n"
            "async def still_waiting(handle: AsyncActivityHandle) -> None:\n    await handle.heartbeat()\n",
        },
        path="proj/workflows.py",
    ),
    Valid(
        "from temporalio import activity\n\n"
        "@activity.defn\nasync def crawl(client, urls: list[str]) -> None:\n"
        "    for url in urls:\n        await client.get(url)\n",
        files={**_TIMEOUTS, "proj/workflows.py": _CRAWL.format(timeout="CRAWL_TIMEOUT")},
        path="proj/activities.py",
    ),
    Valid(
        "from temporalio import activity\n\n"
        "@activity.defn\nasync def crawl(client, urls: list[str]) -> None:\n"
        "    for url in urls:\n        await client.get(url)\n",
        files={**_TIMEOUTS, "proj/workflows.py": _CRAWL.format(timeout="timedelta(seconds=30 * len(urls))")},
        path="proj/activities.py",
    ),
    Valid(
        "from temporalio import activity\n\n"
        "@activity.defn\nasync def crawl(client, urls: list[str]) -> None:\n"
        "    for url in urls:\n        await client.get(url)\n",
        files={**_TIMEOUTS, "proj/workflows.py": _CRAWL.format(timeout="timedelta(minutes=10)")},
        path="proj/activities.py",
    ),
    Valid(
        _WORKFLOW.format(imports="from proj import activities, settings", activity="activities.beating"),
        files=_ACTIVITIES,
        path="proj/workflows.py",
    ),
    Valid(
        "from temporalio import activity\n\nfrom proj.registry import Installer\n\n"
        "@activity.defn\nasync def sync_registry(url: str) -> None:\n"
        "    await Installer().install(url)\n",
        path="proj/activities.py",
        files={
            "proj/__init__.py": "",
            "proj/registry.py": "import asyncio\nfrom temporalio import activity\n\n"
            "class Installer:\n"
            "    async def install(self, url: str) -> None:\n"
            "        for step in ('clone', 'install'):\n"
            "            process = await asyncio.create_subprocess_exec('make', step, url)\n"
            "            await process.wait()\n"
            "            activity.heartbeat(step)\n",
            "proj/workflows.py": "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n"
            "    from proj.activities import sync_registry\n\n"
            "@workflow.defn\nclass Sync:\n"
            "    @workflow.run\n    async def run(self, url: str) -> None:\n"
            "        await workflow.execute_activity(\n"
            "            sync_registry, url, start_to_close_timeout=timedelta(minutes=15),\n"
            "        )\n",
        },
    ),
)
