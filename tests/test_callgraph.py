"""Function summaries and the project call graph: what a call reaches, in any module, and how."""

from __future__ import annotations

import ast
from dataclasses import replace

import pytest

from jobs_lint.semantic.callgraph import MAX_DEPTH, CallGraph
from jobs_lint.semantic.demand import MAX_DEPTH as DEMAND_DEPTH
from jobs_lint.semantic.demand import follow_calls
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import ModuleModel
from jobs_lint.semantic.summaries import BLOCKING, CREATES, HAZARD, IO, WAIT, ModuleSummary

BLOCKS, CREATING = frozenset({BLOCKING}), frozenset({CREATES})


def graph(modules: dict[str, str]) -> CallGraph:
    facts = []
    for name, code in modules.items():
        model = ModuleModel(ast.parse(code), f"{name.replace('.', '/')}.py", name, False, ProjectIndex.collecting())
        facts.append(replace(model.facts(), summary=model.summary()))
    return ProjectIndex(facts).calls


def chain(modules: dict[str, str], start: str, kinds: frozenset[str] = BLOCKS, **kwargs: bool) -> str | None:
    reach = graph(modules).reach(start, kinds, **kwargs)
    return reach.chain if reach else None


BILLING = (
    "import requests\n\n"
    "class Billing:\n"
    "    def charge(self, order):\n"
    "        return requests.post('https://pay.example', json=order, timeout=5)\n\n"
    "    @staticmethod\n"
    "    def refund(order):\n"
    "        return Billing().charge(order)\n\n"
    "    @classmethod\n"
    "    def build(cls):\n"
    "        return cls().charge({})\n\n"
    "billing = Billing()\n"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "from proj.billing import Billing\n\ndef job(order):\n    Billing().charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import Billing\n\ndef job(order):\n    b = Billing()\n    b.charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import Billing\n\ndef job(order, b: Billing):\n    b.charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import Billing\n\ndef job(order, b: 'Billing | None'):\n    b.charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import billing\n\ndef job(order):\n    billing.charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj import billing\n\ndef job(order):\n    billing.billing.charge(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import Billing\n\ndef job(order):\n    Billing.refund(order)\n",
            "job -> Billing.refund -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import Billing\n\ndef job():\n    Billing.build()\n",
            "job -> Billing.build -> Billing.charge -> requests.post",
        ),
        (
            "import functools\nfrom proj.billing import billing\n\n"
            "def job(order):\n    pay = functools.partial(billing.charge, order)\n    pay()\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from functools import partial\nfrom proj.billing import billing\n\n"
            "def job(order):\n    partial(billing.charge, order)()\n",
            "job -> Billing.charge -> requests.post",
        ),
        (
            "from proj.billing import billing\n\ndef payer():\n    return billing.charge\n\n"
            "def job(order):\n    payer()(order)\n",
            "job -> Billing.charge -> requests.post",
        ),
    ],
)
def test_calls_resolved_across_modules(body: str, expected: str) -> None:
    modules = {"proj.billing": BILLING, "proj.tasks": body}
    assert chain(modules, "proj.tasks.job") == expected


def test_methods_through_self_bases_and_attributes() -> None:
    modules = {
        "proj.clients": "import requests\n\nclass Api:\n    def get(self, url):\n        return requests.get(url)\n",
        "proj.base": "from proj.clients import Api\n\nclass Base:\n"
        "    def __init__(self):\n        self.api = Api()\n\n"
        "    def fetch(self, url):\n        return self.api.get(url)\n",
        "proj.service": "from proj.base import Base\n\nclass Service(Base):\n"
        "    def run(self, url):\n        return self.fetch(url)\n\n"
        "    def load(self, url):\n        return self.api.get(url)\n",
    }
    assert chain(modules, "proj.service.Service.run") == "Service.run -> Base.fetch -> Api.get -> requests.get"
    assert chain(modules, "proj.service.Service.load") == "Service.load -> Api.get -> requests.get"


def test_passed_functions_count_only_when_asked() -> None:
    modules = {
        "m": "import asyncio, time\n\ndef wait():\n    time.sleep(1)\n\n"
        "async def job():\n    await asyncio.to_thread(wait)\n"
    }
    assert chain(modules, "m.job") is None
    assert chain(modules, "m.job", passed=True) == "job -> wait -> time.sleep"


def test_shortest_chain_cycles_and_depth() -> None:
    modules = {
        "m": "import time\n\ndef a():\n    b()\n    c()\n\ndef b():\n    a()\n    d()\n\n"
        "def c():\n    time.sleep(1)\n\ndef d():\n    c()\n"
    }
    assert chain(modules, "m.a") == "a -> c -> time.sleep"
    assert chain(modules, "m.b") == "b -> a -> c -> time.sleep"
    deep = "import time\n\n" + "".join(f"def f{i}():\n    f{i + 1}()\n\n" for i in range(MAX_DEPTH + 2))
    deep += f"def f{MAX_DEPTH + 2}():\n    time.sleep(1)\n"
    assert chain({"m": deep}, "m.f2") is not None
    assert chain({"m": deep}, "m.f0") is None  # further than MAX_DEPTH calls: not followed


def test_guards_and_threads_stop_a_chain() -> None:
    modules = {
        "m": "import requests\nfrom asgiref.sync import sync_to_async\n\n"
        "def post(url):\n    requests.post(url, timeout=5)\n\n"
        "def once(order):\n    if order.sent:\n        return\n    post(order.url)\n\n"
        "@sync_to_async\ndef offloaded(url):\n    requests.get(url, timeout=5)\n\n"
        "async def job(order):\n    await offloaded(order.url)\n"
    }
    assert chain(modules, "m.once", CREATING) is None
    assert chain(modules, "m.once", BLOCKS) == "once -> post -> requests.post"
    assert chain(modules, "m.job") is None


def test_a_getter_asks_and_creates_nothing() -> None:
    modules = {
        "m": "import requests\n\n"
        "def call(method, body):\n    return requests.post(f'{API}/{method}', json=body, timeout=5)\n\n"
        "def get_incident(pk):\n    response = call('GetIncident', {'id': pk})\n    return response.json()\n\n"
        "def get_or_create_incident(pk):\n    response = call('Incident', {'id': pk})\n    return response.json()\n\n"
        "def get_status(pk):\n    call('Ping', {'id': pk})\n    return True\n\n"
        "def job(pk):\n    get_incident(pk)\n    call('AddActivity', {'id': pk})\n"
    }
    assert chain(modules, "m.get_incident", CREATING) is None
    assert chain(modules, "m.get_incident", frozenset({IO})) == "get_incident -> call -> requests.post"
    assert chain(modules, "m.get_or_create_incident", CREATING) == "get_or_create_incident -> call -> requests.post"
    assert chain(modules, "m.get_status", CREATING) == "get_status -> call -> requests.post"
    found = [reach.chain for reach, _ in graph(modules).effects_reached("m.job", CREATING)]
    assert found == ["job -> call -> requests.post"]


def test_unknown_calls_stay_silent() -> None:
    modules = {"m": "def job(store, url):\n    store.post(url)\n    helper(url)\n    unknown.thing()\n"}
    assert chain(modules, "m.job", frozenset({BLOCKING, CREATES, IO, HAZARD, WAIT})) is None


def test_reach_lists_each_hop_with_its_file_and_line() -> None:
    modules = {
        "proj.billing": BILLING,
        "proj.tasks": "from proj.billing import billing\n\ndef job(o):\n    billing.charge(o)\n",
    }
    reach = graph(modules).reach("proj.tasks.job", CREATING)
    assert reach is not None and reach.effect.what == "an HTTP POST"
    assert reach.related == (
        ("proj/tasks.py", 4, "`job` calls `Billing.charge`"),
        ("proj/billing.py", 5, "`Billing.charge` calls `requests.post`"),
    )


def test_effect_kinds() -> None:
    modules = {
        "m": "import datetime, os, random\nfrom celery import shared_task\n\n"
        "@shared_task\ndef add(x):\n    return x\n\n"
        "def now():\n    return datetime.datetime.now()\n\n"
        "def region():\n    return os.environ['REGION']\n\n"
        "def roll():\n    return random.randint(1, 6)\n\n"
        "def total():\n    return add.delay(1).get()\n\n"
        "def read(path):\n    return open(path).read()\n"
    }
    hazards = frozenset({HAZARD})
    assert chain(modules, "m.now", hazards) == "now -> datetime.datetime.now"
    assert chain(modules, "m.region", hazards) == "region -> os.environ"
    assert chain(modules, "m.roll", hazards) == "roll -> random.randint"
    assert chain(modules, "m.total", frozenset({WAIT})) == "total -> add.delay().get"
    assert chain(modules, "m.read", frozenset({IO})) == "read -> open"


def test_modules_are_summarised_on_demand_and_as_far_whatever_is_cached() -> None:
    """From the modules that define jobs, the modules their calls name, up to `MAX_DEPTH` calls
    away; what was summarised before (a warm cache) changes nothing."""
    chain_of = {f"p.m{i}": f"from p.m{i + 1} import f{i + 1}\n\ndef f{i}():\n    f{i + 1}()\n" for i in range(6)}
    chain_of["p.unused"] = "def g():\n    pass\n"
    every = {
        name: ModuleModel(ast.parse(code), "x.py", name, False, ProjectIndex.collecting()).summary()
        for name, code in chain_of.items()
    }

    def follow(known: set[str]) -> list[str]:
        asked: list[str] = []
        summaries = {name: every[name] for name in known}

        def summarise(modules: set[str]) -> dict[str, ModuleSummary]:
            asked.extend(sorted(m for m in modules if m in every))
            return {m: every[m] for m in modules if m in every}

        follow_calls(summaries, ["p.m0"], summarise)
        return sorted(summaries)

    cold = follow({"p.m0"})
    assert cold == [f"p.m{i}" for i in range(DEMAND_DEPTH + 1)]
    assert follow({"p.m0", "p.m1", "p.m2"}) == cold


def test_effects_reached_know_their_loops() -> None:
    calls = graph(
        {
            "proj.notify": "import requests\n\n"
            "def everyone(ids):\n"
            "    for user in ids:\n        one(user)\n"
            "    audit(ids)\n\n"
            "def one(user):\n    requests.post('https://mail.example', json={'to': user}, timeout=5)\n\n"
            "def audit(ids):\n    requests.post('https://audit.example', json=ids, timeout=5)\n",
        }
    )
    found = [
        (reach.chain, looped) for reach, looped in calls.effects_reached("proj.notify.everyone", frozenset({CREATES}))
    ]
    assert found == [("everyone -> one -> requests.post", True), ("everyone -> audit -> requests.post", False)]
    first = calls.reach("proj.notify.everyone", frozenset({CREATES}))
    assert first is not None and calls.continues_after(first)  # `audit` comes after the loop
    last = calls.reach("proj.notify.audit", frozenset({CREATES}))
    assert last is not None and not calls.continues_after(last)
