from __future__ import annotations

import ast
import re

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import names as celery_names
from jobs_lint.semantic.celery.tasks import SPLAT
from jobs_lint.semantic.model import Kind

_MAX_DEPTH = 6
_TASKS = (
    "from celery import shared_task\n\n"
    "@shared_task(ignore_result=True)\ndef resize(image_id):\n    return image_id\n\n"
    "@shared_task\ndef measure(image_id):\n    return image_id\n\n"
    "@shared_task\ndef publish(results):\n    return results\n"
)
_FILES = {"media/__init__.py": "", "media/tasks.py": _TASKS}


class ChordIgnoresResult(Rule):
    """
    ## What it does
    Finds a chord whose header runs a task that ignores its result: `ignore_result=True` on the
    task (or its base class), or `task_ignore_result` set globally without the task opting back
    in with `ignore_result=False`. Chords are `chord(header, body)`, `chord(header)(body)`, and a
    group chained into another task (`group(...) | body`, `chain(group(...), body)`).

    ## Why is this bad?
    A chord counts the results of its header tasks in the result backend and runs the body when
    all have arrived. A task that ignores its result never reports, so the count never
    completes: the body never runs, silently, and the chord's bookkeeping stays in the backend
    until it expires. Celery's documentation: "Tasks used within a chord must not ignore their
    results."
    """

    code = "JL113"
    name = "chord-ignores-result"
    summary = "A chord's header task ignores its result, so the body never runs"
    # `group(` but not a regex match's `.group(`.
    needles = ((b"chord", b"group("), (re.compile(rb"chord|(?<![.\w])group\(|celery\.group\("),))

    invalid = (
        Invalid(
            "from celery import chord\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    return chord(resize.s(i) for i in ids)(publish.s())\n",
            files=_FILES,
            path="media/views.py",
            line=5,
            message="Chord header task `resize` ignores its result (`ignore_result=True`)",
        ),
        Invalid(
            "from celery import chord, group\nfrom media.tasks import measure, publish, resize\n\n"
            "def run(ids):\n"
            "    header = [measure.s(ids[0]), resize.s(ids[1])]\n"
            "    return chord(header, publish.s()).apply_async()\n",
            files=_FILES,
            path="media/views.py",
            line=5,
            message="Chord header task `resize` ignores its result (`ignore_result=True`)",
        ),
        Invalid(
            "from celery import group\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    return (group(resize.s(i) for i in ids) | publish.s())()\n",
            files=_FILES,
            path="media/views.py",
            line=5,
            message="Chord header task `resize` ignores its result (`ignore_result=True`)",
        ),
        Invalid(
            "from celery import chain, group\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    return chain(group([resize.s(i) for i in ids]), publish.s()).delay()\n",
            files=_FILES,
            path="media/views.py",
            line=5,
            message="Chord header task `resize` ignores its result (`ignore_result=True`)",
        ),
        Invalid(
            "from celery import chord\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    header = []\n    for i in ids:\n        header.append(resize.s(i))\n"
            "    chord(header)(publish.s())\n",
            files=_FILES,
            path="media/views.py",
            line=7,
            message="Chord header task `resize` ignores its result (`ignore_result=True`)",
        ),
        Invalid(
            "from celery import chord\nfrom media.tasks import measure, publish\n\n"
            "def run(ids):\n    return chord(header=[measure.s(i) for i in ids], body=publish.s()).delay()\n",
            files={**_FILES, "media/settings.py": "CELERY_TASK_IGNORE_RESULT = True\n"},
            path="media/views.py",
            line=5,
            message="Chord header task `measure` ignores its result (`task_ignore_result`",
        ),
    )
    valid = (
        Valid(
            "from celery import chord\nfrom media.tasks import measure, publish\n\n"
            "def run(ids):\n    return chord(measure.s(i) for i in ids)(publish.s())\n",
            files=_FILES,
            path="media/views.py",
        ),
        Valid(
            "from celery import group\nfrom media.tasks import resize\n\n"
            "def run(ids):\n    return group(resize.s(i) for i in ids).delay()\n",
            files=_FILES,
            path="media/views.py",
        ),
        Valid(
            "from celery import chord\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    return chord([publish.s(ids)], resize.s())()\n",
            files=_FILES,
            path="media/views.py",
        ),
        Valid(
            "from celery import chain\nfrom media.tasks import publish, resize\n\n"
            "def run(ids):\n    return chain(resize.s(ids[0]), publish.s()).delay()\n",
            files=_FILES,
            path="media/views.py",
        ),
        Valid(
            "from celery import chord, shared_task\n\n"
            "@shared_task(ignore_result=False)\ndef measure(i):\n    return i\n\n"
            "@shared_task\ndef total(results):\n    return sum(results)\n\n"
            "def run(ids):\n    return chord(measure.s(i) for i in ids)(total.s())\n",
            files={"settings.py": "CELERY_TASK_IGNORE_RESULT = True\n"},
        ),
        Valid(
            "from celery import chord\nfrom media.tasks import publish\nfrom media.helpers import steps\n\n"
            "def run(ids):\n    return chord(steps(ids))(publish.s())\n",
            files=_FILES,
            path="media/views.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        path = self.ctx.model.qualname(node.func, self.ctx.scope)
        if path == celery_names.CHORD:
            header = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "header"), None)
            if header is not None:
                self._check_header(header)
        elif path == celery_names.CHAIN:
            for part in node.args[:-1]:
                if self._is_group(part):
                    self._check_header(part)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.BitOr) and self._is_group(node.left):
            self._check_header(node.left)

    def _is_group(self, node: ast.expr) -> bool:
        value = self.ctx.model.value_of(node, self.ctx.scope)
        return value is not None and value.kind is Kind.CANVAS and value.canvas == "group"

    def _check_header(self, header: ast.expr) -> None:
        for element in self._elements(header, 0):
            value = self.ctx.model.value_of(element, self.ctx.scope)
            if value is None or value.kind is not Kind.SIGNATURE or value.task is None:
                continue
            why = self._ignores(value.task.qualname)
            if why is not None:
                name = value.task.qualname.rpartition(".")[2]
                self.report(element, f"Chord header task `{name}` {why}: the chord's body never runs")

    def _elements(self, node: ast.expr, depth: int) -> list[ast.expr]:
        """The signatures a header expression is made of."""
        if depth > _MAX_DEPTH:
            return []
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return list(node.elts)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return [node.elt]
        if isinstance(node, ast.Call) and self.ctx.model.qualname(node.func, self.ctx.scope) == celery_names.GROUP:
            if len(node.args) == 1:
                return self._elements(node.args[0], depth + 1) or list(node.args)
            return list(node.args)
        if isinstance(node, ast.Name):
            found = self.ctx.model.lookup(node.id, self.ctx.scope)
            if found is not None and len(found[0]) == 1 and isinstance(found[0][0], ast.expr):
                return self._elements(found[0][0], depth + 1) + self._appended(node.id)
        return [node]

    def _appended(self, name: str) -> list[ast.expr]:
        """What `name.append(...)` adds to a header list built in a loop."""
        defs = self.ctx.enclosing_defs
        body = defs[-1] if defs else self.ctx.model.tree
        return [
            call.args[0]
            for call in ast.walk(body)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "append"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == name
            and len(call.args) == 1
        ]

    def _ignores(self, qualname: str) -> str | None:
        index = self.ctx.index
        task = index.tasks.get(qualname) or self.ctx.model.celery.tasks_by_path.get(qualname)
        if task is None:
            return None
        options = index.task_options(task)
        if "ignore_result" in options:
            return "ignores its result (`ignore_result=True`)" if options["ignore_result"] is True else None
        if SPLAT not in options and True in index.setting("task_ignore_result"):
            return "ignores its result (`task_ignore_result` is set)"
        return None
