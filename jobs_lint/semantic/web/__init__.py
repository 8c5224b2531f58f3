"""Web frameworks whose code enqueues jobs: FastAPI endpoints and their background tasks
(`ModuleFacts.extra["background_tasks"]`: the module hands work to them, whose calls are followed
as a job's are), Django transactions (`ModuleFacts.extra["django"]`: the context managers that
open one)."""

from __future__ import annotations

import re

from jobs_lint.semantic.tools import Tool, register
from jobs_lint.semantic.web import django, fastapi

register(
    Tool(
        django.FACTS_KEY,
        # Context managers that wrap a Django transaction.
        patterns=((b"atomic", re.compile(rb"contextmanager")),),
        facts=django.facts,
        words=(b"atomic",),
    )
)
register(
    Tool(
        fastapi.BACKGROUND_TASKS_FACT,
        patterns=((b"add_task", re.compile(rb"BackgroundTasks")),),
        facts=fastapi.background_facts,
        words=(b"add_task",),
        defines_jobs=True,
    )
)
