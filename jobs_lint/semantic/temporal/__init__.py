"""Temporal: workflows, the code they replay, activities, and the calls that schedule them
(`ModuleFacts.extra["temporal"]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobs_lint.semantic.temporal.names import FACTS_KEY
from jobs_lint.semantic.tools import Tool, register

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.temporal.project import TemporalFacts


def _facts(model: ModuleModel) -> TemporalFacts | None:
    return model.temporal.facts()


register(Tool(FACTS_KEY, needles=(b"temporalio",), facts=_facts, words=(b"temporalio",), defines_jobs=True))
