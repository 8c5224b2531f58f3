"""Codes the engine reports itself: input it cannot read, its own failures, stale suppressions.

The first five are always on, since a file that was not checked must never pass silently; JL001
alone can be ignored, by `--ignore`, `per-file-ignores` or `# noqa` on the line it reports (a
file in syntax newer than the Python jobs-lint runs on, that another tool checks).
"""

from __future__ import annotations

from jobs_lint.diagnostics import Applicability
from jobs_lint.rules.base import EngineDiagnostic, Invalid, Rule, Valid


class SyntaxError_(EngineDiagnostic):
    """
    ## What it does
    Reports a file that contains job code but is not valid Python, so it could not be checked.

    ## Why is this bad?
    Nothing in the file was checked. The rest of the tree still is.

    Only files that may contain job code are parsed (every file you name on the command line,
    and files under a directory that mention Celery, ARQ, Temporal or another selected rule's
    keywords); syntax errors elsewhere are your Python linter's business.

    jobs-lint parses with the Python it runs on. When the file uses syntax of a newer Python
    (`type` aliases and type parameters of 3.12, `except` without parentheses of 3.14), the
    message says which Python would parse it: install jobs-lint in that Python. Otherwise this
    code can be ignored like any rule: `--ignore JL001`, `per-file-ignores`, or `# noqa: JL001`
    on the line it reports.
    """

    code = "JL001"
    silenceable = True
    name = "syntax-error"
    summary = "The file is not valid Python and was not checked"
    invalid = (Invalid("from celery import shared_task\n\n@shared_task\ndef send(:\n    pass\n"),)
    valid = (Valid("from celery import shared_task\n\n@shared_task\ndef send():\n    pass\n"),)


class UndecodableFile(EngineDiagnostic):
    """
    ## What it does
    Reports a file that is binary (it contains NUL bytes) or is not in the encoding it declares
    (UTF-8 unless a PEP 263 coding line says otherwise).

    ## Why is this bad?
    The file could not be read as Python source, so nothing in it was checked.
    """

    code = "JL002"
    name = "undecodable-file"
    summary = "The file is binary or not in its declared encoding"


class UnreadablePath(EngineDiagnostic):
    """
    ## What it does
    Reports a path that could not be read: it does not exist, permission was denied, or it is a
    broken symbolic link.

    ## Why is this bad?
    Whatever that path holds was not checked.
    """

    code = "JL003"
    name = "unreadable-path"
    summary = "A path could not be read"


class DirectoryLoop(EngineDiagnostic):
    """
    ## What it does
    Reports a symbolic link to a directory that contains it.

    ## Why is this bad?
    Following it would walk the same files forever; jobs-lint checks the tree once and reports
    the link instead.
    """

    code = "JL004"
    name = "directory-loop"
    summary = "A symbolic link points back to a directory that contains it"


class InternalError(EngineDiagnostic):
    """
    ## What it does
    Reports that a rule failed on a file. The message names the rule and where it failed.

    ## Why is this bad?
    That rule's findings for that file are missing; every other rule and file was still checked.
    This is a bug in jobs-lint: please report it with the file that triggers it. The run exits
    with code 2.
    """

    code = "JL005"
    name = "internal-error"
    summary = "A rule failed on a file (a jobs-lint bug)"


class UnusedNoqa(Rule):
    """
    ## What it does
    Reports `# noqa` directives naming jobs-lint codes that suppress nothing: the finding was
    fixed, the code is not enabled, or no such code exists.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line. Directives for other tools'
    codes and blanket `# noqa` comments are left alone.

    ## Fix safety
    The fix removes the unused codes, or the whole directive when none is left, and is safe.
    """

    code = "JL010"
    name = "unused-noqa"
    summary = "A `# noqa` directive suppresses nothing"
    needles = ((b"noqa", b"NOQA"), (b"JL", b"jl"))
    fix = Applicability.SAFE
    invalid = (
        Invalid(
            "from celery import Celery\n\napp = Celery(task_serializer='json')  # noqa: JL101\n",
            fixed="from celery import Celery\n\napp = Celery(task_serializer='json')\n",
        ),
        Invalid(
            "from celery import Celery\n\napp = Celery(task_serializer='pickle')  # noqa: JL101, JL102\n",
            fixed="from celery import Celery\n\napp = Celery(task_serializer='pickle')  # noqa: JL101\n",
        ),
        Invalid("x = 1  # noqa: JL999\n", fixed="x = 1\n"),
        Invalid("x = 1  # noqa: JL101 legacy config\n", fixed="x = 1  # legacy config\n"),
        Invalid("x = 1  # noqa: E501, JL101\n", fixed="x = 1  # noqa: E501\n"),
    )
    valid = (
        Valid("from celery import Celery\n\napp = Celery(task_serializer='pickle')  # noqa: JL101\n"),
        Valid("x = 1  # noqa\n"),
        Valid("x = 1  # noqa: E501\n"),
        Valid("text = '# noqa: JL101'\n"),
        Valid("from celery import Celery\n\napp = Celery(  # noqa: JL101\n    task_serializer='pickle',\n)\n"),
    )
