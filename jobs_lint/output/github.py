"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""

from __future__ import annotations

from jobs_lint.output.report import Report


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github(report: Report) -> str:
    lines = []
    for d in report.diagnostics:
        properties = ",".join(
            [
                f"title={_property(f'jobs-lint ({d.code})')}",
                f"file={_property(d.path)}",
                f"line={d.line}",
                f"col={d.col}",
                f"endLine={d.end_line}",
                f"endColumn={d.end_col}",
            ]
        )
        lines.append(f"::error {properties}::{_data(f'{d.path}:{d.line}:{d.col}: {d.code} {d.message}')}")
    return "\n".join(lines) + ("\n" if lines else "")
