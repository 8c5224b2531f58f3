"""JSON output in the shape of ruff's, so tools that read ruff's can read ours."""

from __future__ import annotations

import json
import os
from typing import Any

from jobs_lint.diagnostics import Diagnostic
from jobs_lint.output.report import Report


def json_output(report: Report) -> str:
    return json.dumps([_entry(report, d) for d in report.diagnostics], indent=2) + "\n"


def _entry(report: Report, d: Diagnostic) -> dict[str, Any]:
    from jobs_lint.rules import RULES
    from jobs_lint.rules.docs import rule_url

    fix = None
    if d.fix is not None:
        fix = {
            "applicability": d.fix.applicability.value,
            "message": d.fix.message,
            "edits": [
                {
                    "content": e.content,
                    "location": {"row": e.line, "column": e.col},
                    "end_location": {"row": e.end_line, "column": e.end_col},
                }
                for e in d.fix.edits
            ],
        }
    rule = RULES.get(d.code)
    return {
        "code": d.code,
        "name": rule.name if rule else None,
        "message": d.message,
        "filename": os.path.abspath(report.files.get(d.path, d.path)),
        "location": {"row": d.line, "column": d.col},
        "end_location": {"row": d.end_line, "column": d.end_col},
        "fix": fix,
        "noqa_row": d.noqa_lines[0] if d.noqa_lines else d.line,
        "url": rule_url(rule) if rule else None,
        "severity": "error",
    }
