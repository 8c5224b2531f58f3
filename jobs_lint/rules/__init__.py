"""The rule registry: every `Rule` subclass in the modules of this package and its subpackages."""

from __future__ import annotations

import importlib
import pkgutil

from jobs_lint.rules.base import Case, EngineDiagnostic, Invalid, Rule, Valid

__all__ = ["RULES", "Case", "EngineDiagnostic", "Invalid", "Rule", "Valid"]

_INFRASTRUCTURE = {"base", "docs", "needles"}


def _discover() -> dict[str, type[Rule]]:
    found: dict[str, type[Rule]] = {}
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if info.name.rsplit(".", 1)[-1] in _INFRASTRUCTURE:
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value.__module__ == module.__name__
                and "code" in value.__dict__
            ):
                if value.code in found:
                    raise RuntimeError(f"Two rules share the code {value.code}")
                found[value.code] = value
    return dict(sorted(found.items()))


RULES: dict[str, type[Rule]] = _discover()
