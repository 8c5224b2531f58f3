"""Output formats. Each takes the findings of a run and returns the text to print."""

from __future__ import annotations

from collections.abc import Callable

from jobs_lint.output.github import github
from jobs_lint.output.json_format import json_output
from jobs_lint.output.junit import junit
from jobs_lint.output.report import Report
from jobs_lint.output.sarif import sarif
from jobs_lint.output.text import concise, full

FORMATTERS: dict[str, Callable[[Report], str]] = {
    "text": full,
    "concise": concise,
    "json": json_output,
    "sarif": sarif,
    "github": github,
    "junit": junit,
}

__all__ = ["FORMATTERS", "Report"]
