"""What a check produces: diagnostics, and the fixes some of them carry.

Positions are 1-based lines and 1-based character columns, the same as ruff's JSON output, so
every output format and the fixer can use them without converting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Applicability(str, Enum):
    """Whether a fix may be applied by `--fix` alone or needs `--unsafe-fixes` as well."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two positions (end exclusive) with `content`."""

    line: int
    col: int
    end_line: int
    end_col: int
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    message: str
    edits: tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE
    # (module, name) pairs the fixed code needs imported; name None means `import module`.
    imports: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Landing:
    """Where a finding reached through calls lands when the effect's file is checked too: the
    effect's line in that file (`jobs_lint.landing`), rather than the job's call line."""

    path: str  # the file the effect is in
    line: int
    callee: str  # what the effect calls (`requests.post`), to find its columns there
    # The reported line's text as a related location there ("`send_invoice` calls `Billing.charge`"),
    # empty when `related` lists that line already.
    via: str
    job: str  # the job, task, activity or workflow whose call reaches the effect
    message: str  # the message there, whose chain starts from the job


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    fix: Fix | None = None
    # For a finding reached through calls: each function on the way, as (path, line, text).
    related: tuple[tuple[str, int, str], ...] = ()
    landing: Landing | None = None
    # Lines on which a noqa comment suppresses this diagnostic (its own line first).
    noqa_lines: tuple[int, ...] = field(default=(), compare=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.col, self.code)
