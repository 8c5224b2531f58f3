"""Web frameworks whose code enqueues jobs: FastAPI endpoints and their background tasks
(`ModuleFacts.extra["background_tasks"]`: the module hands work to them, whose calls are followed
as a job's are), Django transactions (`ModuleFacts.extra["django"]`: the context managers that
open one, and the settings' `ATOMIC_REQUESTS`, which runs every view in one)."""

from __future__ import annotations

import re

from jobs_lint.semantic.tools import Tool, register
from jobs_lint.semantic.web import django, fastapi

register(
    Tool(
        django.FACTS_KEY,
        # Context managers that wrap a Django transaction; settings that make every request one.
        # Views, which `ATOMIC_REQUESTS` runs in a transaction.
        patterns=(
            (b"atomic", re.compile(rb"contextmanager")),
            (b"ATOMIC_REQUESTS", re.compile(rb"DATABASES")),
            (b"(request", re.compile(rb"def \w+\(request\b")),
            (b"View", re.compile(rb"class \w+\(.*View")),
        ),
        facts=django.facts,
        words=(b"atomic", b"ATOMIC_REQUESTS", b"(request", b"View"),
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
