"""`jobs-lint server`: the Language Server, for editors. It needs the `lsp` extra (pygls and
lsprotocol), which the command line does not."""

from __future__ import annotations

from jobs_lint.settings import ConfigError


def serve() -> int:
    """Serve one editor over standard input and output until it says exit."""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        raise ConfigError("`jobs-lint server` needs pygls and lsprotocol: pip install 'jobs-lint[lsp]'") from None
    from jobs_lint.lsp.server import build

    build().start_io()
    return 0
