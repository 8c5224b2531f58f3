"""Web frameworks whose code enqueues jobs: FastAPI endpoints and their background tasks, Django
transactions (`ModuleFacts.extra["django"]`: the context managers that open one)."""

from __future__ import annotations

import re

from jobs_lint.semantic.tools import Tool, register
from jobs_lint.semantic.web import django

register(
    Tool(
        django.FACTS_KEY,
        # Context managers that wrap a Django transaction.
        patterns=((b"atomic", re.compile(rb"contextmanager")),),
        facts=django.facts,
        words=(b"atomic",),
    )
)
