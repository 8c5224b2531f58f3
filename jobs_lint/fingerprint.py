"""What cached results depend on in jobs-lint itself: its version and its installed source.

The version alone is not enough: in an editable install (a developer changing a rule) the version
stays while the rules change, and results cached before the change would be read back as if
nothing had. The stamps of the package's `.py` files change with any edit, and reading them is a
`stat` per file (a millisecond or two for the whole package): cheaper than hashing their text.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache

from jobs_lint import __version__

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


@cache
def fingerprint() -> str:
    """The version and a digest of the sorted (path, size, mtime) of the package's modules,
    computed once per process."""
    return f"{__version__}:{source_digest(_PACKAGE)}"


def source_digest(package: str) -> str:
    stamps = []
    for directory, subdirectories, files in os.walk(package):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except OSError:  # removed while walked: its absence is the change
                    continue
                stamps.append((os.path.relpath(path, package), stat.st_size, stat.st_mtime_ns))
    return hashlib.blake2b(repr(sorted(stamps)).encode(), digest_size=8).hexdigest()
