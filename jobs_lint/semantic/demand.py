"""Which modules job code calls into, so that only those are parsed for their function summaries.

The facts pass summarises the modules that define jobs (tasks, activities, workflows, ARQ
workers). From their functions, the names they call are followed breadth first: a name inside a
summarised module leads to the functions it names there (a function, a class and its methods, a
module-level instance's class) and to what those call in turn; a name in a module not summarised
yet asks for that module. A project of thousands of modules parses the few hundred its jobs use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from jobs_lint.semantic.summaries import ModuleSummary

# How many calls away from job code functions are still summarised.
MAX_DEPTH = 3

Summarise = Callable[[set[str]], dict[str, ModuleSummary]]


def follow_calls(
    summaries: dict[str, ModuleSummary], roots: Iterable[str], summarise: Summarise, named: Iterable[str] = ()
) -> None:
    """Follow the calls of the functions of the `roots` modules and the functions `named` (jobs
    registered by name in another module, like ARQ's, and functions whose results are sent in
    a message), breadth first, up to
    `MAX_DEPTH` calls away; `summarise(modules)` parses the project's modules among those names
    (any dotted prefix of a called name) and returns their summaries, which are added to
    `summaries`. What is followed depends on the project alone, not on what was summarised
    before (by an earlier run whose summaries were cached)."""
    level: set[str] = set(named)
    for root in roots:
        level |= _named_by(summaries[root], None)
    followed: set[str] = set()
    for _ in range(MAX_DEPTH):
        level -= followed
        followed |= level
        unknown = [name.split(".") for name in level if _summarised_module(name, summaries) is None]
        if unknown:
            wanted = {".".join(parts[:cut]) for parts in unknown for cut in range(1, len(parts))}
            summaries.update(summarise(wanted - summaries.keys()))
        by_module: dict[str, set[str]] = {}
        for name in level:
            module = _summarised_module(name, summaries)
            if module is not None:
                by_module.setdefault(module, set()).add(name)
        level = set()
        for module, names in by_module.items():
            level |= _named_by(summaries[module], names, module)
        if not level:
            return


def _summarised_module(name: str, summaries: dict[str, ModuleSummary]) -> str | None:
    """The longest prefix of a dotted name that is a summarised module defining the name's next
    part (`proj` may be summarised while `proj.billing.charge` lies in `proj.billing`)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        summary = summaries.get(".".join(parts[:cut]))
        if summary is not None:
            return ".".join(parts[:cut]) if parts[cut] in _defined(summary) else None
    return None


def _defined(summary: ModuleSummary) -> frozenset[str]:
    """The module-level names a summary knows: functions, classes, instances."""
    found = _DEFINED.get(id(summary))
    if found is None or found[0] is not summary:
        names = {function.name.partition(".")[0] for function in summary.functions}
        names.update(cls.qualname.rpartition(".")[2] for cls in summary.classes)
        names.update(name for name, _ in summary.instances)
        found = _DEFINED[id(summary)] = (summary, frozenset(names))
    return found[1]


# Summaries are compared by identity: hashing one walks all it holds.
_DEFINED: dict[int, tuple[ModuleSummary, frozenset[str]]] = {}


def _named_by(summary: ModuleSummary, names: set[str] | None, module: str = "") -> set[str]:
    """What the functions of a module that `names` name (all of them for None) call, pass or
    return, and the base classes and attribute classes of the classes named."""
    heads: set[str] | None = None
    found: set[str] = set()
    if names is not None:
        instances = dict(summary.instances)
        heads = set()
        for name in names:
            head, _, rest = name[len(module) + 1 :].partition(".")
            instance_of = instances.get(head)
            if instance_of is not None:  # `billing.charge` of `billing = Billing()`: the class's method
                found.add(f"{instance_of}.{rest}" if rest else instance_of)
            else:
                heads.add(head)
    for function in summary.functions:
        if heads is None or function.name.partition(".")[0] in heads:
            found.update(site.target for site in function.calls)
            if function.returns:
                found.add(function.returns)
    for cls in summary.classes:
        if heads is None or cls.qualname.rpartition(".")[2] in heads:
            found.update(cls.bases)
            found.update(target for _, target in cls.attributes)
    return found
