from __future__ import annotations

import ast
from typing import Any

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import names as celery_names
from jobs_lint.semantic.celery import tasks as celery_tasks
from jobs_lint.semantic.celery.tasks import SPLAT, TaskNode
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.modules import is_test_module
from jobs_lint.semantic.values import UNKNOWN, literal

WORKER_LOST = ("task_reject_on_worker_lost", "task_retry_on_worker_lost")
TASK_WORKER_LOST = ("reject_on_worker_lost", "retry_on_worker_lost")
_VISIBILITY_TIMEOUT = 3600  # kombu's default for Redis and SQS, in seconds


class LateAckDisabled(Rule):
    """
    ## What it does
    Finds Celery configuration that loses tasks when a worker dies: `task_acks_late=False` (or
    `CELERY_TASK_ACKS_LATE = False`), a task's `acks_late=False`, late acknowledgement without
    `reject_on_worker_lost`, and an app whose configuration never enables late acknowledgement
    anywhere in the project (reported once, at the `Celery(...)` call).

    ## Why is this bad?
    By default Celery acknowledges a message when a worker *starts* the task. If the worker is
    killed mid-task (a deploy, the OOM killer, a lost node), the broker has already forgotten the
    message: the task is silently lost. With `task_acks_late=True` the message is acknowledged
    when the task finishes, so a crash redelivers it. Even then, a pool process that dies
    (SIGKILL, segfault) has its task acknowledged as failed unless
    `task_reject_on_worker_lost=True`, which requeues it instead.

    Late acknowledgement runs a task again after a crash, so the task must be idempotent. A
    task's own `acks_late=False` is a choice when the task can outlive the broker's visibility
    timeout (its time limit is over an hour: a late-acked message would be delivered to a second
    worker while the first still runs it) or records its start (`track_started=True`) so that a
    watcher finds runs that started and never ended: it stays quiet. When
    configuration comes from something jobs-lint cannot read (an unseen module, `**options`),
    the project-wide check stays silent.
    """

    code = "JL105"
    name = "late-ack-disabled"
    summary = "Tasks are acknowledged before they finish and lost when a worker dies"
    # `Celery` alone: the app class may be imported under another name (`Celery as C`).
    needles = ((b"acks_late", b"ACKS_LATE", b"Celery"),)

    invalid = (
        Invalid(
            "from celery import Celery\n\napp = Celery('proj')\napp.conf.update(task_acks_late=False)\n",
            line=4,
            message="`task_acks_late=False`",
        ),
        Invalid(
            "CELERY_TASK_ACKS_LATE = True\n",
            path="proj/settings.py",
            line=1,
            message="Late ack without `task_reject_on_worker_lost=True`",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(acks_late=False, soft_time_limit=300, track_started=False)\n"
            "def charge(order_id):\n    return order_id\n",
            line=3,
            message="Task `charge` is lost when its worker dies mid-run (`acks_late=False`)",
        ),
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj', broker='redis://localhost:6379/0')\n"
            "app.conf.task_serializer = 'json'\n",
            line=3,
            message="This app never enables late acknowledgement (`task_acks_late=True`)",
        ),
        Invalid(
            "from celery import Celery as C\n\napp = C('proj', broker='redis://localhost:6379/0')\n",
            line=3,
            message="This app never enables late acknowledgement (`task_acks_late=True`)",
        ),
        Invalid(
            "from celery import Task\n\n"
            "class Export(Task):\n    acks_late = True\n\n"
            "    def run(self, report_id):\n        return report_id\n",
            line=4,
            message="Task `Export` acks late without `reject_on_worker_lost=True`",
        ),
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
            files={"proj/__init__.py": "", "proj/settings.py": "CELERY_TASK_SERIALIZER = 'json'\n"},
            path="proj/celery.py",
            line=3,
            message="This app never enables late acknowledgement (`task_acks_late=True`)",
        ),
        Invalid(
            "from proj import base\n\ntask_acks_late = base.task_acks_late\n",
            files={"proj/__init__.py": "", "proj/base.py": "task_acks_late = False\n"},
            path="proj/celeryconfig.py",
            line=3,
            message="`task_acks_late=False`",
        ),
        Invalid(
            "from celery import Celery\nfrom proj.settings import settings\n\n"
            "app = Celery('proj')\n"
            "app.conf.task_acks_late = settings.celery_acks_late\n",
            files={
                "proj/__init__.py": "",
                "proj/settings.py": "from pydantic_settings import BaseSettings\n\n"
                "class Settings(BaseSettings):\n    celery_acks_late: bool = False\n\n"
                "settings = Settings()\n",
            },
            path="proj/celery.py",
            line=5,
            message="`task_acks_late=False`",
        ),
        Invalid(
            "from proj.celery import task\n\n@task(acks_late=False)\ndef charge(order_id):\n    return order_id\n",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\n\n"
                "def task(*args, **options):\n    return app.task(*args, queue='billing', **options)\n",
            },
            path="proj/tasks.py",
            line=3,
            message="Task `charge` is lost when its worker dies mid-run (`acks_late=False`)",
        ),
        Invalid(
            "from proj.worker import celery\n\n"
            "@celery.task(acks_late=False)\ndef sync(source_id):\n    return source_id\n",
            files={
                "proj/__init__.py": "",
                "proj/factory.py": "from celery import Celery\n\n"
                "def make_celery(flask_app):\n"
                "    app = Celery(flask_app.import_name)\n    app.conf.update(task_acks_late=True)\n    return app\n",
                "proj/worker.py": "from proj.factory import make_celery\nfrom proj.web import flask_app\n\n"
                "celery = make_celery(flask_app)\n",
            },
            path="proj/tasks.py",
            line=3,
            message="Task `sync` is lost when its worker dies mid-run (`acks_late=False`)",
        ),
    )
    valid = (
        Valid(
            "from proj.celery import task\n\n@task(acks_late=True)\ndef charge(order_id):\n    return order_id\n",
            files={
                "proj/__init__.py": "",
                "proj/celery.py": "from celery import shared_task\n\n"
                "def task(**options):\n"
                "    return lambda f: shared_task(reject_on_worker_lost=True, **options)(f)\n",
            },
            path="proj/tasks.py",
        ),
        Valid(
            "from proj import base\n\n"
            "task_acks_late = base.task_acks_late\n"
            "task_reject_on_worker_lost = base.task_reject_on_worker_lost\n",
            files={
                "proj/__init__.py": "",
                "proj/base.py": "task_acks_late = True\ntask_reject_on_worker_lost = True\n",
            },
            path="proj/celeryconfig.py",
        ),
        Valid(
            "from celery import Celery\n\napp = Celery('proj')\napp.config_from_object('proj.celeryconfig')\n",
            files={
                "proj/__init__.py": "",
                "proj/celeryconfig.py": "from proj import base\n\ntask_acks_late = base.task_acks_late\n",
                "proj/base.py": "task_acks_late = read_flag('ACKS_LATE')\n",
            },
            path="proj/celery.py",
        ),
        Valid(
            "from celery import Celery\nfrom proj.settings import settings\n\n"
            "app = Celery('proj')\n"
            "app.conf.task_acks_late = settings.celery_acks_late\n",
            files={
                "proj/__init__.py": "",
                "proj/settings.py": "from pydantic_settings import BaseSettings\n\n"
                "class Settings(BaseSettings):\n    celery_acks_late: bool = False\n\n"
                "settings = Settings(celery_acks_late=True)\n",
            },
            path="proj/celery.py",
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)\n"
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
            files={
                "proj/__init__.py": "",
                "proj/settings.py": "CELERY_TASK_ACKS_LATE = True\nCELERY_TASK_REJECT_ON_WORKER_LOST = True\n",
            },
            path="proj/celery.py",
        ),
        Valid(
            "from celery import Celery\n\napp = Celery('proj')\napp.config_from_object(settings_from_environment())\n"
        ),
        Valid("from celery import Celery\n\napp = Celery('proj')\napp.conf.update(**CONFIG)\n"),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(acks_late=True, reject_on_worker_lost=True)\n"
            "def charge(order_id):\n    return order_id\n"
        ),
        Valid("ACKS_LATE = False\nacks_late = False\n", path="proj/settings.py"),
        Valid(
            "from celery import Celery\n\ndef make_test_app():\n    return Celery('test')\n",
            path="tests/conftest.py",
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.task_acks_late = True\n"
            "app.conf.task_reject_on_worker_lost = ENV_REJECT\n"
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(acks_late=False, soft_time_limit=6 * 60 * 60)\n"
            "def reindex(source_id):\n    return source_id\n\n"
            "@shared_task(acks_late=False, track_started=True)\n"
            "def proxy(attempt_id):\n    return attempt_id\n"
        ),
    )

    def finish(self) -> None:
        for entry in self.ctx.model.celery.config:
            if entry.key != "task_acks_late":
                continue
            if entry.value is False:
                self.report(entry.node, "`task_acks_late=False`: a task is lost when its worker dies mid-run")
            elif entry.value is True and not self._global_worker_lost():
                self.report(
                    entry.node,
                    "Late ack without `task_reject_on_worker_lost=True`: a task whose pool process "
                    "is killed is acknowledged and lost",
                )

    def visit_Call(self, node: ast.Call) -> None:
        model = self.ctx.model
        path = model.qualname(node.func, self.ctx.scope)
        if path != celery_names.APP_CLASS and path not in model.local_app_classes:
            return
        if is_test_module(model.module, model.path) or self._late_ack_anywhere():
            return
        self.report(
            node,
            "This app never enables late acknowledgement (`task_acks_late=True`): a task is lost "
            "when its worker dies mid-run",
        )

    def visit_FunctionDef(self, node: TaskNode) -> None:
        task = self.ctx.model.task_of(node)
        if task is None:
            return
        written = celery_tasks.option_nodes(node, task, self.ctx.model)
        if "acks_late" not in written:
            return
        value = literal(written["acks_late"])
        if value is False and _loss_handled(written):
            return
        if value is False:
            self.report(
                written["acks_late"], f"Task `{node.name}` is lost when its worker dies mid-run (`acks_late=False`)"
            )
            return
        options = self.ctx.index.task_options(task)
        if (
            value is True
            and SPLAT not in options
            and not _enabled(options, TASK_WORKER_LOST)
            and not self._global_worker_lost()
        ):
            self.report(
                written["acks_late"],
                f"Task `{node.name}` acks late without `reject_on_worker_lost=True`: it is lost "
                "when its pool process is killed",
            )

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def _global_worker_lost(self) -> bool:
        index = self.ctx.index
        return _config_unknown(self.ctx) or any(
            value is True or value is UNKNOWN for key in WORKER_LOST for value in index.setting(key)
        )

    def _late_ack_anywhere(self) -> bool:
        """Whether late ack is (or may be) on somewhere: globally, on a task, or on a base class."""
        index = self.ctx.index
        if _config_unknown(self.ctx) or index.setting("task_acks_late"):
            return True
        # Asked at every app of the project: looked up once per project.
        return index.merged(f"{self.code}.late_ack_on_a_task", _late_ack_on_a_task)


def _loss_handled(written: dict[str, ast.expr]) -> bool:
    """A task that opts out of late ack knowing the cost: it records its start for a watcher to
    find runs that started and never ended (`track_started=True`), or it may run longer than a
    Redis or SQS broker's visibility timeout (an hour by default), after which a late-acked
    message is delivered to a second worker while the first still runs it."""
    if literal(written.get("track_started")) is True:
        return True
    limits = (literal(written.get(key)) for key in ("time_limit", "soft_time_limit"))
    return any(isinstance(limit, (int, float)) and limit > _VISIBILITY_TIMEOUT for limit in limits)


def _late_ack_on_a_task(index: ProjectIndex) -> bool:
    return any(_enabled(task.options, ("acks_late",)) for task in index.tasks.values()) or any(
        _enabled(options, ("acks_late",)) for _, options in index.classes.values()
    )


def _enabled(options: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(options.get(key) is True or options.get(key) is UNKNOWN for key in keys)


def _config_unknown(ctx: Any) -> bool:
    """Configuration from something the linter cannot read: a setting may be anywhere in it."""
    index = ctx.index
    return bool(index.config_opaque) or any(module not in index.modules for module in index.config_modules)
