"""The command line, in ruff's shape: `jobs-lint [check] PATHS`, `jobs-lint rule CODE`, `jobs-lint rules`.

Exit codes: 0 nothing found, 1 findings, 2 usage, configuration or internal error. Errors are one
line on stderr; no traceback reaches the user (set JOBS_LINT_TRACEBACK=1 to see one).
argparse rather than a richer framework: its import is nearly free, and the pre-commit case runs
jobs-lint on one file, where start-up is most of the time.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from jobs_lint import __version__

COMMANDS = ("check", "rule", "rules")
ROOT_FLAGS = ("-h", "--help", "-V", "--version")


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    """Usage errors become one line on stderr instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def fail(message: str) -> NoReturn:
    raise UsageError(message)


def _split(values: list[str] | None) -> tuple[str, ...] | None:
    """`--select JL1,JL2 --select JL3` -> (JL1, JL2, JL3)."""
    if values is None:
        return None
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _per_file(values: list[str] | None) -> dict[str, tuple[str, ...]] | None:
    if values is None:
        return None
    parsed: dict[str, tuple[str, ...]] = {}
    for value in values:
        pattern, colon, codes = value.rpartition(":")
        if not colon or not pattern:
            fail(f"--per-file-ignores takes PATTERN:CODES, got `{value}`")
        parsed[pattern] = (*parsed.get(pattern, ()), *(c.strip() for c in codes.split(",") if c.strip()))
    return parsed


def _check_parser() -> Parser:
    check = Parser(prog="jobs-lint check", description="Check files and directories for job-queue anti-patterns.")
    check.add_argument("paths", nargs="*", metavar="PATH", help="Files or directories to check [default: .]")
    repeated = {
        "--select": "Rule codes or prefixes to enable (comma-separated)",
        "--extend-select": "Codes to enable on top of the selection",
        "--ignore": "Codes or prefixes to disable",
        "--per-file-ignores": "PATTERN:CODES, repeatable",
        "--exclude": "Replace the default excluded paths (globs)",
        "--extend-exclude": "More paths to exclude (globs)",
    }
    for flag, text in repeated.items():
        check.add_argument(flag, action="append", help=text)
    switches = {
        "--respect-gitignore": "Skip files .gitignore ignores",
        "--force-exclude": "Apply excludes to paths given explicitly too (for pre-commit)",
        "--fix": "Apply safe fixes",
        "--unsafe-fixes": "Apply and show unsafe fixes too",
        "--show-fixes": "List what --fix fixed",
    }
    for flag, text in switches.items():
        check.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    flags = {
        "--statistics": "Count findings per rule instead of listing them",
        "--exit-zero": "Exit 0 even when there are findings",
        "--diff": "Show the fixes as a diff; change nothing",
        "--add-noqa": "Suppress every current finding with a # noqa comment",
        "--no-cache": "Neither read nor write the cache",
    }
    for flag, text in flags.items():
        check.add_argument(flag, action="store_true", help=text)
    check.add_argument("-q", "--quiet", action="store_true", help="Print findings only, no summary")
    check.add_argument("--output-format", help="text, concise, json, sarif, github or junit")
    check.add_argument("--cache-dir", help="Where to keep the cache [default: .jobs_lint_cache]")
    check.add_argument("--config", help="A pyproject.toml (or TOML file) to read settings from")
    return check


def _rule_parser() -> Parser:
    rule = Parser(prog="jobs-lint rule", description="Print a rule's documentation.")
    rule.add_argument("code", metavar="CODE", help="A rule code, such as JL101, or its name")
    return rule


def _rules_parser() -> Parser:
    listing = Parser(prog="jobs-lint rules", description="List every rule.")
    listing.add_argument("--output-format", default="text", help="text or json")
    return listing


def _root_parser() -> Parser:
    root = Parser(
        prog="jobs-lint",
        description="A fast linter for Celery, ARQ and Temporal code.",
        epilog="commands: check [PATH ...] (the default), rule CODE, rules; `jobs-lint COMMAND -h` for more",
    )
    root.add_argument("-V", "--version", action="version", version=f"jobs-lint {__version__}")
    return root


def check(args: argparse.Namespace) -> int:
    from jobs_lint.commands import Options, run_check

    options = Options(
        paths=args.paths or ["."],
        config=args.config,
        overrides={
            "select": _split(args.select),
            "extend_select": _split(args.extend_select),
            "ignore": _split(args.ignore),
            "per_file_ignores": _per_file(args.per_file_ignores),
            "exclude": _split(args.exclude),
            "extend_exclude": _split(args.extend_exclude),
            "respect_gitignore": args.respect_gitignore,
            "force_exclude": args.force_exclude,
            "output_format": args.output_format,
            "fix": args.fix,
            "unsafe_fixes": args.unsafe_fixes,
            "show_fixes": args.show_fixes,
            "cache_dir": args.cache_dir,
        },
        statistics=args.statistics,
        exit_zero=args.exit_zero,
        diff=args.diff,
        add_noqa=args.add_noqa,
        use_cache=not args.no_cache,
        quiet=args.quiet,
    )
    return run_check(options)


def rule(args: argparse.Namespace) -> int:
    from jobs_lint.rules import RULES

    found = RULES.get(args.code.upper()) or next((r for r in RULES.values() if r.name == args.code), None)
    if found is None:
        fail(f"Unknown rule `{args.code}`; see `jobs-lint rules`")
    print(found.docs(), end="")
    return 0


def rules(args: argparse.Namespace) -> int:
    import json

    from jobs_lint.rules import RULES

    if args.output_format == "json":
        listing = [
            {
                "code": r.code,
                "name": r.name,
                "summary": r.summary,
                "fix": r.fix.value if r.fix else None,
                "default": r.default,
                "explanation": r.docs(),
            }
            for r in RULES.values()
        ]
        print(json.dumps(listing, indent=2))
        return 0
    if args.output_format != "text":
        fail(f"Unknown output format `{args.output_format}` for `rules`; expected text or json")
    for r in RULES.values():
        fixable = "[*]" if r.fix else "   "
        default = " " if r.default else "-"
        print(f"{r.code} {fixable}{default} {r.name:<34} {r.summary}")
    print("\n[*] has a fix; - is not enabled by default.")
    return 0


def main(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ROOT_FLAGS):
        args.insert(0, "check")  # `jobs-lint src/` means `jobs-lint check src/`
    try:
        code = _dispatch(args)
    except SystemExit as stop:  # --help and --version
        code = stop.code if isinstance(stop.code, int) else 0
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader (`| head`) left: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except Exception as error:
        code = _report_error(error)
    sys.exit(code)


def _dispatch(args: list[str]) -> int:
    command, rest = args[0], args[1:]
    if command in ROOT_FLAGS:
        _root_parser().parse_args(args)
        return 0
    if command == "check":
        return check(_check_parser().parse_intermixed_args(rest))
    if command == "rule":
        return rule(_rule_parser().parse_args(rest))
    return rules(_rules_parser().parse_args(rest))


def _report_error(error: Exception) -> int:
    """Usage errors, configuration errors, and our own bugs: one line each."""
    from jobs_lint.settings import ConfigError

    if isinstance(error, (UsageError, ConfigError)):
        print(f"jobs-lint: error: {error}", file=sys.stderr)
        return 2
    if os.environ.get("JOBS_LINT_TRACEBACK"):
        raise error
    detail = str(error).splitlines()[0] if str(error) else ""
    print(f"jobs-lint: internal error: {type(error).__name__}: {detail}", file=sys.stderr)
    return 2
