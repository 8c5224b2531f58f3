"""Output formats. Each takes the findings of a run and returns the text to print.

Formatters are imported when chosen: a warm run prints one format and should load only it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from jobs_lint.output.report import Report

_FORMATTERS = {
    "text": ("jobs_lint.output.text", "full"),
    "concise": ("jobs_lint.output.text", "concise"),
    "json": ("jobs_lint.output.json_format", "json_output"),
    "sarif": ("jobs_lint.output.sarif", "sarif"),
    "github": ("jobs_lint.output.github", "github"),
    "junit": ("jobs_lint.output.junit", "junit"),
}


def formatter(name: str) -> Callable[[Report], str]:
    module, function = _FORMATTERS[name]
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


__all__ = ["Report", "formatter"]
