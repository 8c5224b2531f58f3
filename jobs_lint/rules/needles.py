"""Byte strings shared by rules' prefilters (see `Rule.needles`)."""

import re

from jobs_lint.semantic.celery.names import PROJECT_DECORATOR

# Where a task can be defined or referred to.
TASKS = (b"task", b"Task")
# Where a task is defined: `@app.task`, `@shared_task`, `class X(Task)`; for rules whose findings
# lie in a task's own body, also through a decorator the project made (`@task`, `@job` imported
# as `from proj.base import task as job`). Words first, then patterns: "task" and "Task" alone
# are common words.
TASK_DEFINITIONS = (
    (b"task", b"Task"),
    (re.compile(rb"\.task\b|shared_task|Task\)|Task,"), PROJECT_DECORATOR),
)
# Where ARQ jobs can be: `async def job(ctx, ...)` beside or registered by a worker's settings.
ARQ_JOBS = (b"ctx", b"arq", b"WorkerSettings", b"redis_settings")
# Where Temporal workflows and activities are defined or scheduled.
TEMPORAL = (b"temporalio",)
