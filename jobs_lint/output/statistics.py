"""`--statistics`: findings counted per rule, as text or (with `--output-format json`) as JSON."""

from __future__ import annotations

import json
from collections import Counter

from jobs_lint.output.report import Report


def statistics(report: Report, output_format: str) -> str:
    from jobs_lint.rules import RULES

    counts = Counter(d.code for d in report.diagnostics)
    fixable = {d.code for d in report.diagnostics if report.fixable(d)}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if output_format == "json":
        rows = [
            {
                "code": code,
                "name": RULES[code].name if code in RULES else None,
                "count": count,
                "fixable": code in fixable,
            }
            for code, count in ordered
        ]
        return json.dumps(rows, indent=2) + "\n"
    width = len(str(max(counts.values(), default=0)))
    lines = []
    for code, count in ordered:
        name = RULES[code].name if code in RULES else ""
        lines.append(f"{count:>{width}}\t{code}\t{'[*]' if code in fixable else '   '} {name}")
    if counts:
        lines.append(f"Found {sum(counts.values())} errors.")
    return "\n".join(lines) + ("\n" if lines else "")
