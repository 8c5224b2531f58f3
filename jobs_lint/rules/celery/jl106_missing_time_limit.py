from __future__ import annotations

import ast
from typing import Any

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery import names as celery_names
from jobs_lint.semantic.celery import tasks as celery_tasks
from jobs_lint.semantic.celery.tasks import COUNTDOWN, SPLAT, TaskNode, is_number
from jobs_lint.semantic.facts import Signature, TaskInfo
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.modules import is_test_module
from jobs_lint.semantic.syntax import keyword_node
from jobs_lint.semantic.values import UNKNOWN, literal, string_value

LIMITS = ("time_limit", "soft_time_limit")
GLOBAL_LIMITS = ("task_time_limit", "task_soft_time_limit")
DEFAULT_VISIBILITY = 3600  # kombu's Redis default, in seconds


class MissingTimeLimit(Rule):
    """
    ## What it does
    Finds Celery tasks that can run forever and time limits that cannot work:

    - an app (reported once, at its `Celery(...)` call) whose project configures no global
      `task_time_limit` or `task_soft_time_limit` while some of its tasks set no
      `time_limit`/`soft_time_limit` of their own;
    - a `soft_time_limit` not smaller than the `time_limit` it goes with (per task or global);
    - a Redis `visibility_timeout` (in `broker_transport_options`, 3600 s when a `redis://`
      broker leaves it out, the broker read from the environment with a `redis://` default
      included) not larger than the longest hard time limit or the longest literal
      `countdown=` used in the project.

    Configuration the linter cannot read (an unseen module, `**options`, a value computed at
    run time) is unknown, not missing: those checks stay silent.

    ## Why is this bad?
    A task stuck on a network call without a timeout, a lock or an infinite loop holds its
    worker slot forever; a few of them and the worker stops taking work, with nothing in the logs.
    The soft limit raises `SoftTimeLimitExceeded` so the task can clean up, and must come before
    the hard limit that kills the process, or it never fires.

    Redis has no acknowledgements: a message a worker has taken becomes visible again after
    `visibility_timeout` seconds. A task that runs longer, or is scheduled further ahead with a
    countdown or ETA, is delivered to a second worker while the first still holds it, and runs
    twice.
    """

    code = "JL106"
    name = "missing-time-limit"
    summary = "Tasks can run forever, or time limits and the visibility timeout disagree"
    # `Celery` alone: the app class may be imported under another name (`Celery as C`).
    needles = ((b"Celery", b"time_limit", b"TIME_LIMIT", b"visibility_timeout", b"redis"),)

    invalid = (
        Invalid(
            "from celery import Celery\n\napp = Celery('proj')\n\n@app.task\ndef crawl(url):\n    return url\n",
            line=3,
            message="No time limit",
        ),
        Invalid(
            "from celery import Celery as C\n\napp = C('proj')\n\n@app.task\ndef crawl(url):\n    return url\n",
            line=3,
            message="No time limit",
        ),
        Invalid(
            "from celery import shared_task\n\n"
            "@shared_task(soft_time_limit=300, time_limit=300)\n"
            "def render(report_id):\n    return report_id\n",
            line=3,
            message="Task `render`",
        ),
        Invalid(
            "CELERY_TASK_TIME_LIMIT = 2 * 60 * 60\nCELERY_BROKER_TRANSPORT_OPTIONS = {'visibility_timeout': 3600}\n",
            path="proj/settings.py",
            line=2,
            message="`visibility_timeout` (3600 s) is not above the longest time limit",
        ),
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_time_limit=600, task_soft_time_limit=900)\n",
            line=4,
            message="`task_soft_time_limit` (900 s) is not below `task_time_limit` (600 s)",
        ),
        Invalid(
            "import os\nfrom celery import Celery\n\n"
            "BROKER_URL = os.getenv('BROKER_URL', 'redis://localhost:6379/0')\n"
            "app = Celery('proj', broker=BROKER_URL)\n"
            "app.conf.update(task_time_limit=8 * 3600, task_acks_late=True)\n",
            line=5,
            message="the default Redis `visibility_timeout` (3600 s) is not above the longest time limit (28800 s)",
        ),
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj', broker='redis://localhost:6379/0')\n"
            "app.conf.task_time_limit = 300\n",
            files={
                "proj/__init__.py": "",
                "proj/reminders.py": "from proj.tasks import remind\n\n"
                "def later(user_id):\n    remind.apply_async((user_id,), countdown=2 * 24 * 3600)\n",
            },
            path="proj/celery.py",
            line=3,
            message="the default Redis `visibility_timeout` (3600 s) is not above the",
        ),
        Invalid(
            "from celery import Celery\n\n"
            "app = Celery('proj', broker='redis://localhost:6379/0')\n"
            "app.conf.task_time_limit = 300\n",
            files={
                "proj/__init__.py": "",
                "proj/reminders.py": "from proj.tasks import remind\n\n"
                "LATER = {'countdown': 2 * 24 * 3600, 'queue': 'reminders'}\n\n"
                "def later(user_id):\n    remind.apply_async((user_id,), **LATER)\n",
            },
            path="proj/celery.py",
            line=3,
            message="is not above the longest countdown (172800 s)",
        ),
        Invalid(
            "from celery import Task\n\n"
            "class Export(Task):\n    time_limit = 60\n    soft_time_limit = 120\n\n"
            "    def run(self, report_id):\n        return report_id\n",
            line=5,
            message="Task `Export`",
        ),
    )
    valid = (
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj', broker='redis://localhost:6379/0')\n"
            "app.conf.task_time_limit = 300\n",
            files={
                "proj/__init__.py": "",
                "proj/reminders.py": "from proj.tasks import remind\n\n"
                "def later(user_id, options):\n"
                "    soon = dict(countdown=60)\n"
                "    remind.apply_async((user_id,), **soon)\n"
                "    remind.apply_async((user_id,), **options)\n",
            },
            path="proj/celery.py",
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(task_time_limit=600, task_soft_time_limit=540)\n\n"
            "@app.task\ndef crawl(url):\n    return url\n"
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
            files={
                "proj/__init__.py": "",
                "proj/settings.py": "import os\n\nCELERY_TASK_TIME_LIMIT = int(os.environ['TASK_TIME_LIMIT'])\n",
                "proj/tasks.py": "from celery import shared_task\n\n@shared_task\ndef crawl(url):\n    return url\n",
            },
            path="proj/celery.py",
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n"
            "app.conf.update(**load_settings())\n\n"
            "@app.task\ndef crawl(url):\n    return url\n"
        ),
        Valid(
            "from celery import Celery\n\n"
            "app = Celery('proj')\n\n"
            "@app.task(time_limit=60, soft_time_limit=50)\ndef crawl(url):\n    return url\n"
        ),
        Valid(
            "CELERY_TASK_TIME_LIMIT = 2 * 60 * 60\n"
            "CELERY_BROKER_TRANSPORT_OPTIONS = {'visibility_timeout': 3 * 60 * 60}\n",
            path="proj/settings.py",
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(soft_time_limit=LIMIT - 30, time_limit=LIMIT)\n"
            "def render(report_id):\n    return report_id\n"
        ),
        Valid(
            "import requests\n\n"
            "def fetch(url, time_limit=10, soft_time_limit=20):\n"
            "    return requests.get(url, timeout=time_limit)\n"
        ),
        Valid(
            "import os\nfrom celery import Celery\n\n"
            "BROKER_URL = os.getenv('BROKER_URL', 'amqp://guest@localhost//')\n"
            "REDIS_URL = os.environ.get('REDIS_URL')\n"
            "app = Celery('proj', broker=BROKER_URL, backend=REDIS_URL)\n"
            "app.conf.update(task_time_limit=8 * 3600, task_acks_late=True)\n"
        ),
    )

    # Project-wide: tasks without any limit --------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        model = self.ctx.model
        path = model.qualname(node.func, self.ctx.scope)
        if path != celery_names.APP_CLASS and path not in model.local_app_classes:
            return
        if is_test_module(model.module, model.path) or self._config_unknown() or self._global_limit():
            return
        if _keyword_class_has_limit(node, self):
            return
        # Counted once per project: every app of the project reports the same numbers.
        unlimited, tasks = self.ctx.index.merged(f"{self.code}.unlimited", _unlimited_tasks)
        if unlimited:
            self.report(
                node,
                f"No time limit: {unlimited} of {tasks} tasks set none and no "
                "`task_time_limit` is configured; a hung task holds its worker forever",
            )

    def _global_limit(self) -> bool:
        return any(self.ctx.index.setting(key) for key in GLOBAL_LIMITS)

    def _config_unknown(self) -> bool:
        index = self.ctx.index
        return bool(index.config_opaque) or any(module not in index.modules for module in index.config_modules)

    # Per task: soft >= hard -------------------------------------------------------------------

    def visit_FunctionDef(self, node: TaskNode) -> None:
        task = self.ctx.model.task_of(node)
        if task is None:
            return
        written = celery_tasks.option_nodes(node, task, self.ctx.model)
        if "soft_time_limit" not in written and "time_limit" not in written:
            return
        options = self.ctx.index.task_options(task)
        soft = options.get("soft_time_limit", self._single("task_soft_time_limit"))
        hard = options.get("time_limit", self._single("task_time_limit"))
        if is_number(soft) and is_number(hard) and hard and soft >= hard:
            at = written.get("soft_time_limit") or written["time_limit"]
            self.report(
                at,
                f"Task `{node.name}`: `soft_time_limit` ({soft} s) is not below `time_limit` ({hard} s), "
                "so the task is killed before it can clean up",
            )

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef

    def _single(self, key: str) -> Any:
        """The one value the project gives a setting; UNKNOWN when unset, varied or unreadable."""
        values = self.ctx.index.setting(key)
        return values[0] if len(values) == 1 else UNKNOWN

    # Module configuration: global soft >= hard, visibility timeout ----------------------------

    def finish(self) -> None:
        config = self.ctx.model.celery.config
        # `BROKER_URL = os.getenv(...)` used as `Celery(broker=BROKER_URL)`: reported at the app.
        named = {id(self._binding(entry.node)) for entry in config if entry.key == "broker_url"}
        for entry in config:
            if id(entry.node) in named:
                continue
            if entry.key == "task_soft_time_limit":
                hard = self._single("task_time_limit")
                if is_number(entry.value) and is_number(hard) and hard and entry.value >= hard:
                    self.report(
                        entry.node,
                        f"`task_soft_time_limit` ({entry.value} s) is not below `task_time_limit` ({hard} s)",
                    )
            elif entry.key == "broker_transport_options" and isinstance(entry.node, ast.Dict):
                for key, value in zip(entry.node.keys, entry.node.values, strict=True):
                    if string_value(key) == "visibility_timeout":
                        self._visibility(literal(value), value)
            elif (
                entry.key == "broker_url"
                and (_is_redis(entry.value) or _is_redis(self._fallback(entry.node)))
                and not self._visibility_set()
            ):
                self._visibility(DEFAULT_VISIBILITY, entry.node, default=True)

    def _fallback(self, node: ast.expr) -> Any:
        """The URL a broker read from the environment falls back to, which is the broker the
        project ships with: `os.getenv("BROKER_URL", "redis://...")`, directly or through a
        module-level name."""
        model = self.ctx.model
        call = self._binding(node) if isinstance(node, ast.Name) else node
        if not isinstance(call, ast.Call) or model.qualname(call.func, model.module_scope) not in _ENV_READS:
            return None
        default = call.args[1] if len(call.args) > 1 else keyword_node(call, "default")
        return literal(default) if default is not None else None

    def _binding(self, node: ast.expr) -> ast.expr | None:
        """The one module-level value a name is bound to."""
        if not isinstance(node, ast.Name):
            return None
        model = self.ctx.model
        found = model.lookup(node.id, model.module_scope)
        if found is None or len(found[0]) != 1 or not isinstance(found[0][0], ast.expr):
            return None
        return found[0][0]

    def _visibility(self, timeout: Any, node: ast.expr, *, default: bool = False) -> None:
        if not is_number(timeout):
            return
        hard = self._longest_limit()
        countdown = max(
            (m.extra[COUNTDOWN] for m in self.ctx.index.modules.values() if COUNTDOWN in m.extra), default=None
        )
        what = "the default Redis `visibility_timeout`" if default else "`visibility_timeout`"
        if hard is not None and timeout <= hard:
            self.report(
                node,
                f"{what} ({timeout} s) is not above the longest time limit ({hard} s): a long task "
                "is delivered to a second worker while it runs",
            )
        elif countdown is not None and timeout <= countdown:
            self.report(
                node,
                f"{what} ({timeout} s) is not above the longest countdown ({countdown} s): a "
                "scheduled task is delivered again before it is due",
            )

    def _longest_limit(self) -> float | None:
        index = self.ctx.index
        limits = [v for v in index.setting("task_time_limit") if is_number(v)]
        limits += [
            task.options["time_limit"] for task in index.tasks.values() if is_number(task.options.get("time_limit"))
        ]
        return max(limits, default=None)

    def _visibility_set(self) -> bool:
        if self._config_unknown():
            return True
        for options in self.ctx.index.setting("broker_transport_options"):
            if not isinstance(options, dict) or "visibility_timeout" in options:
                return True
        return bool(self.ctx.index.setting("visibility_timeout"))


def _keyword_class_has_limit(call: ast.Call, rule: MissingTimeLimit) -> bool:
    """`Celery(task_cls=Base)` where `Base` sets a limit for every task."""
    node = keyword_node(call, "task_cls")
    if node is None:
        return False
    path = string_value(node)
    path = path.replace(":", ".") if path else rule.ctx.model.qualname(node, rule.ctx.scope)
    if path is None:
        return True  # a class we cannot see may set one
    entry = rule.ctx.index.classes.get(path)
    if entry is None:
        return True
    # A task with that single base: its options are the ones the class gives every task.
    stand_in = TaskInfo(qualname=path, name=path, signature=Signature(), bases=(path,))
    return any(key in rule.ctx.index.task_options(stand_in) for key in LIMITS)


_ENV_READS = frozenset({"os.getenv", "os.environ.get"})


def _is_redis(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("redis://", "rediss://", "redis+socket://"))


def _has_own_limit(options: dict[str, Any]) -> bool:
    return SPLAT in options or any(key in options for key in LIMITS)


def _unlimited_tasks(index: ProjectIndex) -> tuple[int, int]:
    """How many of the project's tasks (test modules aside) set no time limit, of how many."""
    tasks = [task for task in index.tasks.values() if not is_test_module(task.qualname)]
    return sum(not _has_own_limit(index.task_options(task)) for task in tasks), len(tasks)
