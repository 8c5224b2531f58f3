"""Running jobs-lint on example modules written to a temporary project."""

from __future__ import annotations

import os
from pathlib import Path

from jobs_lint import fixer, runner
from jobs_lint.cache import Cache
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.rules import Case
from jobs_lint.settings import Settings


def write_case(case: Case, root: Path) -> Path:
    for path, code in case.files.items():
        _write(root / path, code)
    main = root / case.path
    _write(main, case.code)
    return main


def _write(path: Path, code: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(code, bytes):
        path.write_bytes(code)
    else:
        path.write_text(code, encoding="utf-8")


def settings_for(root: Path, **overrides: object) -> Settings:
    return Settings(root=str(root)).with_overrides({"select": ("ALL",), **overrides})


def lint(paths: list[Path], root: Path, **overrides: object) -> runner.Run:
    return runner.run([str(p) for p in paths], settings_for(root, **overrides), Cache.disabled())


def findings(run: runner.Run, path: Path, code: str | None = None) -> list[Diagnostic]:
    wanted = os.path.abspath(path)
    return [
        d
        for d in run.diagnostics
        if os.path.abspath(run.sources.get(d.path, d.path)) == wanted and (code is None or d.code == code)
    ]


def fix_with(run: runner.Run, path: Path, code: str, root: Path) -> str:
    """The file after applying `code`'s fixes (unsafe ones too) until none is left."""
    settings = settings_for(root)
    found = findings(run, path, code)
    display = found[0].path if found else str(path)

    def recheck(text: str) -> list[Diagnostic]:
        return [d for d in runner.check_text(display, text, run.index, settings) if d.code == code]

    return fixer.fix_text(path.read_text(encoding="utf-8"), found, recheck, unsafe=True).text
