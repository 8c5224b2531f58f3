from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic import payloads
from jobs_lint.semantic.celery.tasks import SPLAT
from jobs_lint.semantic.facts import TaskInfo
from jobs_lint.semantic.values import UNKNOWN


class LargeResult(Rule):
    """
    ## What it does
    Finds a task that returns file contents, bytes or base64 data (`f.read()`,
    `path.read_bytes()`, `buffer.getvalue()`, `base64.b64encode(...)`, a bytes literal, the
    `.content` of a `requests` or `httpx` response), unless the task ignores its result.

    ## Why is this bad?
    A task's return value is serialized into the result backend (Redis, a database, RPC
    messages) and kept there until `result_expires`. Large values fill Redis memory, slow every
    reader of the backend, and with JSON, bytes do not serialize at all.

    Store the data (object storage, a file, a database row) and return its key.
    """

    code = "JL110"
    name = "large-result"
    summary = "A task returns file contents or bytes through the result backend"
    needles = (
        *needles.TASK_DEFINITIONS,
        (b"return",),
        (b"read", b"getvalue", b"b64encode", b"encodebytes", b"return b", b".content"),
    )

    invalid = (
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef render(report_id):\n"
            "    with open(f'/tmp/{report_id}.pdf', 'rb') as handle:\n"
            "        return handle.read()\n",
            line=6,
            message="Task `render` returns file contents or bytes into the result backend",
        ),
        Invalid(
            "import base64\nfrom celery import shared_task\n\n"
            "@shared_task\ndef thumbnail(path):\n"
            "    data = base64.b64encode(open(path, 'rb').read())\n"
            "    return data\n",
            line=7,
            message="Task `thumbnail` returns file contents or bytes into the result",
        ),
        Invalid(
            "from pathlib import Path\nfrom proj.celery import app\n\n"
            "@app.task(bind=True)\ndef export(self, name):\n"
            "    return Path(name).read_bytes()\n",
            files={"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"},
            path="proj/tasks.py",
            line=6,
            message="Task `export` returns file contents or bytes into the result backend",
        ),
        Invalid(
            "import io\nfrom celery import Task\n\n"
            "class Export(Task):\n"
            "    def run(self, rows):\n"
            "        buffer = io.BytesIO()\n"
            "        buffer.write(rows)\n"
            "        return buffer.getvalue()\n",
            line=8,
            message="Task `Export` returns file contents or bytes into the result backend",
        ),
        Invalid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task\ndef download(url):\n"
            "    response = requests.get(url, timeout=30)\n"
            "    return response.content\n",
            line=7,
            message="Task `download` returns file contents or bytes into the result backend",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(ignore_result=False)\ndef ping():\n    return b'pong' * 1000\n"
            "\n@shared_task\ndef blob():\n    return b'\\x00'\n",
            line=9,
            message="Task `blob` returns file contents or bytes into the result backend",
        ),
    )
    valid = (
        Valid(
            "from celery import shared_task\nfrom proj.storage import save\n\n"
            "@shared_task\ndef render(report_id):\n"
            "    with open(f'/tmp/{report_id}.pdf', 'rb') as handle:\n"
            "        return save(handle.read())\n"
        ),
        Valid(
            "import requests\nfrom celery import shared_task\n\n"
            "@shared_task\ndef download(url, page):\n"
            "    response = requests.get(url, timeout=30)\n"
            "    return {'status': response.status_code, 'size': len(response.content), 'page': page.content}\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(ignore_result=True)\ndef render(path):\n"
            "    return open(path, 'rb').read()\n"
        ),
        Valid("def load(path):\n    with open(path, 'rb') as handle:\n        return handle.read()\n"),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef render(path):\n"
            "    def load():\n        return open(path, 'rb').read()\n"
            "    return len(load())\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef count(path):\n"
            "    with open(path) as handle:\n        text = handle.read()\n"
            "    return {'words': len(text.split())}\n"
        ),
        Valid(
            "CELERY_TASK_IGNORE_RESULT = True\n",
            path="proj/settings.py",
            files={
                "proj/__init__.py": "",
                "proj/tasks.py": "from celery import shared_task\n\n"
                "@shared_task\ndef render(path):\n    return open(path, 'rb').read()\n",
            },
        ),
    )

    def visit_Return(self, node: ast.Return) -> None:
        ctx = self.ctx
        if node.value is None or not ctx.enclosing_defs:
            return
        task = self._task_of_function()
        if task is None or self._ignores_result(task):
            return
        if payloads.is_content(ctx.model, node.value, ctx.scope):
            self.report(
                node.value,
                f"Task `{task.qualname.rpartition('.')[2]}` returns file contents or bytes into the result "
                "backend: store them and return a key",
            )

    def _task_of_function(self) -> TaskInfo | None:
        """The task whose own body this is (a nested helper's return is not the task's)."""
        defs = self.ctx.enclosing_defs
        model = self.ctx.model
        task = model.task_of(defs[-1])
        if task is None and len(defs) > 1 and defs[-1].name == "run":
            task = model.task_of(defs[-2])
        return task

    def _ignores_result(self, task: TaskInfo) -> bool:
        index = self.ctx.index
        options = index.task_options(task)
        option = options.get("ignore_result", UNKNOWN if SPLAT in options else None)
        if option is not None:
            return option is not False
        return any(value is not False for value in index.setting("task_ignore_result"))
