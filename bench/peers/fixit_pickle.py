"""The Fixit rule the benchmark runs: the same pickle-serializer check as JL101's simplest case,
written the way Fixit rules are (a libcst visitor)."""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from fixit import LintRule

SETTINGS = {"task_serializer", "result_serializer", "event_serializer", "serializer"}


class PickleSerializer(LintRule):
    """Celery configured with the pickle serializer."""

    VALID: ClassVar[list[str]] = ["app.conf.update(task_serializer='json')"]
    INVALID: ClassVar[list[str]] = ["app.conf.update(task_serializer='pickle')"]

    def visit_Arg(self, node: cst.Arg) -> None:
        if (
            node.keyword is not None
            and node.keyword.value in SETTINGS
            and isinstance(node.value, cst.SimpleString)
            and node.value.evaluated_value == "pickle"
        ):
            self.report(node, "Celery serializes with pickle")
