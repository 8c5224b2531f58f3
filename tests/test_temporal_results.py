"""What the semantic layer says about workflow handlers and large results, case by case."""

from __future__ import annotations

import ast

import pytest

from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.payloads import large_annotation, large_value
from jobs_lint.semantic.temporal.handlers import WorkflowHandlers


def _model(code: str) -> ModuleModel:
    return ModuleModel(ast.parse(code), "x.py", "proj.flows", False, ProjectIndex())


def _workflow(body: str) -> tuple[ModuleModel, WorkflowHandlers]:
    m = _model("import asyncio\nfrom temporalio import workflow\n\n@workflow.defn\nclass Flow:\n" + body)
    cls = m.tree.body[2]
    assert isinstance(cls, ast.ClassDef)
    return m, WorkflowHandlers(m, cls)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("await asyncio.Future()", True),
        ("return await asyncio.Future()", True),
        ("await workflow.wait_condition(lambda: False)", True),
        ("await workflow.wait_condition(lambda: False, timeout=60)", False),
        ("while True:\n            await asyncio.sleep(1)", True),
        ("while True:\n            if self.done:\n                break", False),
        ("while True:\n            workflow.continue_as_new()", False),
        ("await workflow.wait_condition(lambda: self.done)", False),
    ],
)
def test_run_methods_that_never_return(run: str, expected: bool) -> None:
    _, handlers = _workflow(f"    @workflow.run\n    async def run(self):\n        {run}\n")
    assert handlers.never_returns(handlers.methods["run"]) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("await workflow.execute_activity('a', start_to_close_timeout=5)", True),
        ("await self.queue.put(x)", False),
        ("await asyncio.sleep(0)", False),
        ("await workflow.wait_condition(lambda: True)", False),
        ("async with self.lock:\n            pass", True),
        ("await self.helper()", True),
        ("def later():\n            pass", False),
    ],
)
def test_handlers_that_can_wait(body: str, expected: bool) -> None:
    _, handlers = _workflow(
        f"    @workflow.update\n    async def handle(self, x):\n        {body}\n\n"
        "    async def helper(self):\n        await asyncio.sleep(5)\n"
    )
    assert handlers.suspends(handlers.methods["handle"]) is expected


def test_handlers_the_run_method_waits_out() -> None:
    _, handlers = _workflow(
        "    @workflow.update\n    async def finish(self):\n"
        "        await asyncio.sleep(1)\n        self.done = True\n\n"
        "    @workflow.update\n    async def started(self):\n"
        "        await workflow.wait_condition(lambda: self.ready)\n\n"
        "    @workflow.update\n    async def opened(self):\n        await self.open.wait()\n\n"
        "    @workflow.update\n    async def late(self):\n"
        "        self.done = True\n        await asyncio.sleep(1)\n\n"
        "    @workflow.run\n    async def run(self):\n"
        "        self.ready = True\n        self.open.set()\n"
        "        await workflow.wait_condition(lambda: self.done)\n"
    )
    run = handlers.methods["run"]
    assert handlers.releases_run(handlers.methods["finish"], run)
    assert handlers.released_by_run(handlers.methods["started"], run)
    assert handlers.released_by_run(handlers.methods["opened"], run)
    late = handlers.methods["late"]
    assert not handlers.releases_run(late, run) and not handlers.released_by_run(late, run)


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ("base64.b64encode(data).decode()", "base64 of binary data"),
        ("Path(name).read_text()", "file contents"),
        ("handle.read()", "file contents"),
        ("{'rows': [handle.read()]}", "file contents"),
        ("Result(data=buffer.getvalue())", "an in-memory file's contents"),
        ("len(handle.read())", None),
        ("hashlib.sha256(data).hexdigest()", None),
        ("json.loads(handle.read())", None),
        ("other.read()", None),
    ],
)
def test_large_values(returned: str, expected: str | None) -> None:
    m = _model(
        "import base64, hashlib, io, json\nfrom pathlib import Path\n\n"
        "def f(name, data, other):\n"
        "    buffer = io.BytesIO()\n"
        "    with open(name) as handle:\n"
        f"        return {returned}\n"
    )
    function = m.tree.body[2]
    assert isinstance(function, ast.FunctionDef)
    value = function.body[1].body[0].value  # type: ignore[attr-defined]
    assert large_value(m, value, m.scope_of(function)) == expected


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [("bytes", True), ("bytes | None", True), ("Optional[bytearray]", True), ("list[bytes]", True), ("str", False)],
)
def test_binary_annotations(annotation: str, expected: bool) -> None:
    m = _model("from typing import Optional\n")
    node = ast.parse(annotation, mode="eval").body
    assert large_annotation(m, node, m.module_scope) is expected
