"""ARQ: worker settings, the jobs they register, pools, and retries (`ModuleFacts.extra["arq"]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs_lint.semantic.arq.project import FACTS_KEY
from jobs_lint.semantic.arq.registries import PATTERNS
from jobs_lint.semantic.tools import Tool, register

if TYPE_CHECKING:
    from jobs_lint.semantic.arq.project import ArqFacts
    from jobs_lint.semantic.model import ModuleModel


def _facts(model: ModuleModel) -> ArqFacts | None:
    return model.arq.facts()


def _named_jobs(facts: ArqFacts) -> set[str]:
    """The functions the module's workers and job lists register, wherever they are defined."""
    found = {ref.target for worker in facts.workers for ref in worker.jobs}
    found.update(ref.target for _, refs in facts.lists for ref in refs)
    return found


register(
    Tool(
        FACTS_KEY,
        needles=(b"from arq", b"import arq", b"WorkerSettings"),
        patterns=PATTERNS,
        facts=_facts,
        words=(b"arq", b"WorkerSettings", *(word for word, _ in PATTERNS)),
        defines_jobs=True,
        named_jobs=_named_jobs,
    )
)
