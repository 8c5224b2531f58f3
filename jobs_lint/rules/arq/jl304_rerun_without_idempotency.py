from __future__ import annotations

import ast

from jobs_lint.rules import needles
from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.arq import module as arq
from jobs_lint.semantic.side_effects import SideEffect, creating_side_effects, has_idempotency_guard
from jobs_lint.semantic.summaries import CREATES

CREATES_ONLY = frozenset({CREATES})

_SETTINGS = "\n\nclass WorkerSettings:\n    functions = [{job}]\n"


# A client module-level instance whose methods POST, and a worker that registers the jobs a
# decorator factory wraps (`@task("name", max_tries=10)` appends `func(f, ...)` to its functions).
_LOOPS = {
    "proj/__init__.py": "",
    "proj/worker.py": "from arq import func\n\n"
    "class WorkerSettings:\n    functions = []\n\n"
    "def task(name, *, max_tries=None):\n"
    "    def decorator(f):\n"
    "        new_task = func(f, name=name, max_tries=max_tries)\n"
    "        WorkerSettings.functions.append(new_task)\n"
    "        return f\n"
    "    return decorator\n",
    "proj/loops.py": "import httpx\n\n"
    "class LoopsClient:\n"
    "    def __init__(self, key):\n        self.client = httpx.AsyncClient(headers={'Authorization': key})\n\n"
    "    async def send_event(self, email, name):\n"
    "        response = await self.client.post('/events/send', json={'email': email, 'event': name})\n"
    "        response.raise_for_status()\n\n"
    "    async def update_contact(self, email, **fields):\n"
    "        response = await self.client.post('/contacts/update', json={'email': email, **fields})\n"
    "        response.raise_for_status()\n\n"
    "client = LoopsClient(KEY)\n",
}


class RerunWithoutIdempotency(Rule):
    """
    ## What it does
    Finds ARQ jobs that may run more than once and create something each time they run, with no
    guard against doing it twice: an ORM `create` or a `save()` of a new instance,
    `session.add`, an `INSERT`, an HTTP POST, an email, a payment or a ticket (the same
    side effects and guards as `retry-without-idempotency`, JL104; a check of
    `ctx["job_try"]` that returns early counts as a guard too).

    Side effects are followed through the functions and methods the job calls, in any module
    (a service class's method, an API client's): the finding names the chain of calls and is
    reported on the side effect when it lies in the job's module, and a function with a guard
    of its own stops the chain.

    Side effects in `except` clauses (failure alerts) are left alone: one per attempt is what
    they mean. A job may run again unless every worker that registers it allows a single try
    (`func(job, max_tries=1)`, `max_tries = 1` on the worker, or a `cron(...)` job left at its
    default of one try). A side effect is reported when something after it can still fail or be
    cancelled (another side effect, an `await`, a `raise`), or is written before a
    `raise Retry(...)`; payments always are.

    ## Why is this bad?
    ARQ is pessimistic: a job whose worker is killed runs again once its lock expires, a job
    cancelled by a worker shutdown (every deploy) runs again from the start, and `Retry` runs
    the whole job again. What already happened before the interruption happens twice: two
    emails, two tickets, two charges.

    Make the creation idempotent (an idempotency key derived from the job's arguments,
    `get_or_create`/`ON CONFLICT`, a check that the work is done), or give the job a single try
    with `func(job, max_tries=1)` when running it twice is worse than not running it.
    """

    code = "JL304"
    name = "arq-rerun-without-idempotency"
    summary = "An ARQ job that may run again creates something again"
    needles = (
        needles.ARQ_JOBS,
        (b"async def",),
    )

    invalid = (
        Invalid(
            "async def welcome(ctx, user_id):\n"
            "    user = await ctx['db'].get_user(user_id)\n"
            "    await ctx['mailer'].send_email(user.email, 'Welcome!')\n"
            "    await ctx['db'].mark_welcomed(user_id)\n" + _SETTINGS.format(job="welcome"),
            line=3,
            message="Job `welcome` may run again (max_tries=5",
        ),
        Invalid(
            "from arq import Retry\n\n"
            "async def notify(ctx, url, payload):\n"
            "    response = await ctx['session'].post(url, json=payload)\n"
            "    if not response.is_success:\n"
            "        raise Retry(defer=ctx['job_try'] * 5)\n\n"
            "class WorkerSettings:\n    functions = [notify]\n    max_tries = 3\n",
            line=4,
            message="Job `notify` may run again (max_tries=3",
        ),
        Invalid(
            "import stripe\nfrom arq import func\n\n"
            "async def charge(ctx, customer, amount):\n"
            "    stripe.Charge.create(customer=customer, amount=amount)\n\n"
            "class WorkerSettings:\n    functions = [func(charge, max_tries=3)]\n",
            line=5,
            message="Job `charge` may run again (max_tries=3",
        ),
        Invalid(
            "from myapp.models import Invoice\n\n"
            "async def invoice(ctx, order_id):\n"
            "    await Invoice.objects.acreate(order_id=order_id)\n"
            "    await ctx['redis'].enqueue_job('send_invoice', order_id)\n",
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/worker.py": "from arq import Worker\nfrom proj.jobs import invoice\n\n"
                "worker = Worker(functions=[invoice])\n",
            },
            line=4,
            message="Job `invoice` may run again (max_tries=5",
        ),
        Invalid(
            "async def audit(ctx, event):\n"
            "    db = ctx['db']\n"
            "    await db.execute('INSERT INTO audit (event) VALUES ($1)', event)\n"
            "    await db.execute('UPDATE counters SET n = n + 1')\n" + _SETTINGS.format(job="audit"),
            line=3,
            message="Job `audit` may run again (max_tries=5",
        ),
        Invalid(
            "from proj.mail import Mailer\n\n"
            "async def send_receipt(ctx, order_id):\n"
            "    await Mailer(ctx).deliver(order_id)\n" + _SETTINGS.format(job="send_receipt"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/mail.py": "import httpx\n\n"
                "class Mailer:\n"
                "    def __init__(self, ctx):\n        self.ctx = ctx\n\n"
                "    async def deliver(self, order_id):\n"
                "        await self._post(order_id)\n"
                "        await self.ctx['db'].mark_sent(order_id)\n\n"
                "    async def _post(self, order_id):\n"
                "        async with httpx.AsyncClient() as client:\n"
                "            await client.post('https://mail.example/send', json={'order': order_id})\n",
            },
            line=4,
            message="would repeat an HTTP POST through `Mailer.deliver -> Mailer._post -> client.post`",
        ),
        Invalid(
            "from proj.mail import Mailer\n\n"
            "async def send_receipt(ctx, order_id):\n"
            "    await Mailer(ctx).deliver(order_id)\n" + _SETTINGS.format(job="send_receipt"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/mail.py": "import httpx\n\n"
                "class Mailer:\n"
                "    def __init__(self, ctx):\n        self.ctx = ctx\n\n"
                "    async def deliver(self, order_id):\n"
                "        await self._post(order_id)\n"
                "        await self.ctx['db'].mark_sent(order_id)\n\n"
                "    async def _post(self, order_id):\n"
                "        async with httpx.AsyncClient() as client:\n"
                "            await client.post('https://mail.example/send', json={'order': order_id})\n",
            },
            checked="proj/mail.py",
            line=13,
            message="Job `send_receipt` may run again (max_tries=5: a killed or cancelled worker, or `Retry`) and "
            "would repeat an HTTP POST through `send_receipt -> Mailer.deliver -> Mailer._post -> client.post`",
        ),
        Invalid(
            "import httpx\n\n"
            "class Sender:\n"
            "    async def run(self, ctx, number):\n"
            "        await self._send(ctx, number)\n"
            "        await ctx['db'].store(number)\n\n"
            "    async def _send(self, ctx, number):\n"
            "        await ctx['session'].post('https://sms.example/messages', json={'to': number})\n\n"
            "async def send_sms(ctx, number):\n"
            "    await Sender().run(ctx, number)\n" + _SETTINGS.format(job="send_sms"),
            line=9,
            message="Job `send_sms` may run again (max_tries=5: a killed or cancelled worker, or `Retry`) "
            "and would repeat an HTTP POST through `Sender.run -> Sender._send -> ctx[...].post`",
        ),
        Invalid(
            "from proj.loops import client\nfrom proj.worker import task\n\nMAX_RETRIES = 10\n\n"
            "@task('loops.send_event', max_tries=MAX_RETRIES)\n"
            "async def send_event(ctx, email, name):\n    await client.send_event(email, name)\n",
            path="proj/jobs.py",
            files=_LOOPS,
            checked="proj/loops.py",
            line=8,
            message="Job `send_event` may run again (max_tries=10: a killed or cancelled worker, or `Retry`) and "
            "would repeat an HTTP POST through `send_event -> LoopsClient.send_event -> self.client.post`",
        ),
    )
    valid = (
        Valid(
            "from proj.odm import submit\nfrom proj.state import update_task_state\n\n"
            "async def process(ctx, task_id):\n"
            "    row = await update_task_state(ctx['db'], task_id, 'READY', 'STARTED')\n"
            "    if row is None:\n        raise RuntimeError('task is not ready')\n"
            "    await submit(task_id)\n"
            "    await ctx['db'].record_submitted(task_id)\n" + _SETTINGS.format(job="process"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/state.py": "async def update_task_state(db, task_id, old, new):\n"
                "    return await db.fetchrow('UPDATE t SET s=$3 WHERE id=$1 AND s=$2', task_id, old, new)\n",
                "proj/odm.py": "import httpx\n\n"
                "async def submit(task_id):\n"
                "    async with httpx.AsyncClient() as client:\n"
                "        await client.post('https://odm.example/task/new', json={'id': task_id})\n",
            },
        ),
        Valid(
            "async def welcome(ctx, user_id):\n"
            "    user = await ctx['db'].get_user(user_id)\n"
            "    if user.welcome_sent:\n        return\n"
            "    await ctx['mailer'].send_email(user.email, 'Welcome!')\n"
            "    await ctx['db'].mark_welcomed(user_id)\n" + _SETTINGS.format(job="welcome")
        ),
        Valid(
            "from arq import func\n\n"
            "async def welcome(ctx, user_id):\n"
            "    await ctx['mailer'].send_email(user_id, 'Welcome!')\n"
            "    await ctx['db'].mark_welcomed(user_id)\n\n"
            "class WorkerSettings:\n    functions = [func(welcome, max_tries=1)]\n"
        ),
        Valid(
            "from arq import cron\n\n"
            "async def digest(ctx):\n"
            "    await ctx['mailer'].send_email('team@example.com', 'Digest')\n"
            "    await ctx['db'].mark_sent()\n\n"
            "class WorkerSettings:\n    cron_jobs = [cron(digest, hour=8)]\n"
        ),
        Valid(
            "async def welcome(ctx, user_id):\n"
            "    await ctx['mailer'].send_email(user_id, 'Welcome!')\n"
            "    await ctx['db'].mark_welcomed(user_id)\n"
        ),
        Valid(
            "async def charge(ctx, order_id, amount):\n"
            "    await ctx['payments'].create_charge(order_id, amount, idempotency_key=f'order-{order_id}')\n"
            "    await ctx['db'].mark_paid(order_id)\n" + _SETTINGS.format(job="charge")
        ),
        Valid(
            "async def welcome(ctx, user_id):\n"
            "    if ctx['job_try'] > 1:\n        return\n"
            "    await ctx['mailer'].send_email(user_id, 'Welcome!')\n"
            "    await ctx['db'].mark_welcomed(user_id)\n" + _SETTINGS.format(job="welcome")
        ),
        Valid("async def ping(ctx, url):\n    await ctx['session'].post(url)\n" + _SETTINGS.format(job="ping")),
        Valid(
            "from proj.mail import Mailer\n\n"
            "async def send_receipt(ctx, order_id):\n"
            "    await Mailer(ctx).deliver(order_id)\n" + _SETTINGS.format(job="send_receipt"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/mail.py": "import httpx\n\n"
                "class Mailer:\n"
                "    def __init__(self, ctx):\n        self.ctx = ctx\n\n"
                "    async def deliver(self, order_id):\n"
                "        if await self.ctx['redis'].set(f'receipt:{order_id}', 1, nx=True):\n"
                "            await self._post(order_id)\n\n"
                "    async def _post(self, order_id):\n"
                "        async with httpx.AsyncClient() as client:\n"
                "            await client.post('https://mail.example/send', json={'order': order_id})\n",
            },
        ),
        Valid(
            "from proj.mail import Mailer\n\n"
            "async def send_receipt(ctx, order_id):\n"
            "    await Mailer(ctx).deliver(order_id)\n" + _SETTINGS.format(job="send_receipt"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/mail.py": "import httpx\n\n"
                "class Mailer:\n"
                "    def __init__(self, ctx):\n        self.ctx = ctx\n\n"
                "    async def deliver(self, order_id):\n"
                "        async with httpx.AsyncClient() as client:\n"
                "            await client.get(f'https://mail.example/status/{order_id}')\n",
            },
        ),
        Valid(
            "from proj.loops import client\nfrom proj.worker import task\n\n"
            "@task('loops.update_contact', max_tries=10)\n"
            "async def update_contact(ctx, email, plan):\n    await client.update_contact(email, plan=plan)\n",
            path="proj/jobs.py",
            files=_LOOPS,
            checked="proj/loops.py",
        ),
        Valid(
            "from proj.orders import record\n\n"
            "async def record_order(ctx, order_id):\n"
            "    async with ctx['sessionmaker']() as session, session.begin():\n"
            "        await record(session, order_id)\n" + _SETTINGS.format(job="record_order"),
            path="proj/jobs.py",
            files={
                "proj/__init__.py": "",
                "proj/orders.py": "from proj.models import Order\n\n"
                "async def record(session, order_id):\n"
                "    session.add(Order(id=order_id))\n    await session.flush()\n",
            },
            checked="proj/orders.py",
        ),
    )

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        if self.ctx.enclosing_defs:
            return
        jobs = self.ctx.model.arq.jobs_of(node)
        tries = [job.max_tries for job in jobs]
        if not jobs or not all(isinstance(t, int) for t in tries) or max(tries) < 2:
            return
        model = self.ctx.model
        handlers = [h for h in ast.walk(node) if isinstance(h, ast.ExceptHandler)]
        effects = creating_side_effects(node, model)
        direct = {id(effect.node) for effect in effects}
        effects += [
            SideEffect(call, reach.effect.what, reach)
            for call, reach in model.reaches(node, CREATES_ONLY, passed=True)
            if id(call) not in direct
        ]
        # What an `except` clause sends reports this attempt's failure: once per attempt is meant.
        effects = [e for e in effects if not any(_inside(e.node, h) for h in handlers)]
        if not effects:
            return
        effects.sort(key=lambda effect: (effect.node.lineno, effect.node.col_offset))
        retry_line = self._last_retry(node)
        graph = model.index.calls
        effects = [
            e
            for e in effects
            if e.what == "a payment"
            or e.node.lineno < retry_line
            or _fails_after(node, e, effects)
            or (e.reach is not None and graph.continues_after(e.reach))
        ]
        if not effects or has_idempotency_guard(node, model) or _checks_job_try(node):
            return
        effect = effects[0]
        through = f" through `{effect.reach.chain}`" if effect.reach else ""
        message = (
            f"Job `{node.name}` may run again (max_tries={max(tries)}: a killed or cancelled worker, "
            f"or `Retry`) and would repeat {effect.what}{through}: make it idempotent (an idempotency key, "
            "a done check), or give it `max_tries=1`"
        )
        if effect.reach is not None:
            self.report_reach(effect.node, node.name, effect.reach, message)
        else:
            self.report(effect.node, message)

    def _last_retry(self, function: ast.AsyncFunctionDef) -> int:
        module, scope = self.ctx.model.arq, self.ctx.model.scope_of(function)
        lines = [
            node.lineno
            for node in ast.walk(function)
            if isinstance(node, ast.Raise)
            and node.exc is not None
            and module.name(node.exc.func if isinstance(node.exc, ast.Call) else node.exc, scope)
            in (arq.RETRY, arq.RETRY_JOB)
        ]
        return max(lines, default=0)


def _fails_after(function: ast.AsyncFunctionDef, effect: SideEffect, effects: list[SideEffect]) -> bool:
    """Whether the job can still fail or be cancelled after `effect`: another side effect, an
    `await` (a cancellation point) or a `raise`."""
    end = (effect.node.end_lineno or effect.node.lineno, effect.node.end_col_offset or 0)
    if any((e.node.lineno, e.node.col_offset) >= end for e in effects):
        return True
    return any(
        isinstance(node, (ast.Await, ast.Raise)) and (node.lineno, node.col_offset) >= end
        for node in ast.walk(function)
    )


def _inside(node: ast.AST, outer: ast.AST) -> bool:
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    return (outer.lineno, outer.col_offset) <= start <= (outer.end_lineno, outer.end_col_offset)  # type: ignore[attr-defined]


def _checks_job_try(function: ast.AsyncFunctionDef) -> bool:
    """`if ctx["job_try"] > 1: return`: the job does nothing when it runs again."""
    for node in ast.walk(function):
        if (
            isinstance(node, ast.If)
            and node.body
            and isinstance(node.body[-1], (ast.Return, ast.Raise))
            and any(isinstance(n, ast.Constant) and n.value == "job_try" for n in ast.walk(node.test))
        ):
            return True
    return False
