"""Temporal: workflows, the code they replay, activities, and the calls that schedule them
(`ModuleFacts.extra["temporal"]`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from jobs_lint.semantic.temporal import completion, payloads
from jobs_lint.semantic.temporal.names import FACTS_KEY
from jobs_lint.semantic.tools import Tool, register

if TYPE_CHECKING:
    from jobs_lint.semantic.model import ModuleModel
    from jobs_lint.semantic.temporal.project import TemporalFacts


def _facts(model: ModuleModel) -> TemporalFacts | None:
    return model.temporal.facts()


# A package that names activity methods for workflows (`export = ExportActivity.run`) need not
# import temporalio: read it for those aliases, or the workflow's activity stays unknown.
_ACTIVITY_ALIAS = re.compile(rb"^\w+[ \t]*=[ \t]*[A-Za-z_][\w.]*\.\w+[ \t]*(?:#.*)?$", re.MULTILINE)
register(
    Tool(
        FACTS_KEY,
        needles=(b"temporalio",),
        patterns=((b"ctivit", _ACTIVITY_ALIAS),),
        facts=_facts,
        words=(b"temporalio",),
        defines_jobs=True,
    )
)
# A data converter with a payload codec: what the history holds is encoded (JL413's credentials).
register(Tool(payloads.CODEC_KEY, facts=payloads.sets_payload_codec, words=(payloads.CODEC_KEY.encode(),)))
# Whoever completes an activity from outside (`get_async_activity_handle`) is the one to heartbeat
# for it (JL404): such a module need not import temporalio.
register(
    Tool(
        completion.FACTS_KEY,
        needles=(completion.GET_HANDLE.encode(), completion.HANDLE.encode()),
        facts=completion.completer,
        words=(completion.GET_HANDLE.encode(), completion.HANDLE.encode()),
    )
)
