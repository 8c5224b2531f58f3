"""Celery: apps, tasks, their options and configuration, signatures and canvases.

Celery's module facts are the fields of `ModuleFacts` (`module.CeleryModule.facts`), merged by
`ProjectIndex`; here it registers the words that make a file worth reading for them.
"""

from __future__ import annotations

import re

from jobs_lint.semantic.celery.names import PROJECT_DECORATOR
from jobs_lint.semantic.tools import Tool, register

# Searched for only in files holding one of the prefixes it starts with: nine files in ten
# hold an underscore, and searching them all for it took a tenth of a cold run's prefilter.
_LOWERCASE_SETTING = re.compile(rb"^(?:task|broker|result|worker)_\w+[ \t]*=", re.MULTILINE)

register(
    Tool(
        "celery",
        needles=(
            b"shared_task",
            b".task(",
            b".task\n",
            b".task\r",
            b".task ",  # @app.task, not self.tasks or .task_id
            b"Task)",
            b"Task,",  # class-based tasks and their bases
            b"countdown=",  # delays that a broker's visibility timeout must exceed
            b"'countdown'",
            b'"countdown"',  # the same in an options dict (`apply_async(**options)`)
        ),
        # Words too common to decide alone: they count only in an import or an assignment, which
        # spares parsing the many modules that mention Celery in passing (half the bytes on real trees).
        patterns=(
            (b"elery", re.compile(rb"^[ \t]*(?:from|import)[ \t]+[\w. ,]*celery", re.MULTILINE)),
            (b"CELERY_", re.compile(rb"^[ \t]*CELERY_\w*[ \t]*=", re.MULTILINE)),
            # Lowercase settings at module level (a base config module others copy from), and
            # settings classes whose defaults configuration may name (`settings.acks_late`).
            *((word, _LOWERCASE_SETTING) for word in (b"task_", b"broker_", b"result_", b"worker_")),
            (b"Settings", re.compile(rb"^class[ \t]+\w*Settings\b", re.MULTILINE)),
            (b"task", PROJECT_DECORATOR),
        ),
    )
)
