"""The run's step between facts and checks: summarise the modules job code calls into.

The facts pass summarises the modules that define jobs; the modules their calls reach (a service
module, an API client) are found by `semantic/demand.py` and parsed here, through the run's
workers, and their summaries cached with the files' entries like facts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from jobs_lint.cache import Entry
from jobs_lint.semantic import demand
from jobs_lint.semantic.facts import ModuleFacts
from jobs_lint.semantic.messages import sent as messages_sent
from jobs_lint.semantic.summaries import ModuleSummary
from jobs_lint.semantic.tools import defines_jobs, registered_jobs
from jobs_lint.semantic.web import django_requests


def summarise_callees(
    files: list[str],
    entries: dict[str, Entry],
    *,
    module_of: Callable[[str], str],
    summarise: Callable[[list[str]], list[tuple[str, ModuleSummary]]],
    cache: Callable[[str, Entry], None],
) -> None:
    """`module_of(path)` names a file's module, `summarise(paths)` parses and summarises files,
    `cache(path, entry)` stores an entry that changed."""
    summaries = {}
    roots = []
    # Functions to summarise wherever they are: jobs registered by name, and functions whose
    # results are sent in a message.
    named: set[str] = set()
    candidates: dict[str, list[str]] = {}  # a module name's last part -> files without a summary
    web: list[dict[str, list[str]]] = []  # Django's facts: views are followed under `ATOMIC_REQUESTS`
    for path in files:
        entry = entries.get(path)
        if entry is None or not entry.digest:
            continue
        facts = entry.facts
        if facts is not None:
            named.update(facts.extra.get(messages_sent.FACTS_KEY, ()))
            if django_requests.FACTS_KEY in facts.extra:
                web.append(facts.extra[django_requests.FACTS_KEY])
        if facts is not None and facts.summary is not None:
            summaries[facts.module] = facts.summary
            if defines_jobs(facts):
                roots.append(facts.module)
                named.update(registered_jobs(facts))
            continue
        directory, name = os.path.split(path)
        stem = os.path.basename(directory) if name == "__init__.py" else name[:-3]
        candidates.setdefault(stem, []).append(path)
    tried: set[str] = set()

    def summarise_modules(modules: set[str]) -> dict[str, ModuleSummary]:
        wanted = [
            path
            for module in modules - tried
            for path in candidates.get(module.rpartition(".")[2], ())
            if module_of(path) == module
        ]
        tried.update(modules)
        added = {}
        for path, summary in summarise(wanted) if wanted else ():
            entry = entries[path]
            module = module_of(path)
            facts = entry.facts
            entry.set_facts(
                ModuleFacts(module, path, summary=summary) if facts is None else replace(facts, summary=summary)
            )
            cache(path, entry)
            added[module] = summary
        return added

    named |= django_requests.views_to_follow(web)
    demand.follow_calls(summaries, roots, summarise_modules, named)
