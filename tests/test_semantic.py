"""The semantic layer: names resolved through imports, aliases and other modules."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from jobs_lint import gitignore
from jobs_lint.semantic.index import ProjectIndex
from jobs_lint.semantic.model import Kind, ModuleModel
from jobs_lint.semantic.modules import is_test_module, module_name
from jobs_lint.semantic.temporal.timeouts import longest_run
from jobs_lint.semantic.values import UNKNOWN


def model(code: str, module: str = "proj.tasks", others: dict[str, str] | None = None) -> ModuleModel:
    facts = [
        ModuleModel(ast.parse(text), f"{name}.py", name, False, ProjectIndex.collecting()).facts()
        for name, text in (others or {}).items()
    ]
    tree = ast.parse(code)
    facts.append(ModuleModel(tree, "x.py", module, False, ProjectIndex.collecting()).facts())
    return ModuleModel(tree, "x.py", module, False, ProjectIndex(facts))


def expr(m: ModuleModel, source: str) -> ast.expr:
    return ast.parse(source, mode="eval").body


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("from celery import chord as c", "c", "celery.chord"),
        ("import celery.canvas", "celery.canvas.chain", "celery.chain"),
        ("import celery.canvas as cv", "cv.group", "celery.group"),
        ("from celery.app.base import Celery", "Celery", "celery.Celery"),
        ("from celery import current_app as ca", "ca", "celery.current_app"),
        ("from . import helpers", "helpers.run", "proj.helpers.run"),
        ("from ..other import thing", "thing", "other.thing"),
        ("import celery\nc = celery.chord", "c", "celery.chord"),
        ("def f(): pass", "f", "proj.tasks.f"),
        ("", "len", "len"),
    ],
)
def test_qualified_names(code: str, name: str, expected: str) -> None:
    m = model(code)
    assert m.qualname(expr(m, name)) == expected


@pytest.mark.parametrize(
    ("module", "path", "expected"),
    [
        ("proj.tests.test_tasks", "proj/tests/test_tasks.py", True),  # a test package
        ("proj.billing_test", "proj/billing_test.py", True),
        ("conftest", "conftest.py", True),
        ("settings", "tests/settings.py", True),  # a test directory outside any package
        ("proj.pytest_plugin", None, True),
        ("proj.integration_tests.flows", None, True),
        ("proj.latest", "proj/latest.py", False),
        ("proj.contest", "proj/contest.py", False),
        ("top", "top.py", False),
        # Where the checkout lies is not the project's business.
        ("proj.tasks", "/tmp/pytest-of-root/pytest-1/test_x0/proj/tasks.py", False),
    ],
)
def test_test_modules(module: str, path: str | None, expected: bool) -> None:
    assert is_test_module(module, path) is expected


def test_parameters_shadow_imports() -> None:
    m = model("from celery import chain\ndef f(chain):\n    return chain\n")
    function = m.tree.body[1]
    assert m.qualname(ast.Name(id="chain"), m.scope_of(function)) is None


def test_app_imported_from_another_module_through_a_reexport() -> None:
    m = model(
        "from proj import celery_app\n\n@celery_app.task\ndef add(x, y):\n    return x + y\n",
        others={
            "proj": "from .celery import app as celery_app\n",
            "proj.celery": "from celery import Celery\napp = Celery('proj')\n",
        },
    )
    assert m.is_app("proj.celery.app")
    task = m.task_of(m.tree.body[1])
    assert task is not None and task.name == "proj.tasks.add"
    assert task.signature.params == ("x", "y")


def test_values() -> None:
    m = model(
        "from celery import shared_task, chain\n\n@shared_task\ndef add(x, y):\n    return x + y\n"
        "r = add.delay(1, 2)\nsig = add.si(1, 2)\nflow = add.s(1) | add.s(2)\nsent = chain(add.s(1, 2))()\n"
    )
    kinds = {name: m.value_of(ast.Name(id=name)) for name in ("r", "sig", "flow", "sent", "add")}
    assert kinds["r"].kind is Kind.RESULT
    assert kinds["sig"].kind is Kind.SIGNATURE and kinds["sig"].immutable
    assert kinds["flow"].kind is Kind.CANVAS
    assert kinds["sent"].kind is Kind.RESULT
    assert kinds["add"].kind is Kind.TASK


def test_class_based_tasks_and_inherited_options() -> None:
    m = model(
        "from proj.base import BaseTask\n\nclass Send(BaseTask):\n    name = 'mail.send'\n"
        "    def run(self, to):\n        return to\n",
        others={
            "proj.base": "from celery import Task\n\nclass BaseTask(Task):\n    acks_late = True\n    max_retries = 3\n"
        },
    )
    task = m.task_of(m.tree.body[1])
    assert task is not None and task.is_class and task.name == "mail.send"
    assert m.index.task_options(task) == {"acks_late": True, "max_retries": 3, "name": "mail.send"}


def test_configuration_wherever_it_is_written() -> None:
    m = model(
        "from celery import Celery\n"
        "app = Celery('p', broker='redis://', task_time_limit=60, **extra)\n"
        "app.conf.update({'task_acks_late': True}, worker_prefetch_multiplier=1)\n"
        "app.conf.task_soft_time_limit = 50\n"
        "app.conf['result_expires'] = 3600\n"
        "CELERY_ACCEPT_CONTENT = ['json']\n"
        "CELERYD_PREFETCH_MULTIPLIER = 4\n"
    )
    entries = {(e.key, str(e.value)) for e in m.celery.config}
    assert entries == {
        ("broker_url", "redis://"),
        ("task_time_limit", "60"),
        ("task_acks_late", "True"),
        ("worker_prefetch_multiplier", "1"),
        ("task_soft_time_limit", "50"),
        ("result_expires", "3600"),
        ("accept_content", "['json']"),
        ("worker_prefetch_multiplier", "4"),
    }
    assert m.index.config_opaque  # **extra could set anything


def test_config_module_loaded_by_name() -> None:
    m = model(
        "from celery import Celery\napp = Celery('p')\napp.config_from_object('proj.celeryconf')\n",
        others={"proj.celeryconf": "task_serializer = 'json'\ntask_time_limit = 30\n"},
    )
    assert m.index.setting("task_time_limit") == [30]


def test_huey_tasks_are_not_celery_tasks() -> None:
    m = model("from huey import RedisHuey\nhuey = RedisHuey()\n\n@huey.task()\ndef job():\n    pass\n")
    assert m.task_of(m.tree.body[2]) is None


def test_module_names(tmp_path: Path) -> None:
    package = tmp_path / "src" / "proj" / "sub"
    package.mkdir(parents=True)
    for directory in (package.parent, package):
        (directory / "__init__.py").write_text("")
    (package / "tasks.py").write_text("")
    assert module_name(str(package / "tasks.py")) == "proj.sub.tasks"
    assert module_name(str(package / "__init__.py")) == "proj.sub"
    assert module_name(str(tmp_path / "script.py")) == "script"


def test_module_names_through_namespace_packages(tmp_path: Path) -> None:
    # onyx's layout: a package whose subdirectories have no `__init__.py` (PEP 420), where two
    # modules share a last name (`apps/light.py`, `configs/light.py`) and must not be one.
    (tmp_path / "pyproject.toml").write_text("")
    backend = tmp_path / "backend"
    for sub in ("apps", "configs"):
        (backend / "onyx" / "celery" / sub).mkdir(parents=True)
        (backend / "onyx" / "celery" / sub / "light.py").write_text("")
    (backend / "onyx" / "__init__.py").write_text("")
    assert module_name(str(backend / "onyx" / "celery" / "apps" / "light.py")) == "onyx.celery.apps.light"
    assert module_name(str(backend / "onyx" / "celery" / "configs" / "light.py")) == "onyx.celery.configs.light"
    (backend / "scripts").mkdir()
    # No package above it: namespace packages from the project's root.
    assert module_name(str(backend / "scripts" / "run.py")) == "backend.scripts.run"
    app = tmp_path / "app" / "arq"
    app.mkdir(parents=True)
    assert module_name(str(app / "tasks.py")) == "app.arq.tasks"  # a FastAPI `app/` without `__init__.py`
    deep = tmp_path / "a" / "b" / "c" / "d" / "e" / "f"
    deep.mkdir(parents=True)
    (tmp_path / "a" / "__init__.py").write_text("")
    assert module_name(str(deep / "x.py")) == "x"  # too far below the package to be part of it


def test_module_names_under_a_namespace_package_the_project_declares(tmp_path: Path) -> None:
    # `keep/api/__init__.py` with no `keep/__init__.py`, in a project that packages `keep`: the
    # project imports `keep.api...`, and the project's root is the import root.
    (tmp_path / "pyproject.toml").write_text('[tool.poetry]\nname = "keep"\npackages = [{include = "keep"}]\n')
    (tmp_path / "keep" / "api" / "core").mkdir(parents=True)
    (tmp_path / "keep" / "api" / "__init__.py").write_text("")
    (tmp_path / "keep" / "api" / "core" / "__init__.py").write_text("")
    assert module_name(str(tmp_path / "keep" / "api" / "core" / "db.py")) == "keep.api.core.db"
    # One it does not declare stays above the import root (a `backend/` directory).
    (tmp_path / "backend" / "app").mkdir(parents=True)
    (tmp_path / "backend" / "app" / "__init__.py").write_text("")
    assert module_name(str(tmp_path / "backend" / "app" / "tasks.py")) == "app.tasks"


def test_module_names_below_a_django_project_with_an_init(tmp_path: Path) -> None:
    # `manage.py` beside an `__init__.py`: the project's directory is the import root, not a
    # package (`from courses.models import ...`); one inside a project's package is a module.
    site = tmp_path / "site"
    (site / "courses").mkdir(parents=True)
    for path in (site / "__init__.py", site / "manage.py", site / "courses" / "__init__.py"):
        path.write_text("")
    assert module_name(str(site / "courses" / "tasks.py")) == "courses.tasks"
    (tmp_path / "pyproject.toml").write_text("")
    assert module_name(str(site / "courses" / "tasks.py")) == "site.courses.tasks"
    checkout = tmp_path / "checkout@v2"
    (checkout / "courses").mkdir(parents=True)
    (checkout / "__init__.py").write_text("")
    (checkout / "courses" / "__init__.py").write_text("")
    assert module_name(str(checkout / "courses" / "tasks.py")) == "courses.tasks"


@pytest.mark.parametrize(
    ("path", "is_dir", "expected"),
    [
        ("a.pyc", False, True),
        ("x/a.pyc", False, True),
        ("build", True, True),
        ("build", False, None),
        ("top.py", False, True),
        ("sub/top.py", False, None),
        ("docs/x.py", False, True),
        ("docs/keep.py", False, False),
        ("a/gen/b.py", False, True),
        ("gen/b.py", False, True),
        ("secret", False, False),
        ("ok.py", False, None),
    ],
)
def test_gitignore_patterns(tmp_path: Path, path: str, is_dir: bool, expected: bool | None) -> None:
    (tmp_path / ".gitignore").write_text(
        "# comment\n*.pyc\nbuild/\n/top.py\ndocs/*.py\n!docs/keep.py\n**/gen/*.py\nsecret\n!secret\n"
    )
    ignore = gitignore.load(str(tmp_path))
    assert ignore is not None
    assert ignore.match(os.path.join(str(tmp_path), path), is_dir) is expected


def _effects(code: str) -> tuple[list[str], bool]:
    from jobs_lint.semantic.side_effects import creating_side_effects, has_idempotency_guard

    m = model(code)
    func = next(node for node in m.tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return [effect.what for effect in creating_side_effects(func, m)], has_idempotency_guard(func, m)


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ("def f(data):\n    Invoice.objects.create(**data)\n", "an ORM create"),
        ("def f(n):\n    invoice = Invoice(number=n)\n    invoice.save()\n", "an ORM save of a new row"),
        ("def f(rows):\n    Line.objects.bulk_create(rows)\n", "an ORM bulk create"),
        ("def f(row):\n    db.session.add(row)\n    db.session.commit()\n", "a session add"),
        ("def f(cursor):\n    cursor.execute('INSERT INTO log VALUES (1)')\n", "an INSERT"),
        ("import requests as r\n\ndef f(url):\n    r.post(url, json={})\n", "an HTTP POST"),
        ("import requests\n\ndef f(url):\n    s = requests.Session()\n    s.post(url)\n", "an HTTP POST"),
        ("async def f(ctx, url):\n    await ctx['session'].post(url)\n", "an HTTP POST"),
        ("from django.core.mail import send_mail\n\ndef f(to):\n    send_mail('s', 'b', None, [to])\n", "an email"),
        (
            "from django.core.mail import EmailMessage\n\ndef f(to):\n    msg = EmailMessage('s', 'b', to=[to])\n"
            "    msg.send()\n",
            "an email",
        ),
        ("import stripe\n\ndef f(amount):\n    stripe.PaymentIntent.create(amount=amount)\n", "a payment"),
        ("def f(jira, summary):\n    jira.create_issue(summary=summary)\n", "a ticket"),
        ("def f(rows):\n    def helper():\n        Invoice.objects.create()\n    helper()\n", "an ORM create"),
    ],
)
def test_creating_side_effects(code: str, what: str) -> None:
    effects, guarded = _effects(code)
    assert effects == [what]
    assert not guarded


@pytest.mark.parametrize(
    "code",
    [
        "def f(pk):\n    invoice = Invoice.objects.get(pk=pk)\n    invoice.save()\n",
        "def f(data):\n    return data.get('x'), {}.update(a=1)\n",
        "def f(rows):\n    Line.objects.bulk_create(rows, ignore_conflicts=True)\n",
        "import requests\n\ndef f(url):\n    return requests.get(url)\n",
        "def f(items):\n    items.add(1)\n    'a'.join(items)\n",
        "def f(cursor):\n    cursor.execute('SELECT 1')\n",
    ],
)
def test_calls_that_create_nothing(code: str) -> None:
    assert _effects(code)[0] == []


@pytest.mark.parametrize(
    "code",
    [
        "def f(n):\n    Invoice.objects.get_or_create(number=n)\n",
        "def f(n):\n    Invoice.objects.update_or_create(number=n, defaults={})\n",
        "import stripe\n\ndef f(key):\n    stripe.Charge.create(amount=1, idempotency_key=key)\n",
        "def f(r, n):\n    if not r.set(f'lock:{n}', 1, nx=True):\n        return\n    Invoice.objects.create()\n",
        "def f(cache, n):\n    with cache.lock(n):\n        Invoice.objects.create(number=n)\n",
        "def f(order):\n    if order.invoice_sent:\n        return\n    send_mail('s', 'b', None, [order.email])\n",
        "def f(n):\n    if Invoice.objects.filter(number=n).exists():\n        return\n    Invoice.objects.create()\n",
        "def f(cursor):\n    cursor.execute('INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING')\n",
        "@single_instance_lock\ndef f(n):\n    Invoice.objects.create(number=n)\n",
    ],
)
def test_idempotency_guards(code: str) -> None:
    assert _effects(code)[1]


@pytest.mark.parametrize(
    "code",
    [
        "def f(n):\n    if not n:\n        return\n    Invoice.objects.create(number=n)\n",
        "def f(n, block):\n    block.clock()\n    Invoice.objects.create(number=n)\n",
    ],
)
def test_not_guards(code: str) -> None:
    assert not _effects(code)[1]


def test_django_settings_as_class_attributes() -> None:
    m = model(
        "class Base(Settings):\n    CELERY_TASK_ACKS_LATE = True\n    CELERY_TASK_TIME_LIMIT = 60 * 60\n    X = 0\n",
        module="proj.settings",
    )
    assert {(entry.key, entry.value) for entry in m.celery.config} == {
        ("task_acks_late", True),
        ("task_time_limit", 3600),
    }


def test_app_made_by_a_factory_function() -> None:
    m = model(
        "from proj.worker import app\n\n@app.task\ndef add(x, y):\n    return x + y\n",
        others={
            "proj.worker": "from celery import Celery\n\ndef create_app():\n"
            "    application = Celery('proj')\n    application.conf.task_acks_late = True\n"
            "    return application\n\napp = create_app()\n",
        },
    )
    assert m.is_app("proj.worker.app")
    assert m.task_of(m.tree.body[1]) is not None


def test_transactions_through_project_wrappers_and_sqlalchemy() -> None:
    from jobs_lint.semantic.web import django

    m = model(
        "from django.db import transaction as tx\nfrom proj.db import locked\nfrom sqlalchemy.orm import sessionmaker\n"
        "Session = sessionmaker()\nsession = Session()\n",
        others={
            "proj.db": "from contextlib import contextmanager\nfrom django.db import transaction\n\n"
            "@contextmanager\ndef locked():\n    with transaction.atomic():\n        yield\n"
        },
    )
    scope = m.module_scope
    assert django.transaction_of(m, expr(m, "tx.atomic()"), scope) == "transaction.atomic()"
    assert django.transaction_of(m, expr(m, "tx.atomic"), scope) == "transaction.atomic()"
    assert django.transaction_of(m, expr(m, "tx.atomic(using='replica')"), scope) is None
    assert django.transaction_of(m, expr(m, "locked()"), scope) == "locked()"
    assert django.transaction_of(m, expr(m, "session.begin()"), scope) == "session.begin()"
    assert django.transaction_of(m, expr(m, "other.begin()"), scope) is None


def test_orm_objects() -> None:
    from jobs_lint.semantic.web import django

    m = model(
        "from django.shortcuts import get_object_or_404\norder = Order.objects.filter(a=1).first()\n"
        "for line in Line.objects.filter(order=order):\n    pass\n"
    )
    scope = m.module_scope
    for source in ("order", "line", "Order.objects.get(pk=1)", "get_object_or_404(Order, pk=1)", "Order.objects.all()"):
        assert django.is_orm_object(m, expr(m, source), scope), source
    for source in ("Order.objects.count()", "order.pk", "cache.get('x')", "Order.objects.values_list('pk')"):
        assert not django.is_orm_object(m, expr(m, source), scope), source


# Temporal ----------------------------------------------------------------------------------------

TEMPORAL_ACTIVITIES = (
    "from temporalio import activity\n\n"
    "@activity.defn\nasync def charge(order_id: str) -> None:\n    activity.heartbeat()\n\n"
    "@activity.defn(name='send-mail')\ndef send(to: str) -> None:\n    pass\n\n"
    "class Reports:\n    @activity.defn\n    async def render(self) -> None:\n        self._tick()\n\n"
    "    def _tick(self) -> None:\n        beat = activity.heartbeat\n        beat()\n"
)


def _calls(m: ModuleModel) -> list[ast.Call]:
    return [node for node in ast.walk(m.tree) if isinstance(node, ast.Call)]


def test_temporal_workflows_through_aliases_and_their_code() -> None:
    m = model(
        "from datetime import timedelta\n"
        "from temporalio import workflow as wf\n\n"
        "def helper():\n    return deeper()\n\n"
        "def deeper():\n    return 1\n\n"
        "def unrelated():\n    return 2\n\n"
        "class Base:\n    def shared(self):\n        return 3\n\n"
        "@wf.defn(name='orders')\nclass Orders(Base):\n"
        "    @wf.run\n    async def run(self) -> int:\n        return helper()\n\n"
        "    @wf.signal\n    def cancel(self) -> None:\n        pass\n\n"
        "    @wf.update\n    async def bump(self) -> None:\n        pass\n\n"
        "    @bump.validator\n    def check(self) -> None:\n        pass\n",
        module="proj.workflows",
    )
    temporal = m.temporal
    ((node, info),) = temporal.workflows
    assert info == temporal.workflow_of(node)
    assert (info.qualname, info.name, info.run) == ("proj.workflows.Orders", "orders", "run")
    kinds = {
        method.name: temporal.handler_kind(method)
        for method in node.body
        if isinstance(method, ast.AsyncFunctionDef | ast.FunctionDef)
    }
    assert kinds == {"run": "run", "cancel": "signal", "bump": "update", "check": "validator"}
    code = {
        n.name
        for n in ast.walk(m.tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and id(n) in temporal.workflow_code
    }
    assert code == {"helper", "deeper", "shared", "run", "cancel", "bump", "check"}
    helper = m.tree.body[2]
    assert temporal.in_workflow([helper]) == info
    assert temporal.in_workflow([m.tree.body[4]]) is None


def test_temporal_activities_and_heartbeats() -> None:
    m = model(TEMPORAL_ACTIVITIES, module="proj.activities")
    found = {info.qualname: info for _, info in m.temporal.activities}
    assert set(found) == {"proj.activities.charge", "proj.activities.send", "proj.activities.Reports.render"}
    assert found["proj.activities.charge"].heartbeats and found["proj.activities.charge"].is_async
    assert found["proj.activities.send"].name == "send-mail" and not found["proj.activities.send"].heartbeats
    assert found["proj.activities.Reports.render"].heartbeats  # through a helper method
    facts = m.facts().extra["temporal"]
    assert {a.qualname for a in facts.activities} == set(found)


def test_temporal_activities_record_what_they_create_unguarded() -> None:
    m = model(
        "import requests\nfrom temporalio import activity\n\n"
        "@activity.defn\ndef post(url: str) -> None:\n    requests.post(url)\n\n"
        "@activity.defn\ndef keyed(url: str, key: str) -> None:\n"
        "    requests.post(url, headers={'Idempotency-Key': key})\n\n"
        "@activity.defn\ndef read(url: str) -> None:\n    requests.get(url)\n",
        module="proj.activities",
    )
    found = {info.qualname.rpartition(".")[2]: info.creates for _, info in m.temporal.activities}
    assert found == {"post": "an HTTP POST", "keyed": None, "read": None}


def test_temporal_activity_calls_across_modules() -> None:
    m = model(
        "from temporalio import workflow\n"
        "with workflow.unsafe.imports_passed_through():\n"
        "    from proj import activities as acts\n"
        "    from proj.activities import Reports\n\n"
        "@workflow.defn\nclass Flow:\n    @workflow.run\n    async def run(self) -> None:\n"
        "        await workflow.execute_activity(acts.charge, 'o1', start_to_close_timeout=t, **extra)\n"
        "        await workflow.start_local_activity('send-mail', 'a@b')\n"
        "        await workflow.execute_activity_method(Reports.render, heartbeat_timeout=t)\n"
        "        await workflow.execute_activity(unknown)\n"
        "        await workflow.execute_child_workflow(Flow.run)\n",
        module="proj.workflows",
        others={"proj.activities": TEMPORAL_ACTIVITIES},
    )
    scope = m.scope_of(m.tree.body[2].body[0])
    calls = [m.temporal.activity_call(call, scope) for call in _calls(m)]
    found = [
        (c.function, c.local, c.activity.qualname if c.activity else None, sorted(c.keywords), c.opaque)
        for c in calls
        if c
    ]
    assert found == [
        ("execute_activity", False, "proj.activities.charge", ["start_to_close_timeout"], True),
        ("start_local_activity", True, "proj.activities.send", [], False),
        ("execute_activity_method", False, "proj.activities.Reports.render", ["heartbeat_timeout"], False),
        ("execute_activity", False, None, [], False),
    ]


def test_temporal_workflow_starts() -> None:
    m = model(
        "from temporalio.client import Client\nfrom proj.workflows import Flow\n\n"
        "async def get_client() -> Client:\n    return await Client.connect('localhost:7233')\n\n"
        "async def main(client: Client, other, service):\n"
        "    await client.start_workflow('flow', id='a', task_queue='q')\n"
        "    c = await Client.connect('x')\n    await c.execute_workflow('any', id='b')\n"
        "    await (await get_client()).start_workflow('any', id='c')\n"
        "    await other.start_workflow(Flow.run, id='d')\n"
        "    await service.start_workflow('unknown', id='e')\n"
        "    await other.start_workflow(Flow.other, id='f')\n",
        others={
            "proj.workflows": "from temporalio import workflow\n\n"
            "@workflow.defn(name='flow')\nclass Flow:\n"
            "    @workflow.run\n    async def run(self) -> None:\n        pass\n"
        },
    )
    main = m.tree.body[3]
    scope = m.scope_of(main)
    starts = [m.temporal.workflow_start(call, scope) for call in _calls(m)]
    found = [(string_id(s), s.workflow.qualname if s.workflow else None) for s in starts if s]
    assert found == [("a", "proj.workflows.Flow"), ("b", None), ("c", None), ("d", "proj.workflows.Flow")]


def string_id(start: object) -> str:
    node = start.keyword("id")  # type: ignore[attr-defined]
    assert isinstance(node, ast.Constant)
    return str(node.value)


def test_temporal_test_environment_clients() -> None:
    m = model(
        "from temporalio.testing import WorkflowEnvironment\n\n"
        "async def test_it():\n"
        "    async with await WorkflowEnvironment.start_time_skipping() as env:\n"
        "        await env.client.execute_workflow('w', id='x')\n"
    )
    scope = m.scope_of(m.tree.body[1])
    assert [s.function for c in _calls(m) if (s := m.temporal.workflow_start(c, scope))] == ["execute_workflow"]


def test_modules_without_temporal_have_no_temporal_facts() -> None:
    m = model("from celery import shared_task\n\n@shared_task\ndef defn():\n    pass\n")
    assert m.temporal.workflows == [] and m.temporal.activities == []
    assert "temporal" not in m.facts().extra


def test_temporal_retry_bounds_across_modules() -> None:
    m = model(
        TEMPORAL_ACTIVITIES,
        module="proj.activities",
        others={
            "proj.workflows": "from temporalio import workflow\nfrom temporalio.common import RetryPolicy\n"
            "from proj.activities import charge\n\n"
            "POLICY = RetryPolicy(non_retryable_error_types=['InvalidOrder'])\n\n"
            "async def run() -> None:\n"
            "    await workflow.execute_activity(charge, retry_policy=POLICY)\n"
            "    await workflow.execute_activity('send-mail', start_to_close_timeout=t)\n"
        },
    )
    found = {info.qualname.rpartition(".")[2]: info for _, info in m.temporal.activities}
    assert m.temporal.retries_bounded(found["charge"])
    assert not m.temporal.retries_bounded(found["send"])
    assert m.temporal.non_retryable("InvalidOrder") and not m.temporal.non_retryable("ValueError")


def test_temporal_activity_timeouts_across_modules() -> None:
    m = model(
        TEMPORAL_ACTIVITIES,
        module="proj.activities",
        others={
            "proj.workflows": "from datetime import timedelta\nfrom temporalio import workflow\n"
            "from proj.activities import charge, send\n\n"
            "LONG = timedelta(hours=1, minutes=30)\n\n"
            "async def run() -> None:\n"
            "    await workflow.execute_activity(charge, start_to_close_timeout=timedelta(minutes=2))\n"
            "    await workflow.execute_activity(charge, schedule_to_close_timeout=LONG)\n"
            "    await workflow.execute_activity('send-mail', start_to_close_timeout=timedelta(0, 90))\n"
            "    await workflow.execute_activity(\n"
            "        'send-mail', start_to_close_timeout=timedelta(hours=9), heartbeat_timeout=timedelta(seconds=30)\n"
            "    )\n"
            "    await workflow.execute_activity('render', start_to_close_timeout=timedelta(minutes=n))\n",
        },
    )
    found = {info.qualname.rpartition(".")[2]: info for _, info in m.temporal.activities}
    assert longest_run(m.temporal, found["charge"]) == 5400.0
    assert longest_run(m.temporal, found["send"]) == 90.0  # the call with a heartbeat timeout is not counted
    assert longest_run(m.temporal, found["render"]) is None  # computed: unknown


def test_temporal_activities_registered_by_calling_defn() -> None:
    m = model(
        "from temporalio import activity\n\n"
        "async def export_impl(part: int) -> None:\n    pass\n\n"
        "def fake(part: int) -> None:\n    pass\n\n"
        "mock = export_impl\n"
        "export = activity.defn(name='export-v2')(export_impl if part else mock)\n"
        "def render(page: int) -> None:\n    pass\n\n"
        "render = activity.defn(render)\n"
        "def other(part: int) -> None:\n    pass\n\n"
        "either = activity.defn(name='either')(fake if part else other)\n",
        module="proj.activities",
    )
    found = {info.qualname: info for _, info in m.temporal.activities}
    # `either` is one of two functions: which one is not known
    assert sorted(found) == ["proj.activities.export_impl", "proj.activities.render"]
    export = found["proj.activities.export_impl"]
    assert (export.alias, export.name, export.is_async) == ("proj.activities.export", "export-v2", True)
    assert found["proj.activities.render"].alias is None and found["proj.activities.render"].name == "render"
    assert m.temporal.activity_named("proj.activities.export") is export


def test_temporal_names_of_the_sdk_itself_are_public() -> None:
    m = model(
        "from temporalio.workflow._definition import defn, run\n\n"
        "@defn\nclass Flow:\n    @run\n    async def run(self) -> None:\n        pass\n",
        module="tests.flows",
    )
    assert [info.qualname for _, info in m.temporal.workflows] == ["tests.flows.Flow"]


def test_tasks_made_by_project_decorators_in_other_modules() -> None:
    m = model(
        "from proj.jobs import job, periodic, task, nightly\n\n"
        "@job\ndef a():\n    pass\n\n"
        "@periodic(run_every=60)\ndef b():\n    pass\n\n"
        "@task(bind=True, max_retries=2)\ndef c(self, x):\n    pass\n\n"
        "@nightly\ndef d():\n    pass\n",
        others={
            "proj.base": "from celery import Task\n\nclass Tracked(Task):\n    acks_late = True\n",
            "proj.jobs": "from celery import Celery, shared_task\nfrom proj.base import Tracked\n\n"
            "app = Celery('proj')\njob = shared_task\nnightly = app.task(queue='night')\n\n"
            "def periodic(**kw):\n    return lambda f: shared_task(**kw)(f)\n\n"
            "def task(*args, **kw):\n    return app.task(*args, base=Tracked, time_limit=60, **kw)\n",
        },
    )
    a, b, c, d = (m.task_of(m.tree.body[i]) for i in range(1, 5))
    assert a is not None and a.options == {}
    assert b is not None and b.options == {"run_every": 60}
    assert c is not None and c.signature.params == ("x",) and c.via == "proj.jobs.app"
    assert m.index.task_options(c) == {"acks_late": True, "time_limit": 60, "bind": True, "max_retries": 2}
    assert d is not None and d.options == {"queue": "night"}
    # The index agrees with the module's own model, though the module's facts could not judge.
    assert {t.qualname for t in m.index.tasks.values()} == {
        "proj.tasks.a",
        "proj.tasks.b",
        "proj.tasks.c",
        "proj.tasks.d",
    }
    assert m.index.tasks["proj.tasks.c"].options == c.options


def test_project_decorators_that_make_no_task() -> None:
    m = model(
        "from proj.web import login_required, cached\n\n@login_required\ndef a():\n    pass\n\n"
        "@cached(60)\ndef b():\n    pass\n",
        others={
            "proj.web": "import functools\n\ndef login_required(f):\n    return f\n\n"
            "def cached(seconds):\n    return functools.lru_cache()\n"
        },
    )
    assert m.task_of(m.tree.body[1]) is None and m.task_of(m.tree.body[2]) is None
    assert not m.index.tasks


def test_configuration_values_through_other_modules() -> None:
    m = model(
        "from celery import Celery\nfrom proj import base\nfrom proj.settings import settings, Plain\n\n"
        "app = Celery('p')\n"
        "app.conf.task_acks_late = base.task_acks_late\n"
        "app.conf.task_time_limit = settings.time_limit\n"
        "app.conf.task_soft_time_limit = Plain.soft_limit\n"
        "app.conf.worker_prefetch_multiplier = base.prefetch\n"
        "app.conf.result_expires = base.chained\n",
        others={
            "proj.base": "import os\nfrom proj import deeper\n\ntask_acks_late = True\n"
            "prefetch = int(os.environ['PREFETCH'])\nchained = deeper.expires\n",
            "proj.deeper": "expires = 3600\n",
            "proj.settings": "from pydantic_settings import BaseSettings\n\n"
            "class Settings(BaseSettings):\n    time_limit: int = 300\n\n"
            "class Plain:\n    soft_limit = 240\n\nsettings = Settings()\n",
        },
    )
    entries = {e.key: e.value for e in m.celery.config}
    assert entries["task_acks_late"] is True
    assert entries["task_time_limit"] == 300
    assert entries["task_soft_time_limit"] == 240
    assert entries["worker_prefetch_multiplier"] is UNKNOWN  # computed: never a default
    assert entries["result_expires"] == 3600  # two modules away
    assert m.index.setting("task_acks_late") == [True]


def test_the_task_class_an_app_gives_every_task() -> None:
    others = {
        "proj.base": "from celery import Task\n\nclass Reliable(Task):\n    acks_late = True\n\n"
        "class Other(Task):\n    max_retries = 1\n",
        "proj.worker": "from celery import Celery\nfrom proj.base import Reliable\n\n"
        "app = Celery('proj')\napp.Task = Reliable\n"
        "beat = Celery('beat', task_cls='proj.base:Reliable')\n",
    }
    m = model(
        "from celery import shared_task\nfrom proj.worker import app\nfrom proj.base import Other\n\n"
        "@app.task(max_retries=2)\ndef a():\n    pass\n\n"
        "@shared_task\ndef b():\n    pass\n\n"
        "@app.task(base=Other)\ndef c():\n    pass\n",
        others=others,
    )
    a, b, c = (m.task_of(m.tree.body[i]) for i in range(3, 6))
    assert a is not None and m.index.task_options(a) == {"acks_late": True, "max_retries": 2}
    assert b is not None and m.index.task_options(b) == {"acks_late": True}  # every app gives Reliable
    assert c is not None and m.index.task_options(c) == {"max_retries": 1}  # its own base wins


@pytest.mark.parametrize(
    ("factory", "use"),
    [
        # A factory of a package's __init__, re-exported and used through the package.
        (
            "def task(**kw):\n    return shared_task(bind=True, autoretry_for=(OSError,), **kw)\n",
            "@proj.utils.task(queue='q')",
        ),
        ("job = functools.partial(shared_task, bind=True, autoretry_for=(OSError,))\n", "@proj.utils.job(queue='q')"),
        ("def task(f):\n    return shared_task(bind=True, autoretry_for=(OSError,))(f)\n", "@proj.utils.task"),
    ],
)
def test_task_factory_options_count_as_the_tasks(factory: str, use: str) -> None:
    m = model(
        f"import proj.utils\n\n{use}\ndef charge(self, order_id):\n    return order_id\n",
        module="proj.billing",
        others={"proj.utils": "import functools\nfrom celery import shared_task\n\n" + factory},
    )
    task = m.task_of(m.tree.body[1])
    assert task is not None
    assert task.options["bind"] is True
    assert task.options["autoretry_for"] == (UNKNOWN,)
    assert task.signature.params == ("order_id",)
    assert m.index.tasks["proj.billing.charge"].options["autoretry_for"] == (UNKNOWN,)


def test_module_task_is_a_factory_before_an_app_decorator() -> None:
    m = model(
        "from proj import base\n\n@base.task\ndef charge(order_id):\n    return order_id\n",
        module="proj.billing",
        others={
            "proj.base": "from proj.celery import app\n\n"
            "def task(*a, **kw):\n    return app.task(*a, acks_late=True, **kw)\n",
            "proj.celery": "from celery import Celery\n\napp = Celery('proj')\n",
        },
    )
    task = m.task_of(m.tree.body[1])
    assert task is not None and task.options == {"acks_late": True} and task.via == "proj.celery.app"


def test_activity_scheduled_under_a_packages_alias_gets_its_workflows_timeout() -> None:
    m = model(
        "from temporalio import activity\n\n"
        "class Export:\n    @activity.defn(name='export')\n    async def run(self) -> None:\n        pass\n",
        module="proj.activities.export",
        others={
            "proj.activities": "from proj.activities.export import Export\n\nexport_activity = Export.run\n",
            "proj.workflows": "from datetime import timedelta\nfrom temporalio import workflow\n\n"
            "with workflow.unsafe.imports_passed_through():\n"
            "    from proj.activities import export_activity\n\n"
            "@workflow.defn\nclass Flow:\n    @workflow.run\n    async def run(self) -> None:\n"
            "        await workflow.execute_activity(export_activity, start_to_close_timeout=timedelta(minutes=5))\n",
        },
    )
    ((_, activity),) = m.temporal.activities
    assert longest_run(m.temporal, activity) == 300.0


def test_refused_transition_exits() -> None:
    from jobs_lint.semantic.syntax import own_nodes
    from jobs_lint.semantic.transitions import refused_transition_exits

    source = (
        "async def job(db, task_id):\n"
        "    row = await update_task_state(db, task_id, 'READY', 'STARTED')\n"
        "    if row is None:\n        raise RuntimeError('not ready')\n"
        "    user = await get_user(db, task_id)\n"
        "    if user is None:\n        return\n"
    )
    function = ast.parse(source).body[0]
    # Only the exit on a refused transition guards; one on a missing row does not.
    assert [node.lineno for node in refused_transition_exits(own_nodes(function))] == [3]
