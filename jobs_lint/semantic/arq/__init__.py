"""ARQ: worker settings, the jobs they register, pools, and retries (`ModuleFacts.extra["arq"]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs_lint.semantic.arq.project import FACTS_KEY
from jobs_lint.semantic.tools import Tool, register

if TYPE_CHECKING:
    from jobs_lint.semantic.arq.project import ArqFacts
    from jobs_lint.semantic.model import ModuleModel


def _facts(model: ModuleModel) -> ArqFacts | None:
    return model.arq.facts()


register(
    Tool(
        FACTS_KEY,
        needles=(b"from arq", b"import arq", b"WorkerSettings"),
        facts=_facts,
        words=(b"arq", b"WorkerSettings"),
        defines_jobs=True,
    )
)
