"""The command line, in ruff's shape: `jobs-lint [check] PATHS`, `jobs-lint rule CODE`, `jobs-lint rules`.

Exit codes: 0 nothing found, 1 findings, 2 usage, configuration or internal error. Errors are one
line on stderr; no traceback reaches the user (set JOBS_LINT_TRACEBACK=1 to see one).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, NoReturn

import typer

from jobs_lint import __version__

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    help="A fast linter for Celery, ARQ and Temporal code.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

COMMANDS = ("check", "rule", "rules", "server", "version")


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


def fail(message: str) -> NoReturn:
    print(f"jobs-lint: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


@app.command()
def check(
    paths: Annotated[list[str] | None, typer.Argument(help="Files or directories to check [default: .]")] = None,
    select: Annotated[list[str] | None, typer.Option(help="Rule codes or prefixes to enable (comma-separated)")] = None,
    extend_select: Annotated[list[str] | None, typer.Option(help="Codes to enable on top of the selection")] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Codes or prefixes to disable")] = None,
    per_file_ignores: Annotated[list[str] | None, typer.Option(help="PATTERN:CODES, repeatable")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="Replace the default excluded paths (globs)")] = None,
    extend_exclude: Annotated[list[str] | None, typer.Option(help="More paths to exclude (globs)")] = None,
    respect_gitignore: Annotated[
        bool | None,
        typer.Option("--respect-gitignore/--no-respect-gitignore", help="Skip files .gitignore ignores"),
    ] = None,
    force_exclude: Annotated[
        bool | None,
        typer.Option(
            "--force-exclude/--no-force-exclude",
            help="Apply excludes to paths given explicitly too (for pre-commit)",
        ),
    ] = None,
    output_format: Annotated[str | None, typer.Option(help="text, concise, json, sarif, github or junit")] = None,
    statistics: Annotated[
        bool, typer.Option("--statistics", help="Count findings per rule instead of listing them")
    ] = False,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings")] = False,
    fix: Annotated[bool | None, typer.Option("--fix/--no-fix", help="Apply safe fixes")] = None,
    unsafe_fixes: Annotated[
        bool | None, typer.Option("--unsafe-fixes/--no-unsafe-fixes", help="Apply and show unsafe fixes too")
    ] = None,
    diff: Annotated[bool, typer.Option("--diff", help="Show the fixes as a diff; change nothing")] = False,
    show_fixes: Annotated[
        bool | None, typer.Option("--show-fixes/--no-show-fixes", help="List what --fix fixed")
    ] = None,
    add_noqa: Annotated[
        bool, typer.Option("--add-noqa", help="Suppress every current finding with a # noqa comment")
    ] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the cache")] = False,
    cache_dir: Annotated[str | None, typer.Option(help="Where to keep the cache [default: .jobs_lint_cache]")] = None,
    config: Annotated[str | None, typer.Option(help="A pyproject.toml (or TOML file) to read settings from")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print findings only, no summary")] = False,
    output_file: Annotated[
        str | None, typer.Option("--output-file", "-o", help="Write the report to this file, not stdout")
    ] = None,
    stdin_filename: Annotated[
        str | None, typer.Option(help="With `-` as the path: the name to check standard input as")
    ] = None,
    show_settings: Annotated[
        bool, typer.Option("--show-settings", help="Print the settings in force and exit")
    ] = False,
    show_files: Annotated[bool, typer.Option("--show-files", help="Print the files that would be checked")] = False,
) -> None:
    """Check files and directories for job-queue anti-patterns."""
    from jobs_lint.commands import Options, run_check
    from jobs_lint.output.destination import output_to

    options = Options(
        paths=paths or ["."],
        config=config,
        overrides={
            "select": _split(select),
            "extend_select": _split(extend_select),
            "ignore": _split(ignore),
            "per_file_ignores": _per_file(per_file_ignores),
            "exclude": _split(exclude),
            "extend_exclude": _split(extend_exclude),
            "respect_gitignore": respect_gitignore,
            "force_exclude": force_exclude,
            "output_format": output_format,
            "fix": fix,
            "unsafe_fixes": unsafe_fixes,
            "show_fixes": show_fixes,
            "cache_dir": cache_dir,
        },
        statistics=statistics,
        exit_zero=exit_zero,
        diff=diff,
        add_noqa=add_noqa,
        use_cache=not no_cache,
        quiet=quiet,
    )
    reads_stdin = paths == ["-"] or (stdin_filename is not None and not paths)
    if "-" in options.paths and not reads_stdin:
        fail("`-` (standard input) cannot be combined with other paths")
    if reads_stdin and stdin_filename is not None:
        options.paths = [stdin_filename]  # its settings are the ones in force
    with output_to(output_file):
        if show_settings or show_files:
            from jobs_lint import show

            raise typer.Exit(show.show_settings(options) if show_settings else show.show_files(options))
        if reads_stdin:
            from jobs_lint.stdin import run_stdin

            raise typer.Exit(run_stdin(options, stdin_filename))
        raise typer.Exit(run_check(options))


@app.command()
def server() -> None:
    """Run the language server on standard input and output, for editors (needs the lsp extra)."""
    from jobs_lint.lsp import serve

    raise typer.Exit(serve())


@app.command()
def rule(code: Annotated[str, typer.Argument(help="A rule code, such as JL101, or its name")]) -> None:
    """Print a rule's documentation."""
    from jobs_lint.rules import RULES

    wanted = code.upper()
    found = RULES.get(wanted) or next((r for r in RULES.values() if r.name == code), None)
    if found is None:
        fail(f"Unknown rule `{code}`; see `jobs-lint rules`")
    print(found.docs(), end="")


@app.command()
def rules(
    output_format: Annotated[str, typer.Option(help="text or json")] = "text",
) -> None:
    """List every rule."""
    import json

    from jobs_lint.rules import RULES

    if output_format == "json":
        print(
            json.dumps(
                [
                    {
                        "code": r.code,
                        "name": r.name,
                        "summary": r.summary,
                        "fix": r.fix.value if r.fix else None,
                        "default": r.default,
                        "explanation": r.docs(),
                    }
                    for r in RULES.values()
                ],
                indent=2,
            )
        )
        return
    if output_format != "text":
        fail(f"Unknown output format `{output_format}` for `rules`; expected text or json")
    for r in RULES.values():
        fixable = "[*]" if r.fix else "   "
        default = " " if r.default else "-"
        print(f"{r.code} {fixable}{default} {r.name:<34} {r.summary}")
    print("\n[*] has a fix; - is not enabled by default.")


@app.command("version")
def version_command() -> None:
    """Print the version."""
    print(f"jobs-lint {__version__}")


def _version(value: bool) -> None:
    if value:
        print(f"jobs-lint {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version")
    ] = False,
) -> None:
    """A fast linter for Celery, ARQ and Temporal code."""


def main(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help", "-V", "--version")):
        args.insert(0, "check")  # `jobs-lint src/` means `jobs-lint check src/`
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="jobs-lint", standalone_mode=False)
    except typer.Exit as stop:
        code = stop.exit_code
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader (`| head`) left: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    except Exception as error:
        code = _report_error(error)
    sys.exit(code if isinstance(code, int) else 0)


def _report_error(error: Exception) -> int:
    """Usage errors from the argument parser, configuration errors, and our own bugs."""
    from jobs_lint.settings import ConfigError

    if os.environ.get("JOBS_LINT_TRACEBACK"):
        raise error
    usage = _usage_error_message(error)
    if usage is not None:
        print(f"jobs-lint: error: {usage}", file=sys.stderr)
        return 2
    if isinstance(error, ConfigError):
        print(f"jobs-lint: error: {error}", file=sys.stderr)
        return 2
    detail = str(error).splitlines()[0] if str(error) else ""
    print(f"jobs-lint: internal error: {type(error).__name__}: {detail}", file=sys.stderr)
    return 2


def _usage_error_message(error: Exception) -> str | None:
    # The argument parser's errors (click's, or the copy Typer vendors) share a base class.
    if not any(cls.__name__ in ("ClickException", "TyperException") for cls in type(error).__mro__):
        return None
    format_message = getattr(error, "format_message", None)
    text = str(format_message() if callable(format_message) else error)
    return text.splitlines()[0] if text else type(error).__name__
