"""Generated programs never make a rule fail (JL005): grammar-random code, and code built from
the Celery constructs the rules look at, combined at random."""

from __future__ import annotations

import hypothesmith
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs_lint.checker import UnreadableSource, check_source, parse
from jobs_lint.rules import RULES, EngineDiagnostic
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.source import Source

RUNNABLE = [rule for rule in RULES.values() if not issubclass(rule, EngineDiagnostic)]
SELECTED = frozenset(RULES)
PREAMBLE = (
    "from celery import Celery, Task, shared_task, chain, group, chord, signature\n"
    "from celery.result import AsyncResult, GroupResult, allow_join_result\n"
    "app = Celery('proj')\n"
)


def internal_errors(text: str) -> list[str]:
    source = Source("generated.py", text)
    try:
        tree = parse(source)
    except UnreadableSource:
        return []
    facts = ModuleModel(tree, "generated.py", "generated", False, ProjectIndex.collecting()).facts()
    index = ProjectIndex([facts])
    found = check_source(source, tree, "generated", False, index, RUNNABLE, SELECTED)
    return [d.message for d in found if d.code == "JL005"]


def checks(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


@checks(80)
@given(hypothesmith.from_grammar())
def test_grammar_generated_programs(source: str) -> None:
    assert internal_errors(source) == []
    assert internal_errors(PREAMBLE + source) == []


@checks(40)
@given(hypothesmith.from_node())
def test_node_generated_programs(source: str) -> None:
    assert internal_errors(PREAMBLE + source) == []


names = st.sampled_from(["app", "task", "fetch", "self", "r", "results", "x", "chord", "group", "AsyncResult"])
values = st.sampled_from(["'pickle'", "'json'", "None", "True", "(Exception,)", "x", "[1, 2]", "{'a': 1}", "**opts"])
calls = st.builds(
    lambda obj, method, arg: f"{obj}.{method}({arg})",
    names,
    st.sampled_from(["delay", "apply_async", "s", "si", "get", "wait", "join", "collect", "retry", "update"]),
    st.sampled_from(["", "1", "x", "timeout=1", "serializer='pickle'", "*args", "**kw"]),
)
expressions = st.recursive(
    st.one_of(names, calls, values.filter(lambda v: not v.startswith("**"))),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} | {b}", inner, inner),
        st.builds(
            lambda f, a: f"{f}({a})",
            st.sampled_from(["chain", "group", "chord", "signature", "AsyncResult"]),
            inner,
        ),
        st.builds(lambda a: f"[{a} for r in results]", inner),
        st.builds(lambda a: f"{a}()", inner),
    ),
    max_leaves=6,
)
statements = st.one_of(
    st.builds(lambda n, e: f"{n} = {e}", names, expressions),
    st.builds(lambda e: f"return {e}", expressions),
    st.builds(lambda e: f"for r in {e}:\n        r.get()", expressions),
    st.builds(lambda e: f"with allow_join_result():\n        {e}", expressions),
    st.builds(
        lambda k, v: f"app.conf.update({k}={v})",
        st.sampled_from(["task_serializer", "accept_content"]),
        values,
    ),
)
decorators = st.builds(
    lambda target, options: f"@{target}({options})" if options is not None else f"@{target}",
    st.sampled_from(["app.task", "shared_task", "x.task", "task"]),
    st.one_of(st.none(), st.sampled_from(["", "bind=True", "serializer='pickle'", "base=Task", "**opts"])),
)
modules = st.builds(
    lambda decorator, name, body, config: (
        f"{PREAMBLE}{config}\n{decorator}\ndef {name}(self, x, *args, **kw):\n"
        + "".join(f"    {line}\n" for line in body)
    ),
    decorators,
    st.sampled_from(["fetch", "task", "run"]),
    st.lists(statements, min_size=1, max_size=6),
    st.sampled_from(["", "app.conf.task_serializer = 'pickle'", "CELERY_ACCEPT_CONTENT = ['pickle']"]),
)


@checks(300)
@given(modules)
def test_celery_shaped_programs(source: str) -> None:
    assert internal_errors(source) == []
