"""Human output: `path:line:col: CODE message`, a source snippet, and colour on a terminal."""

from __future__ import annotations

from jobs_lint.diagnostics import Diagnostic
from jobs_lint.output.report import Report

_RESET, _BOLD, _RED, _CYAN, _BLUE = "\x1b[0m", "\x1b[1m", "\x1b[31m", "\x1b[36m", "\x1b[34m"


def _paint(report: Report, text: str, *styles: str) -> str:
    return f"{''.join(styles)}{text}{_RESET}" if report.color else text


def header(report: Report, d: Diagnostic) -> str:
    location = _paint(report, d.path, _BOLD) + f":{d.line}:{d.col}:"
    fixable = _paint(report, "[*]", _CYAN) + " " if report.fixable(d) else ""  # as ruff marks what --fix fixes
    return f"{location} {_paint(report, d.code, _BOLD, _RED)} {fixable}{d.message}"


def concise(report: Report) -> str:
    lines = [header(report, d) for d in report.diagnostics]
    if lines and not report.quiet:
        lines.append("")
    return _with_summary(report, "\n".join(lines))


def full(report: Report) -> str:
    blocks = [
        "\n".join([header(report, diagnostic), *_snippet(report, diagnostic)]) for diagnostic in report.diagnostics
    ]
    body = "\n\n".join(blocks)
    return _with_summary(report, body + "\n" if blocks and not report.quiet else body)


def _with_summary(report: Report, body: str) -> str:
    parts = [body] if body else []
    if not report.quiet:
        parts.append(summary(report))
    return "\n".join(parts) + "\n" if parts else ""


def _snippet(report: Report, d: Diagnostic) -> list[str]:
    source = report.source(d.path)
    if source is None or d.code in ("JL003", "JL004"):
        return []
    first = max(1, d.line - 1)
    last = min(len(source.lines), d.end_line if d.end_line - d.line < 4 else d.line)
    width = len(str(last))
    gutter = _paint(report, " " * width + " |", _BLUE)
    lines = [gutter]
    for number in range(first, last + 1):
        text = source.line(number).expandtabs(4)
        lines.append(_paint(report, f"{number:>{width}} |", _BLUE) + f" {text}")
        if number == d.line:
            start = d.col - 1
            end = d.end_col - 1 if d.end_line == d.line and d.end_col > d.col else len(text.rstrip())
            carets = "^" * max(1, end - start)
            lines.append(gutter + " " + " " * start + _paint(report, f"{carets} {d.code}", _BOLD, _RED))
    lines.append(gutter)
    if d.fix is not None:
        note = "" if report.fixable(d) else " (unsafe: needs --unsafe-fixes)"
        lines.append(" " * width + _paint(report, " = help: ", _CYAN) + d.fix.message + note)
    return lines


def summary(report: Report) -> str:
    count = len(report.diagnostics)
    if report.fixed:
        total = count + report.fixed
        lines = [f"Found {total} error{'s' if total != 1 else ''} ({report.fixed} fixed, {count} remaining)."]
    elif count == 0:
        return "All checks passed!"
    else:
        lines = [f"Found {count} error{'s' if count != 1 else ''}."]
    fixable = sum(1 for d in report.diagnostics if report.fixable(d))
    if fixable:
        lines.append(f"{fixable} fixable with the `--fix` option.")
    if report.hidden_fixes:
        lines.append(f"({report.hidden_fixes} hidden fixes can be enabled with the `--unsafe-fixes` option.)")
    return "\n".join(lines)
