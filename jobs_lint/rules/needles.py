"""Byte strings shared by rules' prefilters (see `Rule.needles`)."""

import re

# Where a task can be defined or referred to.
TASKS = (b"task", b"Task")
# Where a task is defined: `@app.task`, `@shared_task`, `class X(Task)`; for rules whose findings
# lie in a task's own body. Words first, then a pattern: "task" and "Task" alone are common words.
TASK_DEFINITIONS = (
    (b".task", b"shared_task", b"Task"),
    (re.compile(rb"\.task\b|shared_task|Task\)|Task,"),),
)
# Where ARQ jobs can be: `async def job(ctx, ...)` beside or registered by a worker's settings.
ARQ_JOBS = (b"ctx", b"arq", b"WorkerSettings")
# Where Temporal workflows and activities are defined or scheduled.
TEMPORAL = (b"temporalio",)
