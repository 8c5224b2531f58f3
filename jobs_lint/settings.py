"""Settings: `[tool.jobs-lint]` in the nearest pyproject.toml, overridden by command-line flags.

Every key has a flag of the same name; unknown keys and unknown rule codes are refused, because a
typo in a linter's configuration silently turns checks off.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jobs_lint.discovery import DEFAULT_EXCLUDES, HAS_GIT, HAS_PYPROJECT, Filters
from jobs_lint.fingerprint import fingerprint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

OUTPUT_FORMATS = ("text", "concise", "json", "sarif", "github", "junit")


class ConfigError(Exception):
    """A configuration or usage problem: reported in one line, exit code 2."""


@dataclass(frozen=True)
class Settings:
    root: str = "."
    config_path: str | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    output_format: str = "text"
    fix: bool = False
    unsafe_fixes: bool = False
    show_fixes: bool = False
    cache_dir: str | None = None

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """Apply command-line values (None means "not given")."""
        given = {key: value for key, value in overrides.items() if value is not None}
        if "select" in given:
            # A selection on the command line starts afresh, as in ruff: the file's
            # extensions and ignores applied to the file's selection.
            given.setdefault("ignore", ())
            given.setdefault("extend_select", ())
        return _validated(replace(self, **given), source="command line")

    @property
    def filters(self) -> Filters:
        return Filters(
            root=self.root,
            exclude=(*self.exclude, *self.extend_exclude),
            respect_gitignore=self.respect_gitignore,
            force_exclude=self.force_exclude,
        )

    def selected(self) -> frozenset[str]:
        from jobs_lint.rules import RULES, EngineDiagnostic

        unselected = replace(self, select=None)  # a selection never turns engine codes off

        def enabled(code: str, rule: type[Any]) -> bool:
            if issubclass(rule, EngineDiagnostic):
                return not rule.silenceable or _enabled(code, True, unselected)
            return _enabled(code, rule.default, self)

        return frozenset(code for code, rule in RULES.items() if enabled(code, rule))

    def ignored_for(self, path: str) -> frozenset[str]:
        """Codes switched off for one file by `per-file-ignores`."""
        if not self.per_file_ignores:
            return frozenset()
        from jobs_lint.rules import RULES

        relative = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        name = os.path.basename(path)
        codes: set[str] = set()
        for pattern, selectors in self.per_file_ignores.items():
            if fnmatch.fnmatch(relative, pattern) or ("/" not in pattern and fnmatch.fnmatch(name, pattern)):
                codes.update(c for c in RULES if any(_matches(s, c) for s in selectors))
        return frozenset(codes)

    def cache_key(self) -> str:
        """What a cached result depends on besides the file: jobs-lint's version and source (an
        edited rule in an editable install), and the rule selection."""
        payload = repr((fingerprint(), sorted(self.selected()), sorted(self.per_file_ignores.items())))
        return hashlib.blake2b(payload.encode(), digest_size=8).hexdigest()


def load(paths: Iterable[str], config: str | None = None) -> Settings:
    """Settings for a run over `paths`: from `config`, else the nearest pyproject.toml."""
    if config is not None:
        if not os.path.isfile(config):
            raise ConfigError(f"Configuration file not found: {config}")
        return _from_file(config, root=os.path.dirname(os.path.abspath(config)))
    start = os.path.abspath(next(iter(paths), "."))
    directory = start if os.path.isdir(start) else os.path.dirname(start)
    fallback_root = None
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            table = _jobs_lint_table(_read_toml(candidate), candidate)
            if table is not None:
                return _from_table(table, candidate, root=directory)
            fallback_root = fallback_root or directory
        if os.path.isdir(os.path.join(directory, ".git")):
            fallback_root = fallback_root or directory
            break
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return Settings(root=fallback_root or os.getcwd())


class PerDirectory:
    """The settings each file follows, as in ruff: those of the nearest pyproject.toml with a
    `[tool.jobs-lint]` table above it (up to the repository root), with the command line's
    values over them; `top` (the run's settings) where there is none, or with `--config`."""

    def __init__(self, top: Settings, overrides: Mapping[str, Any] | None = None, *, fixed: bool = False) -> None:
        self.top = top
        self._overrides = overrides or {}
        self._fixed = fixed
        self._found: dict[str, Settings] = {}  # directory -> settings of its files
        self._listed: Mapping[str, int] = {}
        self._tops: tuple[str, ...] = ()
        # pyproject.toml path -> its settings, None when it has no [tool.jobs-lint] table
        self._loaded: dict[str, Settings | None] = {}
        if top.config_path is not None:
            self._loaded[os.path.abspath(top.config_path)] = top

    def learn(self, tops: list[str], directories: Mapping[str, int]) -> None:
        """What a directory walk saw (`Discovery.tops` and `.directories`): spares two system
        calls per directory."""
        self._tops = tuple(top.rstrip(os.sep) + os.sep for top in tops)
        self._listed = directories

    @property
    def nested_filters(self) -> Callable[[str], Filters | None] | None:
        """For the directory walk: the filters of a directory holding a pyproject.toml, so that a
        sub-project's excludes apply below it; None when one configuration holds everywhere."""
        return None if self._fixed else self._filters_in

    def _filters_in(self, directory: str) -> Filters | None:
        own = self._own(directory)
        return None if own is None else own.filters

    def _own(self, directory: str) -> Settings | None:
        """The settings of `directory`'s pyproject.toml, which must exist."""
        candidate = os.path.join(directory, "pyproject.toml")
        if candidate not in self._loaded:
            table = _jobs_lint_table(_read_toml(candidate), candidate)
            self._loaded[candidate] = (
                None if table is None else _from_table(table, candidate, directory).with_overrides(self._overrides)
            )
        return self._loaded[candidate]

    def for_file(self, absolute: str) -> Settings:
        if self._fixed:
            return self.top
        directory = absolute.rpartition(os.sep)[0] or os.sep  # os.path.dirname, for every file
        return self._found.get(directory) or self._for_directory(directory)

    def _for_directory(self, directory: str) -> Settings:
        found = self._found.get(directory)
        if found is not None:
            return found
        parent = directory.rpartition(os.sep)[0] or os.sep
        listed = self._listed.get(directory)
        if listed is None and (directory + os.sep).startswith(self._tops):
            listed = 0  # walked, and holding neither
        if listed is None:
            has_pyproject = os.path.isfile(os.path.join(directory, "pyproject.toml"))
        else:
            has_pyproject = bool(listed & HAS_PYPROJECT)
        own = self._own(directory) if has_pyproject else None
        if own is not None:
            found = own
        elif (
            parent == directory
            or (listed is None and os.path.isdir(os.path.join(directory, ".git")))
            or (listed is not None and listed & HAS_GIT)
        ):
            found = self.top
        else:
            found = self._for_directory(parent)
        self._found[directory] = found
        return found


def _from_file(path: str, root: str) -> Settings:
    data = _read_toml(path)
    table = _jobs_lint_table(data, path) if os.path.basename(path) == "pyproject.toml" else data
    return _from_table(table or {}, path, root)


def _jobs_lint_table(data: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """`[tool.jobs-lint]` of a pyproject.toml, None when absent; a non-table is an error."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"`tool` in {path} must be a table, not {_type_name(tool)}")
    table = tool.get("jobs-lint")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"`tool.jobs-lint` in {path} must be a table, not {_type_name(table)}")
    return table


def _type_name(value: Any) -> str:
    """TOML's names for what a value is, as a user wrote it."""
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a float", list: "an array", dict: "a table"}
    return next((name for kind, name in names.items() if isinstance(value, kind)), "a date or time")


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"Invalid TOML in {path}: {error}") from None
    except OSError as error:
        raise ConfigError(f"Cannot read {path}: {error.strerror}") from None


# The keys of [tool.jobs-lint] and the type each takes.
_KEYS: dict[str, type[Any]] = {
    "select": list,
    "extend-select": list,
    "ignore": list,
    "per-file-ignores": dict,
    "exclude": list,
    "extend-exclude": list,
    "respect-gitignore": bool,
    "force-exclude": bool,
    "output-format": str,
    "fix": bool,
    "unsafe-fixes": bool,
    "show-fixes": bool,
    "cache-dir": str,
}


def _from_table(table: Mapping[str, Any], path: str, root: str) -> Settings:
    values: dict[str, Any] = {}
    for key, value in table.items():
        expected = _KEYS.get(key)
        if expected is None:
            raise ConfigError(f"Unknown key `{key}` in [tool.jobs-lint] of {path}; known keys: {', '.join(_KEYS)}")
        attr = key.replace("-", "_")
        if expected is list:
            value = _strings(value, f"`{key}` in {path}")
        elif expected is dict:
            if not isinstance(value, dict):
                raise ConfigError(
                    f"`{key}` in {path} must be a table of patterns to arrays of rule codes, not {_type_name(value)}"
                )
            value = {pattern: _strings(codes, f'`{key}."{pattern}"` in {path}') for pattern, codes in value.items()}
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise ConfigError(f"`{key}` in {path} must be {_type_name(expected())}, not {_type_name(value)}")
        elif attr == "cache_dir":
            value = os.path.join(root, value)
        values[attr] = value
    return _validated(Settings(root=root, config_path=path, **values), source=path)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be an array of strings, not {_type_name(value)}")
    wrong = next((item for item in value if not isinstance(item, str)), None)
    if wrong is not None:
        raise ConfigError(f"{where} must be an array of strings, not an array holding {_type_name(wrong)}")
    return tuple(value)


def _validated(settings: Settings, source: str) -> Settings:
    from jobs_lint.rules import RULES

    if settings.output_format not in OUTPUT_FORMATS:
        expected = ", ".join(OUTPUT_FORMATS)
        raise ConfigError(f"Unknown output format `{settings.output_format}` ({source}); expected one of {expected}")
    selectors = [*(settings.select or ()), *settings.extend_select, *settings.ignore]
    for codes in settings.per_file_ignores.values():
        if isinstance(codes, str) or not all(isinstance(code, str) for code in codes):
            raise ConfigError(f"per-file-ignores values must be lists of rule codes ({source})")
        selectors.extend(codes)
    for selector in selectors:
        if not any(_matches(selector, code) for code in RULES):
            raise ConfigError(f"Unknown rule selector `{selector}` ({source}); see `jobs-lint rules`")
    return settings


def _matches(selector: str, code: str) -> bool:
    return selector == "ALL" or code.startswith(selector.upper())


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


def _enabled(code: str, default: bool, settings: Settings) -> bool:
    """ruff's rule: the most specific matching selector decides; on a tie, `ignore` wins."""
    best = (-1, default) if settings.select is None else (-1, False)
    for selectors, enable in (
        (settings.select or (), True),
        (settings.extend_select, True),
        (settings.ignore, False),
    ):
        for selector in selectors:
            if _matches(selector, code):
                rank = _specificity(selector)
                if rank > best[0] or (rank == best[0] and not enable):
                    best = (rank, enable)
    return best[1]
