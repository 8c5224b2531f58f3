from __future__ import annotations

import ast

from jobs_lint import edits
from jobs_lint.diagnostics import Applicability, Edit, Fix
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.model import Kind
from jobs_lint.semantic.values import string_value

PICKLE = frozenset({"pickle", "application/x-python-serialize"})
SERIALIZER_SETTINGS = frozenset({"task_serializer", "result_serializer", "event_serializer"})
CONTENT_SETTINGS = frozenset({"accept_content", "result_accept_content"})
JSON = frozenset({"json", "application/json"})


class PickleSerializer(Rule):
    """
    ## What it does
    Finds Celery configured to serialize or accept pickle: the `task_serializer`,
    `result_serializer` and `event_serializer` settings, `accept_content` and
    `result_accept_content` (by name or as `application/x-python-serialize`), a task's own
    `serializer=`, and `apply_async(serializer=...)`, `send_task(serializer=...)` or a
    signature's `.set(serializer=...)`. It reads configuration wherever it is written:
    `Celery(...)` keywords, `app.conf.update(...)`, `app.conf.x = ...`, celeryconfig modules
    and Django settings (`CELERY_` names, old and new, module globals or settings-class
    attributes).

    ## Why is this bad?
    Unpickling runs code chosen by whoever wrote the message. Anyone who can publish to the
    broker (a leaked Redis password, a compromised producer, an exposed port) gets remote code
    execution in every worker. Pickle messages also tie producers and workers to the same Python
    classes, so a deploy that renames one breaks messages in flight.

    ## Fix safety
    Replacing a literal `"pickle"` with `"json"` is safe for the configuration itself; arguments
    that JSON cannot encode (datetimes, model instances) will then fail loudly at `.delay()`
    instead of silently. Pass ids and ISO strings instead.
    """

    code = "JL101"
    name = "pickle-serializer"
    summary = "Celery serializes or accepts pickle"
    needles = ((b"pickle", b"x-python-serialize"),)
    fix = Applicability.SAFE

    invalid = (
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_serializer='pickle', accept_content=['pickle', 'json'])\n",
            fixed="from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_serializer='json', accept_content=['json'])\n",
            line=4,
            message="`task_serializer` is pickle",
        ),
        Invalid(
            "CELERY_TASK_SERIALIZER = 'pickle'\nCELERY_ACCEPT_CONTENT = ['pickle']\n",
            path="proj/settings.py",
            fixed="CELERY_TASK_SERIALIZER = 'json'\nCELERY_ACCEPT_CONTENT = ['json']\n",
            line=1,
            message="`task_serializer` is pickle",
        ),
        Invalid(
            "from celery import Celery as C\n\napp = C('proj', result_serializer=\"pickle\")\n",
            fixed="from celery import Celery as C\n\napp = C('proj', result_serializer=\"json\")\n",
            line=3,
            message="`result_serializer` is pickle",
        ),
        Invalid(
            "from proj.celery import app\n\n"
            "app.conf.event_serializer = 'pickle'\n"
            "app.conf['accept_content'] = ('application/x-python-serialize',)\n",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
            },
            path="proj/config.py",
            line=3,
            message="`event_serializer` is pickle",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(serializer='pickle')\n"
            "def render(report):\n    return report\n",
            line=3,
            message="task `render` uses pickle",
        ),
        Invalid(
            "from proj.tasks import render\n\n"
            "def schedule(report):\n    render.apply_async((report,), serializer='pickle')\n",
            files={
                "proj/__init__.py": "",
                "proj/tasks.py": "from celery import shared_task\n\n"
                "@shared_task\ndef render(report):\n    return report\n",
            },
            path="proj/views.py",
            line=4,
            message="`apply_async` sends this message with pickle",
        ),
        Invalid(
            "task_serializer = 'pickle'\n",
            path="celeryconfig.py",
            fixed="task_serializer = 'json'\n",
            line=1,
            message="`task_serializer` is pickle",
        ),
        Invalid(
            "from celery import Task\n\n"
            "class Render(Task):\n    serializer = 'pickle'\n\n"
            "    def run(self, report):\n        return report\n",
            line=4,
            message="task `Render` uses pickle",
        ),
        Invalid(
            "CELERY_RESULT_SERIALIZER = 'pickle'\n"
            "CELERY_EVENT_SERIALIZER = 'pickle'\n"
            "CELERY_RESULT_ACCEPT_CONTENT = ['application/x-python-serialize']\n",
            path="proj/settings.py",
            fixed="CELERY_RESULT_SERIALIZER = 'json'\n"
            "CELERY_EVENT_SERIALIZER = 'json'\n"
            "CELERY_RESULT_ACCEPT_CONTENT = ['json']\n",
            line=1,
            message="`result_serializer` is pickle",
        ),
        Invalid(
            "from configurations import Configuration\n\n"
            "class Production(Configuration):\n    CELERY_TASK_SERIALIZER = 'pickle'\n",
            path="proj/settings.py",
            fixed="from configurations import Configuration\n\n"
            "class Production(Configuration):\n    CELERY_TASK_SERIALIZER = 'json'\n",
            line=4,
            message="`task_serializer` is pickle",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task\ndef render(report):\n    return report\n\n"
            "def schedule(report):\n    render.s(report).set(serializer='pickle').delay()\n",
            line=8,
            message="`set` sends this message with pickle",
        ),
    )
    valid = (
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_serializer='json', accept_content=['json'])\n"
        ),
        Valid(
            "from cachetools import cached\n\n"
            "@cached(serializer='pickle')\ndef report(day):\n    return day\n\n"
            "def store(cache, value):\n    cache.set('report', value, serializer='pickle')\n"
        ),
        Valid("import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n"),
        Valid("CACHE_SERIALIZER = 'pickle'\nSESSION_SERIALIZER = 'pickle'\n", path="proj/settings.py"),
        Valid("task_serializer = 'pickle'\n", path="reports/formats.py"),
        Valid("from kombu import serialization\n\nserialization.enable_insecure_serializers(['json'])\n"),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(serializer='json')\ndef render(report_id):\n    return report_id\n"
        ),
    )

    def finish(self) -> None:
        for entry in self.ctx.model.celery.config:
            if entry.key in SERIALIZER_SETTINGS and isinstance(entry.value, str) and entry.value in PICKLE:
                self._serializer(entry.node, f"`{entry.key}` is pickle")
            elif entry.key in CONTENT_SETTINGS and isinstance(entry.node, (ast.List, ast.Tuple, ast.Set)):
                self._content(entry.key, entry.node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self.ctx.model.task_of(node) is None:
            return
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call):
                self._keywords(decorator.keywords, f"task `{node.name}` uses pickle")

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if self.ctx.model.task_of(node) is None:
            return
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "serializer" for t in statement.targets)
                and string_value(statement.value) in PICKLE
            ):
                self._serializer(statement.value, f"task `{node.name}` uses pickle")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("apply_async", "send_task", "set")):
            return
        receiver = self.ctx.model.value_of(func.value, self.ctx.scope)
        if func.attr == "send_task" and (receiver is None or receiver.kind is not Kind.APP):
            return
        if func.attr == "set" and (receiver is None or receiver.kind not in (Kind.SIGNATURE, Kind.CANVAS)):
            return
        self._keywords(node.keywords, f"`{func.attr}` sends this message with pickle")

    def _keywords(self, keywords: list[ast.keyword], message: str) -> None:
        for keyword in keywords:
            if keyword.arg == "serializer" and string_value(keyword.value) in PICKLE:
                self._serializer(keyword.value, message)

    def _serializer(self, node: ast.expr, message: str) -> None:
        edit = edits.replace_string(self.ctx.source, node, "json")
        fix = Fix("Use `json`", (edit,)) if edit else None
        self.report(node, f"{message}: a broker message could run code in the worker", fix)

    def _content(self, key: str, node: ast.List | ast.Tuple | ast.Set) -> None:
        values = [string_value(element) for element in node.elts]
        has_json = any(value in JSON for value in values)
        for position, element in enumerate(node.elts):
            if values[position] not in PICKLE:
                continue
            edit: Edit | None
            if has_json or any(v in PICKLE for v in values[:position]):
                edit = edits.delete_element(self.ctx.source, node.elts, position)
            else:
                edit = edits.replace_string(self.ctx.source, element, "json")
            fix = Fix("Accept `json` instead", (edit,)) if edit else None
            self.report(element, f"`{key}` accepts pickle: a broker message could run code in the worker", fix)
