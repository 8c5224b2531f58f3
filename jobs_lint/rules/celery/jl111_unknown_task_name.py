from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import names as celery_names
from jobs_lint.semantic.celery.tasks import RENAMES_TASKS
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import Kind
from jobs_lint.semantic.values import string_value

# Celery's own tasks (`celery.backend_cleanup`, `celery.chord_unlock`), whatever the project
# calls its modules (a project's `celery.py` outside any package is module `celery`).
_BUILTIN_PREFIX = "celery."
_APP = {"proj/__init__.py": "", "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"}
_TASKS = (
    "from celery import shared_task\n\n"
    "@shared_task\ndef cleanup():\n    pass\n\n"
    "@shared_task(name='reports.daily')\ndef daily_report():\n    pass\n"
)
_FILES = {**_APP, "proj/tasks.py": _TASKS}


class UnknownTaskName(Rule):
    """
    ## What it does
    Finds a task named by a string that no task of the project is registered under: the `task`
    of a `beat_schedule` entry, `app.send_task("...")` and `signature("...")`. It speaks only
    when it can know: the name must point into a module of the project that the linter reads,
    so names of tasks from installed libraries (`celery.backend_cleanup`), of packages it cannot
    see, or built at run time (an app that overrides `gen_task_name`), are left alone.

    ## Why is this bad?
    A name is only checked when the message reaches a worker. A renamed or moved task, or a
    typo, makes beat send messages every period that workers reject as unregistered (`Received
    unregistered task of type ...`) and drop, and `send_task` fail silently: the work never
    happens and nothing fails at deploy time.

    Use the task's registered name (its module path, or its `name=`), or call the task object
    (`task.s()`, `task.delay()`) where it can be imported.
    """

    code = "JL111"
    name = "unknown-task-name"
    summary = "A beat schedule, send_task or signature names a task that does not exist"
    # A beat entry is a dict with a "schedule" key, wherever it is built.
    needles = ((b"send_task(", b"signature(", b"subtask(", b"schedule'", b'schedule"'),)

    invalid = (
        Invalid(
            "CELERY_BEAT_SCHEDULE = {\n    'cleanup': {'task': 'proj.tasks.clean_up', 'schedule': 3600},\n}\n",
            files=_FILES,
            path="proj/settings.py",
            line=2,
            message="A beat schedule entry names `proj.tasks.clean_up`, which no task of",
        ),
        Invalid(
            "from proj.celery import app\n\ndef trigger():\n    app.send_task('proj.tasks.daily_report')\n",
            files=_FILES,
            path="proj/views.py",
            line=4,
            message="`send_task()` names `proj.tasks.daily_report`, which no task of the",
        ),
        Invalid(
            "from celery import signature\n\n"
            "def trigger():\n    return signature('proj.tasks.cleanupp', countdown=10)\n",
            files=_FILES,
            path="proj/views.py",
            line=4,
            message="`signature()` names `proj.tasks.cleanupp`, which no task of the",
        ),
        Invalid(
            "from proj.celery import app\n\n"
            "app.conf.beat_schedule = {\n"
            "    'daily': {'task': 'proj.tasks.report_daily', 'schedule': 86400.0},\n"
            "}\n",
            files=_FILES,
            path="proj/beat.py",
            line=4,
            message="A beat schedule entry names `proj.tasks.report_daily`, which no task",
        ),
        Invalid(
            "from celery.schedules import crontab\n\n"
            "def schedule():\n"
            "    return {'nightly': {'task': 'proj.tasks.nightly', 'schedule': crontab(hour=3)}}\n",
            files=_FILES,
            path="proj/schedules.py",
            line=4,
            message="A beat schedule entry names `proj.tasks.nightly`, which no task of",
        ),
        Invalid(
            "CELERY_BEAT_SCHEDULE = {'a': {'task': 'proj.jobs.refresh_all', 'schedule': 60}}\n",
            files={
                **_APP,
                "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\njob = app.task\n",
                "proj/jobs.py": "from proj.celery import job\n\n@job\ndef refresh():\n    pass\n",
            },
            path="proj/settings.py",
            line=1,
            message="A beat schedule entry names `proj.jobs.refresh_all`, which no task",
        ),
    )
    valid = (
        Valid(
            # proj/helpers.py holds no Celery word, so it is only summarised (a task calls into
            # it), never read for its tasks: what `@periodic` registers there is unknown.
            "CELERY_BEAT_SCHEDULE = {'sweep': {'task': 'proj.helpers.sweep', 'schedule': 60}}\n",
            files={
                **_FILES,
                "proj/registry.py": "from celery import shared_task\n\ndef periodic(f):\n    return shared_task(f)\n",
                "proj/helpers.py": "from proj.registry import periodic\n\n"
                "@periodic\ndef sweep():\n    pass\n\ndef tidy():\n    pass\n",
                "proj/tasks.py": _TASKS
                + "\nfrom proj.helpers import tidy\n\n@shared_task\ndef nightly():\n    tidy()\n",
            },
            path="proj/settings.py",
        ),
        Valid(
            "CELERY_BEAT_SCHEDULE = {\n"
            "    'a': {'task': 'proj.jobs.refresh', 'schedule': 60},\n"
            "    'b': {'task': 'proj.jobs.prune', 'schedule': 60},\n"
            "    'c': {'task': 'reports.weekly', 'schedule': 60},\n"
            "}\n",
            files={
                **_APP,
                "proj/celery.py": "from celery import Celery, shared_task\n\n"
                "app = Celery('proj')\njob = shared_task\n\n"
                "def periodic(**options):\n"
                "    def wrap(f):\n        return shared_task(**options)(f)\n    return wrap\n",
                "proj/jobs.py": "from proj.celery import job, periodic\n\n"
                "@job\ndef refresh():\n    pass\n\n"
                "@periodic()\ndef prune():\n    pass\n\n"
                "@periodic(name='reports.weekly')\ndef weekly():\n    pass\n",
            },
            path="proj/settings.py",
        ),
        Valid(
            "CELERY_BEAT_SCHEDULE = {\n"
            "    'cleanup': {'task': 'proj.tasks.cleanup', 'schedule': 3600},\n"
            "    'report': {'task': 'reports.daily', 'schedule': 86400},\n"
            "    'results': {'task': 'celery.backend_cleanup', 'schedule': 86400},\n"
            "}\n",
            files=_FILES,
            path="proj/settings.py",
        ),
        Valid(
            "from proj.celery import app\n\n"
            "def trigger(kind):\n"
            "    app.send_task(f'proj.tasks.{kind}')\n"
            "    app.send_task('billing.tasks.invoice')\n",
            files=_FILES,
            path="proj/views.py",
        ),
        Valid(
            "from celery import signature\n\ndef trigger():\n    return signature('proj.tasks.cleanup')\n",
            files=_FILES,
            path="proj/views.py",
        ),
        Valid(
            "CELERY_BEAT_SCHEDULE = {'x': {'task': 'proj.jobs.run', 'schedule': 60}}\n",
            files={
                **_FILES,
                "proj/jobs.py": "from proj.celery import app\n\ndef run():\n    pass\n\napp.task(run)\n",
            },
            path="proj/settings.py",
        ),
        Valid(
            "from proj.celery import app\n\ndef dispatch(queue):\n    queue.send_task('proj.tasks.missing')\n",
            files=_FILES,
            path="proj/views.py",
        ),
        Valid(
            "CELERY_BEAT_SCHEDULE = {'x': {'task': 'proj.tasks.made', 'schedule': 60}}\n",
            files={
                **_APP,
                "proj/tasks.py": "from proj.celery import app\n\n"
                "def make(name):\n    @app.task(name=name)\n    def made():\n        pass\n    return made\n",
            },
            path="proj/settings.py",
        ),
        Valid(
            "CELERY_BEAT_SCHEDULE = {'cleanup': {'task': 'proj.cleanup', 'schedule': 3600}}\n",
            files={
                **_FILES,
                "proj/__init__.py": "from proj.celery import app as celery_app\n",
                "proj/celery.py": "from celery import Celery\n\n"
                "class App(Celery):\n"
                "    def gen_task_name(self, name, module):\n"
                "        return super().gen_task_name(name, module.removesuffix('.tasks'))\n\n"
                "app = App('proj')\n",
            },
            path="proj/settings.py",
        ),
    )

    def visit_Dict(self, node: ast.Dict) -> None:
        entry = {string_value(key): value for key, value in zip(node.keys, node.values, strict=True) if key}
        if "task" in entry and "schedule" in entry:
            self._check(entry["task"], "A beat schedule entry")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not node.args:
            return
        ctx = self.ctx
        if isinstance(func, ast.Attribute) and func.attr in ("send_task", "signature", "subtask"):
            receiver = ctx.model.value_of(func.value, ctx.scope)
            if receiver is not None and receiver.kind is Kind.APP:
                self._check(node.args[0], f"`{func.attr}()`")
        elif ctx.model.qualname(func, ctx.scope) == celery_names.SIGNATURE:
            self._check(node.args[0], "`signature()`")

    def _check(self, node: ast.expr, where: str) -> None:
        name = string_value(node)
        if name is None or "." not in name or name.startswith(_BUILTIN_PREFIX):
            return
        index = self.ctx.index
        if name in index.task_names:
            return
        module, _, function = name.rpartition(".")
        facts = index.modules.get(module)
        if facts is None or not facts.defined_names or not index.uses_celery:
            return  # a module not read for its definitions (only summarised, or unparsable)
        if index.merged(f"{self.code}.names_unknown", _names_unknown):
            return
        if module in index.merged(f"{self.code}.modules_naming_at_run_time", _modules_naming_at_run_time):
            return  # tasks made inside functions, named at run time
        if function in facts.defined_names and f"{module}.{function}" not in index.tasks:
            return  # a function registered some way the linter cannot see
        task = index.tasks.get(f"{module}.{function}")
        hint = f" (it is registered as `{task.name}`)" if task is not None else ""
        self.report(node, f"{where} names `{name}`, which no task of the project is registered under{hint}")


def _names_unknown(index: ProjectIndex) -> bool:
    """Whether the project's set of task names is unknown: `gen_task_name` overridden (tasks
    without `name=` are named at run time), or some task's name computed."""
    return any(module.extra.get(RENAMES_TASKS) for module in index.modules.values()) or any(
        not isinstance(task.options.get("name", ""), str) for task in index.tasks.values()
    )


def _modules_naming_at_run_time(index: ProjectIndex) -> frozenset[str]:
    """Modules that make tasks inside functions (`module.<locals>...`), named at run time."""
    return frozenset(task.qualname.split(".<", 1)[0] for task in index.tasks.values() if ".<" in task.qualname)
