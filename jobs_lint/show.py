"""`--show-settings` and `--show-files`: what a run would use, without checking anything."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from jobs_lint.commands import Options
from jobs_lint.discovery import discover
from jobs_lint.settings import PerDirectory, Settings, load


def show_settings(options: Options) -> int:
    """The settings in force for the first path, in the shape of `[tool.jobs-lint]`, then the
    rules they enable."""
    from jobs_lint.rules import RULES

    settings = _settings(options)
    print(f"Resolved settings for: {os.path.abspath(options.paths[0])}")
    print(f"Settings path: {settings.config_path or '(none: defaults)'}")
    print(f"Project root: {os.path.abspath(settings.root)}")
    print()
    print("[tool.jobs-lint]")
    for field in dataclasses.fields(settings):
        if field.name in ("root", "config_path"):
            continue
        value = getattr(settings, field.name)
        if field.name == "cache_dir":
            value = value or os.environ.get("JOBS_LINT_CACHE_DIR") or os.path.join(settings.root, ".jobs_lint_cache")
            value = os.path.abspath(value)
        if value is None:
            print(f"# {field.name.replace('_', '-')}: not set")
            continue
        print(f"{field.name.replace('_', '-')} = {_toml(value)}")
    selected = sorted(settings.selected())
    print()
    print(f"Enabled rules ({len(selected)}):")
    for code in selected:
        print(f"  {code} {RULES[code].name}")
    return 0


def show_files(options: Options) -> int:
    """Every file a run over the paths would consider, absolute and sorted, one a line."""
    settings = _settings(options)
    nested = PerDirectory(settings, options.overrides, fixed=options.config is not None).nested_filters
    found = discover(list(options.paths), settings.filters, nested=nested)
    for path in sorted(found.absolute[display] for display in found.files):
        print(path)
    for problem in found.problems:
        print(f"jobs-lint: warning: {problem.message}", file=sys.stderr)
    return 0


def _settings(options: Options) -> Settings:
    return load(options.paths, options.config).with_overrides(options.overrides)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(json.dumps(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(key)} = {_toml(codes)}" for key, codes in value.items()) + "}"
    return json.dumps(value)
