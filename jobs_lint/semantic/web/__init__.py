"""Web frameworks whose code enqueues jobs: FastAPI endpoints and their background tasks
(`ModuleFacts.extra["background_tasks"]`: the module hands work to them, whose calls are followed
as a job's are), Django transactions (`ModuleFacts.extra["django"]`: the context managers that
open one; `["django_requests"]`: the settings' `ATOMIC_REQUESTS`, which runs every view in one,
and the views)."""

from __future__ import annotations

import re

from jobs_lint.semantic.tools import Tool, register
from jobs_lint.semantic.web import django, django_requests, fastapi

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
        django_requests.FACTS_KEY,
        # Settings that run every request in a transaction, and views, which it wraps.
        patterns=(
            (b"ATOMIC_REQUESTS", re.compile(rb"DATABASES")),
            (b"(request", re.compile(rb"def \w+\(request\b")),
            (b"View", re.compile(rb"class \w+\(.*View")),
        ),
        facts=django_requests.facts,
        words=(b"ATOMIC_REQUESTS", b"(request", b"View"),
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
