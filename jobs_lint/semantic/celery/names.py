"""What Celery's public names are, under every path they can be imported from."""

from __future__ import annotations

import re

# Every import path of a Celery object, mapped to one canonical name rules can compare with.
CANONICAL = {
    "celery.app.Celery": "celery.Celery",
    "celery.app.base.Celery": "celery.Celery",
    "celery.app.shared_task": "celery.shared_task",
    "celery.app.task.Task": "celery.Task",
    "celery.app.Task": "celery.Task",
    "celery.task.Task": "celery.Task",
    "celery.task.task": "celery.shared_task",
    "celery.decorators.task": "celery.shared_task",
    "celery.canvas.chain": "celery.chain",
    "celery.canvas._chain": "celery.chain",
    "celery.canvas.group": "celery.group",
    "celery.canvas.chord": "celery.chord",
    "celery.canvas._chord": "celery.chord",
    "celery.canvas.chunks": "celery.chunks",
    "celery.canvas.signature": "celery.signature",
    "celery.canvas.Signature": "celery.signature",
    "celery.canvas.subtask": "celery.signature",
    "celery.Signature": "celery.signature",
    "celery.subtask": "celery.signature",
    "celery.app.current_app": "celery.current_app",
    "celery._state.current_app": "celery.current_app",
    "celery.app.default_app": "celery.current_app",
    "celery.AsyncResult": "celery.result.AsyncResult",
    "celery.app.AsyncResult": "celery.result.AsyncResult",
    "celery.GroupResult": "celery.result.GroupResult",
}

APP_CLASS = "celery.Celery"
TASK_CLASS = "celery.Task"
SHARED_TASK = "celery.shared_task"
CURRENT_APP = "celery.current_app"
SIGNATURE = "celery.signature"
CHAIN = "celery.chain"
GROUP = "celery.group"
CHORD = "celery.chord"
CANVAS_CONSTRUCTORS = {
    "celery.chain": "chain",
    "celery.group": "group",
    "celery.chord": "chord",
    "celery.chunks": "chunks",
    "celery.signature": "signature",
}
RESULT_CLASSES = {
    "celery.result.AsyncResult",
    "celery.result.GroupResult",
    "celery.result.ResultSet",
    "celery.result.EagerResult",
}
ALLOW_JOIN_RESULT = "celery.result.allow_join_result"

# Libraries with a `.task` decorator of their own: `@huey.task()` is not a Celery task.
OTHER_TASK_LIBRARIES = ("huey", "dramatiq", "rq", "prefect", "invoke", "airflow", "taskiq")

# A module that may use a task decorator its project made in another module: `@task`,
# `@base.my_task(...)`, or one imported under another name (`from proj.base import task as job`).
# No prefilter can know a project's factory by name, but factories are named for what they make;
# the index decides whether the name is one.
PROJECT_DECORATOR = re.compile(
    rb"^[ \t]*@[ \t]*[\w.]*task\b|^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+(?:\([\w\s,]*?|[\w \t,]*?)\w*task\b",
    re.MULTILINE,
)

# Celery 3 setting names that are not simply `CELERY_` + the new name in upper case.
_OLD_NAMES = {
    "CELERY_ACKS_LATE": "task_acks_late",
    "CELERY_ALWAYS_EAGER": "task_always_eager",
    "CELERY_EAGER_PROPAGATES_EXCEPTIONS": "task_eager_propagates",
    "CELERY_IGNORE_RESULT": "task_ignore_result",
    "CELERY_REJECT_ON_WORKER_LOST": "task_reject_on_worker_lost",
    "CELERY_TASK_RESULT_EXPIRES": "result_expires",
    "CELERY_ROUTES": "task_routes",
    "CELERY_QUEUES": "task_queues",
    "CELERY_DEFAULT_QUEUE": "task_default_queue",
    "CELERY_MESSAGE_COMPRESSION": "task_compression",
    "CELERYD_TASK_TIME_LIMIT": "task_time_limit",
    "CELERYD_TASK_SOFT_TIME_LIMIT": "task_soft_time_limit",
    "CELERYD_PREFETCH_MULTIPLIER": "worker_prefetch_multiplier",
    "CELERYD_CONCURRENCY": "worker_concurrency",
    "CELERYD_MAX_TASKS_PER_CHILD": "worker_max_tasks_per_child",
    "CELERYBEAT_SCHEDULE": "beat_schedule",
    "CELERYBEAT_SCHEDULER": "beat_scheduler",
    "BROKER_URL": "broker_url",
    "BROKER_TRANSPORT_OPTIONS": "broker_transport_options",
    "CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS": "result_backend_transport_options",
}

# Lowercase settings this linter reads; a module global with one of these names is configuration
# when the module is loaded with `config_from_object`.
KNOWN_SETTINGS = frozenset(
    {
        "accept_content",
        "beat_schedule",
        "broker_transport_options",
        "broker_url",
        "event_serializer",
        "result_accept_content",
        "result_backend",
        "result_backend_transport_options",
        "result_expires",
        "result_serializer",
        "task_acks_late",
        "task_always_eager",
        "task_default_queue",
        "task_ignore_result",
        "task_queues",
        "task_reject_on_worker_lost",
        "task_routes",
        "task_serializer",
        "task_soft_time_limit",
        "task_time_limit",
        "visibility_timeout",
        "worker_prefetch_multiplier",
    }
)


def setting_name(raw: str, *, namespaced: bool) -> str | None:
    """The lowercase setting behind a configuration key, or None if it is not one.

    `namespaced` keys come from Django-style settings modules (`CELERY_TASK_SERIALIZER`);
    others from `app.conf`, `Celery(...)` keywords or celeryconfig modules (`task_serializer`,
    or a Celery 3 name such as `CELERY_TASK_SERIALIZER`).
    """
    if raw in _OLD_NAMES:
        return _OLD_NAMES[raw]
    if raw.startswith("CELERY_") and raw.isupper():
        return raw[len("CELERY_") :].lower()
    if namespaced:
        return None
    if raw.islower() and raw in KNOWN_SETTINGS:
        return raw
    return None
