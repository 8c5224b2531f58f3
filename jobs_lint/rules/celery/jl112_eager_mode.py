from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.modules import is_test_module, is_test_name

EAGER = "task_always_eager"
# A path part, function name or condition that says "tests": `tests/`, `test_settings.py`,
# `settings/testing.py`, `conftest.py`, `if "pytest" in sys.modules:`.


class EagerMode(Rule):
    """
    ## What it does
    Finds `task_always_eager=True` (`CELERY_TASK_ALWAYS_EAGER`, or Celery 3's
    `CELERY_ALWAYS_EAGER`) in configuration that is not a test's: a settings module, a
    celeryconfig, `app.conf`. Test modules (`tests/`, `test_*.py`, `settings/testing.py`,
    `conftest.py`), functions named for tests and blocks under a test condition
    (`if TESTING:`) are left alone.

    ## Why is this bad?
    Eager mode runs every task inline, in the caller's process, when `.delay()` is called: no
    broker, no worker, no serialization, no retries with backoff, no time limits, no
    `acks_late`. In production the web request waits for the task and a failure becomes the
    request's failure; in development it hides every bug that only shows when tasks run
    elsewhere (unserializable arguments, reading rows before the commit). Even in tests Celery
    recommends real workers (`celery.contrib.testing.worker.start_worker`).
    """

    code = "JL112"
    name = "eager-mode"
    summary = "Tasks run eagerly, in the caller, outside tests"
    needles = ((b"ALWAYS_EAGER", b"always_eager"),)

    invalid = (
        Invalid(
            "CELERY_TASK_ALWAYS_EAGER = True\n",
            path="proj/settings.py",
            line=1,
            message="Tasks run eagerly, in the caller, outside tests",
        ),
        Invalid(
            "CELERY_ALWAYS_EAGER = True\nBROKER_URL = 'memory://'\n",
            path="proj/settings/dev.py",
            line=1,
            message="Tasks run eagerly, in the caller, outside tests",
        ),
        Invalid(
            "from celery import Celery\n\napp = Celery('proj', task_always_eager=True)\n",
            path="proj/celery.py",
            line=3,
            message="Tasks run eagerly, in the caller, outside tests",
        ),
        Invalid(
            "from proj.celery import app\n\napp.conf.task_always_eager = True\n",
            files={"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"},
            path="proj/local.py",
            line=3,
            message="Tasks run eagerly, in the caller, outside tests",
        ),
        Invalid(
            "from celery import Celery\n\napp = Celery('proj')\napp.conf.update({'task_always_eager': True})\n",
            path="proj/worker.py",
            line=4,
            message="Tasks run eagerly, in the caller, outside tests",
        ),
    )
    valid = (
        Valid("CELERY_TASK_ALWAYS_EAGER = True\n", path="proj/tests/settings.py"),
        Valid("CELERY_TASK_ALWAYS_EAGER = True\n", path="proj/settings/testing.py"),
        Valid(
            "import sys\n\nCELERY_TASK_ALWAYS_EAGER = False\n"
            "if 'pytest' in sys.modules:\n    CELERY_TASK_ALWAYS_EAGER = True\n",
            path="proj/settings.py",
        ),
        Valid(
            "import os\n\nCELERY_TASK_ALWAYS_EAGER = os.environ.get('EAGER') == '1'\n",
            path="proj/settings.py",
        ),
        Valid("TASK_ALWAYS_EAGER = True\nALWAYS_EAGER = True\n", path="proj/settings.py"),
        Valid(
            "from celery import Celery\n\napp = Celery('proj')\n\n"
            "def make_test_app():\n    app.conf.task_always_eager = True\n    return app\n",
            path="proj/celery.py",
        ),
    )

    def finish(self) -> None:
        ctx = self.ctx
        entries = [e for e in ctx.model.celery.config if e.key == EAGER and e.value is True]
        if not entries or is_test_module(ctx.model.module, ctx.model.path):
            return
        for entry in entries:
            if not self._under_test_context(entry.node.lineno):
                self.report(entry.node, "Tasks run eagerly, in the caller, outside tests: remove `task_always_eager`")

    def _under_test_context(self, line: int) -> bool:
        for node in ast.walk(self.ctx.model.tree):
            if isinstance(node, ast.If):
                named = ast.unparse(node.test)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                named = node.name
            else:
                continue
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end and is_test_name(named):
                return True
        return False
