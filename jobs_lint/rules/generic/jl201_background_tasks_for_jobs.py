from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.web import fastapi

_QUEUE = {
    "proj/__init__.py": "",
    "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n",
}
_ENDPOINT = (
    "from fastapi import BackgroundTasks, FastAPI\n\nfrom proj.{module} import {function}\n\n"
    "api = FastAPI()\n\n"
    "@api.post('/orders/{{order_id}}')\n"
    "def order(order_id: int, background_tasks: BackgroundTasks):\n"
    "    background_tasks.add_task({function}, order_id)\n"
)
_DB = (
    "from fastapi import BackgroundTasks, Depends, FastAPI\n"
    "from sqlalchemy.orm import Session\n\n"
    "api = FastAPI()\n\n"
    "def get_db():\n    db = Session()\n    try:\n        yield db\n    finally:\n        db.close()\n\n"
    "def audit(db, user_id):\n    db.execute('insert into audit values (:id)', {'id': user_id})\n\n"
)


class BackgroundTasksForJobs(Rule):
    """
    ## What it does
    Finds FastAPI `BackgroundTasks.add_task(...)` used for work that needs a job queue, in a
    project that has one (Celery, ARQ, Temporal): a function that sleeps, runs a long call
    (`subprocess`) or does I/O in a loop. It also finds `add_task` given something that is
    closed before the background task runs, whatever the project uses: the resource of an
    enclosing `with` block (`async with async_session() as db:`) or a dependency declared
    `Depends(get_db, scope="function")`, passed directly or through `**dict(db=db)`.

    ## Why is this bad?
    Background tasks run in the web process after the response is sent. They are not
    persisted: a deploy, a crash or an autoscaler stopping the process loses them without a
    trace, and there are no retries, time limits or monitoring. Long work also holds the web
    worker (and its event loop, for blocking calls).

    A resource opened by a `with` block in the endpoint is closed when the endpoint returns,
    before the background task runs, and so is a dependency declared with
    `Depends(..., scope="function")`. (A default-scoped dependency with `yield` stays open for
    background tasks since FastAPI 0.118, but not from 0.106 to 0.117: the code does not say
    which, so it is left alone.) Open a new session inside the background function, or pass ids
    and let a queued job do the work.
    """

    code = "JL201"
    name = "background-tasks-for-jobs"
    summary = "FastAPI BackgroundTasks runs durable work or gets a closed dependency"
    needles = ((b"add_task",), (b"BackgroundTasks",))

    invalid = (
        Invalid(
            "import time\nimport httpx\nfrom fastapi import BackgroundTasks, FastAPI\n\n"
            "api = FastAPI()\n\n"
            "def sync_catalog(shop_id):\n"
            "    for page in range(100):\n"
            "        httpx.get(f'https://shop.example/{shop_id}/{page}', timeout=5)\n"
            "        time.sleep(1)\n\n"
            "@api.post('/shops/{shop_id}/sync')\n"
            "def sync(shop_id: int, background_tasks: BackgroundTasks):\n"
            "    background_tasks.add_task(sync_catalog, shop_id)\n",
            files=_QUEUE,
            path="proj/api.py",
            line=14,
            message="`sync_catalog` runs as a FastAPI background task but it does I/O in a",
        ),
        Invalid(
            "import asyncio\nimport fastapi\n\napi = fastapi.FastAPI()\n\n"
            "async def remind(user_id):\n    await asyncio.sleep(3600)\n\n"
            "@api.post('/remind')\n"
            "async def later(user_id: int, tasks: fastapi.BackgroundTasks):\n"
            "    tasks.add_task(remind, user_id)\n",
            files=_QUEUE,
            path="proj/api.py",
            line=11,
            message="`remind` runs as a FastAPI background task but it sleeps",
        ),
        Invalid(
            "import subprocess\nfrom starlette.background import BackgroundTasks\nfrom fastapi import FastAPI\n\n"
            "api = FastAPI()\n\n"
            "def transcode(path):\n    subprocess.run(['ffmpeg', '-i', path, path + '.mp4'], check=True)\n\n"
            "@api.post('/videos')\n"
            "def upload(path: str, background: BackgroundTasks):\n"
            "    background.add_task(transcode, path)\n",
            files=_QUEUE,
            path="proj/api.py",
            line=12,
            message="`transcode` runs as a FastAPI background task but it runs a long call",
        ),
        Invalid(
            _DB + "@api.post('/login')\n"
            "def login(user_id: int, tasks: BackgroundTasks, db: Session = Depends(get_db, scope='function')):\n"
            "    tasks.add_task(audit, db, user_id)\n",
            path="app.py",
            line=18,
            message="`db` is from `Depends(get_db, scope='function')`, closed before the",
        ),
        Invalid(
            "from typing import Annotated\n" + _DB + "@api.post('/login')\n"
            "def login(user_id: int, tasks: BackgroundTasks,\n"
            "          db: Annotated[Session, Depends(get_db, scope='function')]):\n"
            "    tasks.add_task(audit, db=db, user_id=user_id)\n",
            path="app.py",
            line=20,
            message="`db` is from `Depends(get_db, scope='function')`, closed before the",
        ),
        Invalid(
            "from fastapi import BackgroundTasks\n"
            "from proj.db import async_session\nfrom proj.logs import create_log\n\n"
            "async def login(name: str, background_tasks: BackgroundTasks):\n"
            "    async with async_session() as db:\n"
            "        background_tasks.add_task(create_log, **dict(db=db, name=name))\n",
            path="proj/auth.py",
            line=7,
            message="`db` is from `async_session()`, closed when its `with` block ends,",
        ),
        Invalid(
            _ENDPOINT.format(module="notify", function="notify_followers"),
            files={
                **_QUEUE,
                "proj/notify.py": "from django.core.mail import send_mail\n\n"
                "def notify_followers(order_id):\n"
                "    for email in followers(order_id):\n        deliver(email, order_id)\n\n"
                "def deliver(email, order_id):\n"
                "    send_mail('Order', f'order {order_id}', None, [email])\n\n"
                "def followers(order_id):\n    return []\n",
            },
            path="proj/api.py",
            line=9,
            message="`notify_followers` runs as a FastAPI background task but it does an email in a loop, "
            "through `notify_followers -> deliver -> django.core.mail.send_mail`",
        ),
        Invalid(
            _ENDPOINT.format(module="billing", function="settle"),
            files={
                **_QUEUE,
                "proj/billing.py": "import requests\n\nfrom proj.models import Invoice\n\n"
                "def settle(order_id):\n"
                "    requests.post('https://pay.example/charges', json={'order': order_id}, timeout=10)\n"
                "    Invoice.objects.create(order_id=order_id)\n",
            },
            path="proj/api.py",
            line=9,
            message="but it has several side effects (an HTTP POST, an ORM create)",
        ),
        Invalid(
            _ENDPOINT.format(module="reports", function="build_report"),
            files={
                **_QUEUE,
                "proj/reports.py": "import requests\n\n"
                "def build_report(order_id):\n"
                "    rows = fetch(order_id)\n    text = render(rows)\n    store(order_id, text)\n\n"
                "def fetch(order_id):\n"
                "    return requests.get(f'https://shop.example/{order_id}', timeout=10).json()\n\n"
                "def render(rows):\n    with open('template.txt') as template:\n"
                "        return template.read().format(rows=rows)\n\n"
                "def store(order_id, text):\n    with open(f'{order_id}.txt', 'w') as report:\n"
                "        report.write(text)\n",
            },
            path="proj/api.py",
            line=9,
            message="but it runs 3 steps that do I/O (`fetch`, `render`, `store`)",
        ),
        Invalid(
            _ENDPOINT.format(module="imports", function="import_lines"),
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "from arq.connections import RedisSettings\n\n"
                "class WorkerSettings:\n    functions = []\n    redis_settings = RedisSettings()\n",
                "proj/imports.py": "from proj.models import Line\n\n"
                "def import_lines(order_id):\n"
                "    for number in range(100):\n        Line.objects.create(order_id=order_id, number=number)\n",
            },
            path="proj/api.py",
            line=9,
            message="`import_lines` runs as a FastAPI background task but it does an ORM create in a loop",
        ),
    )
    valid = (
        Valid(
            "from fastapi import BackgroundTasks, FastAPI\n\napi = FastAPI()\n\n"
            "def log_visit(path):\n    print(path)\n\n"
            "@api.get('/{path}')\n"
            "def page(path: str, background_tasks: BackgroundTasks):\n"
            "    background_tasks.add_task(log_visit, path)\n",
            files=_QUEUE,
            path="proj/api.py",
        ),
        Valid(
            "import time\nfrom fastapi import BackgroundTasks, FastAPI\n\napi = FastAPI()\n\n"
            "def slow(x):\n    time.sleep(5)\n\n"
            "@api.post('/')\n"
            "def post(x: int, background_tasks: BackgroundTasks):\n"
            "    background_tasks.add_task(slow, x)\n",
            path="app.py",
        ),
        Valid(
            "from rich.progress import Progress\nfrom fastapi import BackgroundTasks\n\n"
            "def run(items):\n"
            "    with Progress() as progress:\n"
            "        task = progress.add_task('Working', total=len(items))\n"
            "        return task\n",
            files=_QUEUE,
            path="proj/cli.py",
        ),
        Valid(
            _DB + "@api.post('/login')\n"
            "def login(user_id: int, tasks: BackgroundTasks, db: Session = Depends(get_db, scope='function')):\n"
            "    tasks.add_task(audit, None, user_id)\n"
            "    return db.get('users', user_id)\n",
            path="app.py",
        ),
        Valid(
            _DB + "@api.post('/login')\n"
            "def login(user_id: int, tasks: BackgroundTasks, db: Session = Depends(get_db)):\n"
            "    tasks.add_task(audit, db, user_id)\n",
            path="app.py",
        ),
        Valid(
            "from fastapi import BackgroundTasks\n"
            "from proj.db import async_session\nfrom proj.logs import create_log\n\n"
            "async def login(name: str, background_tasks: BackgroundTasks):\n"
            "    async with async_session() as db:\n"
            "        user = await db.get(name)\n"
            "        background_tasks.add_task(create_log, user_id=user.id, name=name)\n",
            path="proj/auth.py",
        ),
        Valid(
            "import time\nfrom fastapi import BackgroundTasks, FastAPI\nfrom proj.tasks import sync_catalog\n\n"
            "api = FastAPI()\n\n"
            "@api.post('/shops/{shop_id}/sync')\n"
            "def sync(shop_id: int, background_tasks: BackgroundTasks, scheduler=None):\n"
            "    background_tasks.add_task(sync_catalog.delay, shop_id)\n"
            "    scheduler.add_task(time.sleep, 5)\n",
            files={
                **_QUEUE,
                "proj/tasks.py": "from proj.celery import app\n\n@app.task\ndef sync_catalog(shop_id):\n    pass\n",
            },
            path="proj/api.py",
        ),
        Valid(
            _ENDPOINT.format(module="mail", function="welcome"),
            files={
                **_QUEUE,
                "proj/mail.py": "from django.core.mail import send_mail\n\n"
                "def welcome(user_id):\n    deliver(f'user-{user_id}@example.com')\n\n"
                "def deliver(address):\n    send_mail('Welcome', 'Hello', None, [address])\n",
            },
            path="proj/api.py",
        ),
        Valid(
            _ENDPOINT.format(module="billing", function="settle"),
            files={
                "proj/__init__.py": "",
                "proj/billing.py": "import requests\n\nfrom proj.models import Invoice\n\n"
                "def settle(order_id):\n"
                "    requests.post('https://pay.example/charges', json={'order': order_id}, timeout=10)\n"
                "    Invoice.objects.create(order_id=order_id)\n",
            },
            path="proj/api.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "add_task" and node.args):
            return
        ctx = self.ctx
        if not fastapi.is_background_tasks(ctx.model, func.value, ctx.scope):
            return
        target = node.args[0]
        if fastapi.has_job_queue(ctx.index):
            why = fastapi.durable_work(ctx.model, target, ctx.scope)
            related: tuple[tuple[str, int, str], ...] = ()
            if why is None:
                found = fastapi.durable_through_calls(ctx.model, target, ctx.scope)
                if found is not None:
                    why, reach = found
                    why += f", through `{reach.chain}`" if len(reach.hops) > 1 else f" (`{reach.effect.callee}`)"
                    related = reach.related
            if why is not None:
                self.report(
                    target,
                    f"`{ast.unparse(target)}` runs as a FastAPI background task but {why}: "
                    "it is lost on restart and never retried; send it to the job queue",
                    related=related,
                )
        for value in fastapi.passed_values(ctx.model, node, ctx.scope):
            closed = fastapi.closed_before_background(ctx.model, value, ctx.scope)
            if closed is not None:
                self.report(
                    value,
                    f"`{ast.unparse(value)}` is {closed}, before the background task runs: open a new one in the task",
                )
