from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.payloads import large_annotation, large_value


class LargeResult(Rule):
    """
    ## What it does
    Finds activities and workflow run methods that return file contents or encoded binary data:
    a result annotated `bytes`, or a return of what `open(...).read()`, `Path.read_bytes()`,
    `Path.read_text()`, `BytesIO.getvalue()` or `base64.b64encode(...)` produce (also inside a
    dict, list or object built around them, or through a local variable).

    ## Why is this bad?
    Every result is stored in the workflow's history as a payload, and Temporal caps payloads
    (2 MB by default; a history event's gRPC message at 4 MB). The document that was small in
    tests fails in production: the over-limit result fails the activity attempt (or the
    workflow task), and since that failure is retryable, the default retry policy sends the same
    oversized result again, forever. Large payloads also slow every replay of the workflow.

    Store the data where it belongs (object storage, a database, a shared volume) and return its
    key, or configure Temporal's external storage for payloads, and then disable this rule.
    """

    code = "JL408"
    name = "large-temporal-result"
    summary = "An activity or workflow returns file contents or binary data"
    needles = (needles.TEMPORAL, (b"bytes", b"base64", b"read", b"getvalue"))

    invalid = (
        Invalid(
            "from pathlib import Path\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def render_invoice(order_id: str) -> bytes:\n"
            "    path = Path(f'/tmp/{order_id}.pdf')\n    return path.read_bytes()\n",
            line=5,
            message="Activity `render_invoice` returns `bytes`",
        ),
        Invalid(
            "import base64\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef screenshot(url: str) -> str:\n"
            "    with open(f'/tmp/{url}.png', 'rb') as image:\n"
            "        return base64.b64encode(image.read()).decode()\n",
            line=7,
            message="Activity `screenshot` returns base64 of binary data",
        ),
        Invalid(
            "from temporalio import activity\n\n"
            "@activity.defn\ndef load_report(path: str) -> str:\n"
            "    with open(path) as handle:\n        text = handle.read()\n    return text\n",
            line=7,
            message="Activity `load_report` returns file contents",
        ),
        Invalid(
            "import io\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef export(rows: list) -> dict:\n"
            "    buffer = io.BytesIO()\n    buffer.write(bytes(rows))\n"
            "    return {'name': 'export.csv', 'data': buffer.getvalue()}\n",
            line=8,
            message="Activity `export` returns an in-memory file's contents",
        ),
        Invalid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Archive:\n"
            "    @workflow.run\n    async def run(self, key: str) -> bytes:\n"
            "        return await workflow.execute_activity('fetch', key, start_to_close_timeout=60)\n",
            line=6,
            message="Workflow `Archive` returns `bytes`",
        ),
        Invalid(
            "from dataclasses import dataclass\nfrom base64 import b64encode\nfrom temporalio import activity\n\n"
            "@dataclass\nclass Attachment:\n    name: str\n    content: str\n\n"
            "class Mail:\n    @activity.defn\n    async def attach(self, path: str) -> Attachment:\n"
            "        raw = open(path, 'rb').read()\n"
            "        return Attachment(name=path, content=b64encode(raw).decode('ascii'))\n",
            line=14,
            message="Activity `attach` returns base64 of binary data",
        ),
    )
    valid = (
        Valid(
            "from pathlib import Path\nfrom temporalio import activity\n\n"
            "@activity.defn\nasync def render_invoice(order_id: str, bucket) -> str:\n"
            "    key = f'invoices/{order_id}.pdf'\n"
            "    bucket.upload(key, Path(f'/tmp/{order_id}.pdf').read_bytes())\n    return key\n"
        ),
        Valid(
            "import hashlib\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef checksum(path: str) -> str:\n"
            "    with open(path, 'rb') as handle:\n        return hashlib.sha256(handle.read()).hexdigest()\n"
        ),
        Valid(
            "from temporalio import activity\n\n"
            "@activity.defn\ndef count_lines(path: str) -> int:\n"
            "    with open(path) as handle:\n        return len(handle.read().splitlines())\n"
        ),
        Valid("from pathlib import Path\n\ndef load(path: str) -> bytes:\n    return Path(path).read_bytes()\n"),
        Valid(
            "import base64\nfrom temporalio import workflow\n\n"
            "@workflow.defn\nclass Token:\n"
            "    @workflow.run\n    async def run(self, user: str) -> str:\n"
            "        return user\n\n"
            "    @workflow.query\n    def avatar(self) -> bytes:\n        return base64.b64encode(b'x')\n"
        ),
        Valid(
            "from temporalio import workflow\n\n"
            "@workflow.defn\nclass Echo:\n"
            "    @workflow.run\n    async def run(self, data: bytes) -> bytes:\n        return data\n"
        ),
        Valid(
            "import json\nfrom temporalio import activity\n\n"
            "@activity.defn\ndef read_config(path: str) -> dict:\n"
            "    with open(path) as handle:\n        return json.loads(handle.read())\n"
        ),
    )

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        what = self._kind(node)
        if what is None:
            return
        model, scope = self.ctx.model, self.ctx.model.scope_of(node)
        message = (
            f"{what} returns {{}}: Temporal payloads are capped at 2 MB by default; store the data and return its key"
        )
        returned = _returned(node)
        if (
            node.returns is not None
            and large_annotation(model, node.returns, self.ctx.scope)
            and not all(_passed_through(value, node) for value in returned)
        ):
            self.report(node.returns, message.format("`bytes`"))
            return
        for value in returned:
            found = large_value(model, value, scope)
            if found is not None:
                self.report(value, message.format(found))

    visit_AsyncFunctionDef = visit_FunctionDef

    def _kind(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
        temporal = self.ctx.model.temporal
        if temporal.activity_of(node) is not None:
            return f"Activity `{node.name}`"
        defs = self.ctx.enclosing_defs
        owner = temporal.workflow_of(defs[-1]) if defs else None
        if owner is not None and owner.run == node.name:
            return f"Workflow `{defs[-1].name}`"
        return None


def _returned(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
    """The values a function's own `return` statements give (not those of nested defs)."""
    found: list[ast.expr] = []
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node.value)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _passed_through(value: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A literal, or one of the function's own parameters: no bigger than what came in."""
    if isinstance(value, ast.Constant):
        return True
    args = function.args
    return isinstance(value, ast.Name) and value.id in {
        a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)
    }
