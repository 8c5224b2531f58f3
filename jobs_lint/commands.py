"""What `jobs-lint check` does with its options: run, fix or suppress, print, choose the exit code."""

from __future__ import annotations

import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jobs_lint import fixer, landing, noqa, runner
from jobs_lint.cache import Cache
from jobs_lint.checker import UnreadableSource, decode
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.output import Report, formatter
from jobs_lint.output.statistics import statistics
from jobs_lint.settings import PerDirectory, Settings, load
from jobs_lint.source import Source
from jobs_lint.textdiff import unified_diff

ENGINE_CODES = frozenset({"JL001", "JL002", "JL003", "JL004", "JL005"})


@dataclass
class Options:
    paths: list[str]
    config: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    statistics: bool = False
    exit_zero: bool = False
    diff: bool = False
    add_noqa: bool = False
    use_cache: bool = True
    quiet: bool = False


def run_check(options: Options) -> int:
    settings = load(options.paths, options.config).with_overrides(options.overrides)
    per_directory = PerDirectory(settings, options.overrides, fixed=options.config is not None)
    cache = open_cache(settings, options.use_cache)
    result = runner.run(options.paths, settings, cache, per_directory)
    diagnostics = result.diagnostics
    try:
        if options.add_noqa:
            added = _add_noqa(result, cache)
            print(f"Added {added} noqa directive{'s' if added != 1 else ''}.", file=sys.stderr)
            return 0
        fixed: Counter[tuple[str, str]] = Counter()
        if settings.fix or options.diff:
            diagnostics, fixed, changed = _fix(result, settings, per_directory, cache, write=not options.diff)
            if options.diff:
                return _print_diff(changed, sum(fixed.values()))
        report = Report(
            diagnostics,
            root=settings.root,
            files=result.sources,
            unsafe_fixes=settings.unsafe_fixes,
            color=_use_color(settings.output_format),
            fixed=sum(fixed.values()),
            quiet=options.quiet,
        )
        print_report(report, settings, options, fixed, result.files)
    finally:
        cache.save()
    if any(d.code == "JL005" for d in diagnostics):
        return 2
    return 1 if diagnostics and not options.exit_zero else 0


def open_cache(settings: Settings, enabled: bool) -> Cache:
    if not enabled:
        return Cache.disabled()
    directory = (
        settings.cache_dir or os.environ.get("JOBS_LINT_CACHE_DIR") or os.path.join(settings.root, ".jobs_lint_cache")
    )
    return Cache.open(directory, settings.cache_key())


def print_report(
    report: Report, settings: Settings, options: Options, fixed: Counter[tuple[str, str]], files: int | None = None
) -> None:
    if files == 0:
        # As ruff: nothing was checked, which is not the same as every check passing.
        _warn("No Python files found under the given path(s)")
        if not report.diagnostics and settings.output_format in ("text", "concise"):
            return
    if options.statistics:
        print(statistics(report, settings.output_format), end="")
        return
    if settings.show_fixes and fixed:
        print(_fixed_listing(fixed), file=sys.stderr)
    print(formatter(settings.output_format)(report), end="")


def _fixed_listing(fixed: Counter[tuple[str, str]]) -> str:
    from jobs_lint.rules import RULES

    by_path: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (path, code), count in sorted(fixed.items()):
        by_path[path].append((code, count))
    lines = [f"Fixed {sum(fixed.values())} error{'s' if sum(fixed.values()) != 1 else ''}:"]
    for path, codes in by_path.items():
        lines.append(f"- {path}:")
        for code, count in codes:
            lines.append(f"    {count} x {code} ({RULES[code].name})")
    return "\n".join(lines) + "\n"


def _fix(
    result: runner.Run, settings: Settings, per_directory: PerDirectory, cache: Cache, *, write: bool
) -> tuple[list[Diagnostic], Counter[tuple[str, str]], dict[str, tuple[str, str]]]:
    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in result.diagnostics:
        by_path[diagnostic.path].append(diagnostic)
    remaining: list[Diagnostic] = []
    fixed: Counter[tuple[str, str]] = Counter()
    changed: dict[str, tuple[str, str]] = {}
    for path, everything in by_path.items():
        # Findings that moved in from a job's module are not this file's own: a re-check of
        # its fixed text alone would not find them, and its noqa comments for them stay.
        found = [d for d in everything if not landing.moved_in(d)]
        remaining.extend(d for d in everything if landing.moved_in(d))
        if not any(fixer.applicable(d, settings.unsafe_fixes) for d in found):
            remaining.extend(found)
            continue
        absolute = result.sources.get(path, path)
        source = _read(absolute)
        if source is None:
            remaining.extend(found)
            continue
        original = source.text
        recheck = _rechecker(path, result, per_directory.for_file(os.path.abspath(absolute)))
        outcome = fixer.fix_text(original, found, recheck, settings.unsafe_fixes)
        if outcome.refused is not None:
            _warn(f"not fixing {path}: {outcome.refused}")
        remaining.extend(outcome.remaining)
        for code, count in outcome.fixed.items():
            fixed[(path, code)] += count
        if outcome.text != original:
            changed[path] = (original, outcome.text)
            if write and _write(absolute, outcome.text, source.encoding):
                cache.forget(absolute)
    remaining.sort(key=lambda d: d.sort_key)
    return remaining, fixed, changed


def _rechecker(path: str, result: runner.Run, settings: Settings) -> Callable[[str], list[Diagnostic]]:
    silenced = result.silenced.get(path, set())

    def recheck(text: str) -> list[Diagnostic]:
        found = runner.check_text(path, text, result.index, settings)
        return [d for d in found if not landing.used_after_all(d, silenced)]

    return recheck


def _print_diff(changed: dict[str, tuple[str, str]], count: int) -> int:
    for path, (before, after) in sorted(changed.items()):
        sys.stdout.writelines(
            unified_diff(Source(path, before).lines, Source(path, after).lines, f"a/{path}", f"b/{path}")
        )
    if count:
        print(f"\nWould fix {count} error{'s' if count != 1 else ''}.", file=sys.stderr)
    else:
        print("No errors would be fixed.", file=sys.stderr)
    return 1 if changed else 0


def _add_noqa(result: runner.Run, cache: Cache) -> int:
    by_path: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in result.diagnostics:
        if diagnostic.code not in ENGINE_CODES and diagnostic.code != noqa.UNUSED_NOQA:
            by_path[diagnostic.path].append(diagnostic)
    added = 0
    for path, found in by_path.items():
        absolute = result.sources.get(path, path)
        source = _read(absolute)
        if source is None:
            continue
        edits = noqa.add_noqa_edits(source, found)
        if edits and _write(absolute, fixer.apply_edits(source.text, edits), source.encoding):
            cache.forget(absolute)
            added += len(edits)
    return added


def _read(path: str) -> Source | None:
    """The file in its declared encoding (PEP 263, or a BOM), line endings as they are."""
    try:
        with open(path, "rb") as handle:
            return decode(path, handle.read())
    except (OSError, UnreadableSource) as error:
        _warn(f"cannot read {path} to fix it: {getattr(error, 'strerror', None) or error}")
        return None


def _write(path: str, text: str, encoding: str) -> bool:
    """Write back in the file's own encoding; a fix that does not fit in it is not written."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as error:
        _warn(f"not fixing {path}: the fixed text has {error.object[error.start]!r}, which {encoding} cannot encode")
        return False
    with open(path, "wb") as handle:
        handle.write(data)
    return True


def _warn(message: str) -> None:
    print(f"jobs-lint: warning: {message}", file=sys.stderr)


def _use_color(output_format: str) -> bool:
    if output_format not in ("text", "concise") or os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or sys.stdout.isatty()
