"""`-o/--output-file`: where a run's report goes instead of standard output."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

from jobs_lint.settings import ConfigError


@contextmanager
def output_to(path: str | None) -> Iterator[None]:
    """Send what is printed to standard output to `path` (its directory is created)."""
    if path is None:
        yield
        return
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the `with` below
    except OSError as error:
        raise ConfigError(f"Cannot write the output file {path}: {error.strerror}") from None
    with handle, redirect_stdout(handle):
        yield
