"""`jobs-lint check - --stdin-filename PATH`: check text piped in by an editor or a formatter.

The text is checked as the contents of PATH (which need not exist): its settings come from the
pyproject.toml nearest to PATH, and it is checked against the index of that project. With
`--fix` the fixed text goes to standard output and the remaining findings to standard error, as
ruff does, so that `jobs-lint --fix - < a.py > b.py` works as a filter.
"""

from __future__ import annotations

import difflib
import io
import os
import sys
import tokenize
from collections import Counter
from contextlib import redirect_stdout

from jobs_lint import fixer
from jobs_lint.checker import UnreadableSource, decode
from jobs_lint.commands import Options, print_report
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.discovery import display_path
from jobs_lint.document import Project
from jobs_lint.output import Report
from jobs_lint.settings import ConfigError
from jobs_lint.source import Source


def run_stdin(options: Options, filename: str | None) -> int:
    if options.add_noqa:
        raise ConfigError("--add-noqa changes files in place; it cannot read standard input")
    name = display_path(os.path.normpath(filename)) if filename else "-"
    data = sys.stdin.buffer.read()
    project = Project.open(
        filename or os.path.join(os.getcwd(), "-"),
        config=options.config,
        overrides=options.overrides,
        use_cache=options.use_cache,
        parallel=True,
    )
    settings = project.settings
    try:
        text = decode(name, data).text
    except UnreadableSource as problem:
        text = None
        diagnostics = [
            Diagnostic(problem.code, problem.message, name, problem.line, problem.col, problem.line, problem.col)
        ]
    if text is not None:
        skipped = settings.force_exclude and filename is not None and project.excluded(filename)
        diagnostics = [] if skipped else project.check(name, text)
    fixed: Counter[tuple[str, str]] = Counter()
    output = data  # with --fix, standard output carries the text, fixed or (if it cannot be) as it came
    if (settings.fix or options.diff) and text is not None:
        outcome = fixer.fix_text(text, diagnostics, lambda new: project.check(name, new), settings.unsafe_fixes)
        diagnostics = outcome.remaining
        fixed.update({(name, code): count for code, count in outcome.fixed.items()})
        if options.diff:
            return _print_diff(name, text, outcome.text, sum(fixed.values()))
        output = outcome.text.encode(_encoding(data))
    report = Report(
        diagnostics,
        root=settings.root,
        files={name: os.path.abspath(filename or name)},
        unsafe_fixes=settings.unsafe_fixes,
        fixed=sum(fixed.values()),
        quiet=options.quiet,
        _sources={name: Source(name, text) if text is not None else None},  # snippets: not on disk
    )
    if settings.fix:
        sys.stdout.flush()
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
        with redirect_stdout(sys.stderr):
            print_report(report, settings, options, fixed)
    else:
        print_report(report, settings, options, fixed)
    if any(d.code == "JL005" for d in diagnostics):
        return 2
    return 1 if diagnostics and not options.exit_zero else 0


def _encoding(data: bytes) -> str:
    """The encoding the text came in (its coding cookie, or UTF-8), to send it back in."""
    return tokenize.detect_encoding(io.BytesIO(data).readline)[0]


def _print_diff(name: str, before: str, after: str, count: int) -> int:
    sys.stdout.writelines(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
        )
    )
    if count:
        print(f"\nWould fix {count} error{'s' if count != 1 else ''}.", file=sys.stderr)
    else:
        print("No errors would be fixed.", file=sys.stderr)
    return 1 if after != before else 0
