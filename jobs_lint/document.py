"""Checking one document inside its project: text from standard input or an editor's buffer,
which may differ from the file on disk, against the same project index and cache as a run.

The index is built from every module of the project, as a run builds it, so that cross-module
facts (which names are tasks, which modules configure Celery) hold for the one document. The
document's own contribution to the index comes from its text, not from the file on disk.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobs_lint import runner
from jobs_lint.cache import Cache
from jobs_lint.checker import SKIP_FILE
from jobs_lint.commands import open_cache
from jobs_lint.diagnostics import Diagnostic
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.modules import module_name
from jobs_lint.settings import Settings, load


@dataclass
class Project:
    settings: Settings
    cache: Cache
    index: ProjectIndex
    parallel: bool = True

    @classmethod
    def open(
        cls,
        path: str,
        *,
        config: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        use_cache: bool = True,
        parallel: bool = True,
    ) -> Project:
        """The project `path` belongs to: its settings come from the nearest pyproject.toml."""
        settings = load([path], config).with_overrides(overrides or {})
        cache = open_cache(settings, use_cache)
        project = cls(settings, cache, ProjectIndex(), parallel)
        project.refresh()
        return project

    def refresh(self) -> None:
        """Re-read what changed on disk (unchanged files cost a `stat`, thanks to the cache)."""
        self.index = runner.project_index(self.settings, self.cache, parallel=self.parallel)
        self.cache.save()

    def excluded(self, path: str) -> bool:
        """Whether the file, or a directory it is in below the project root, is excluded."""
        filters = self.settings.filters
        root = os.path.abspath(self.settings.root)
        current = os.path.abspath(path)
        while True:
            if filters.excluded(current):
                return True
            parent = os.path.dirname(current)
            if parent == current or not parent.startswith(root + os.sep):
                return False
            current = parent

    def check(self, path: str, text: str) -> list[Diagnostic]:
        """The findings in `text` as the contents of `path`, noqa comments and per-file-ignores applied."""
        if SKIP_FILE.decode() in text:
            return []
        return runner.check_text(path, text, self._index_with(path, text), self.settings)

    def _index_with(self, path: str, text: str) -> ProjectIndex:
        """The project index with this document's facts taken from its text."""
        absolute = os.path.abspath(path)
        module = module_name(absolute)
        facts = runner.document_facts(path, absolute, text)
        if self.index.modules.get(module) == facts:
            return self.index
        others = [facts for name, facts in self.index.modules.items() if name != module]
        return ProjectIndex([*others, facts] if facts is not None else others)
