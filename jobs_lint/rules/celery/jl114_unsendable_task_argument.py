from __future__ import annotations

import ast

from jobs_lint.rules.base import Invalid, Rule, Valid
from jobs_lint.semantic.celery.enqueue import PARTIALS, SENDS, enqueue_of, signature_of
from jobs_lint.semantic.messages.values import unsendable
from jobs_lint.semantic.modules import is_test_module

_TASKS = (
    "from celery import shared_task\n\n"
    "@shared_task\ndef notify(user_ids, subject=None):\n    return user_ids\n\n"
    "@shared_task\ndef process(upload):\n    return upload\n"
)
_FILES = {"app/__init__.py": "", "app/tasks.py": _TASKS}
_SERVICES = (
    "from app.models import Upload\n\n"
    "def load_upload(upload_id):\n    return Upload.objects.select_related('owner').get(pk=upload_id)\n"
)


class UnsendableTaskArgument(Rule):
    """
    ## What it does
    Finds task messages that carry what does not belong in a message: ORM rows (a Django model
    instance or QuerySet, a list of them, a SQLAlchemy mapped object from `session.get(...)` or
    `session.scalars(select(...)).all()`, or what a project function returns that is one), file
    contents and open files (`f.read()`, `path.read_bytes()`), uploads (`request.FILES[...]`, a
    FastAPI `UploadFile`), whole DataFrames, the web request, the signed-in user, a session,
    dumps of whole objects (`model_to_dict(...)`, a serializer's `.data`, `.dict()` of a row),
    objects whose class holds bytes in a field, directly or through its fields' classes, and a
    list filled in a loop over the rows of a file (`for line in csv.reader(f)`). It reads
    `.delay()`, `.apply_async()`, `send_task()`, and the signatures that send later (`.s()`,
    `.si()`, `.signature()`), following values through local variables and project functions.
    Secrets in a message are JL109's.

    ## Why is this bad?
    Every message is serialized when it is sent and kept by the broker until a worker takes it:
    Redis holds every queued message in memory, so a few thousand messages carrying a file or a
    list of rows exhaust it, and each one is pickled (or JSON-encoded) and decoded again on the
    worker, which costs time and memory on both sides. Rows go stale: the worker acts on the
    values the row had when the message was sent, maybe minutes or hours earlier, and a save
    from the task overwrites newer data. A request, a session or an open file cannot cross
    processes at all (the send fails, or pickle drags half the web process along).

    Send ids and storage keys instead, and let the task load the rows, read the file from
    storage, or fetch what it needs.
    """

    code = "JL114"
    name = "unsendable-task-argument"
    summary = "A task message carries ORM rows, a file, an upload, a DataFrame, a request or a dump"
    needles = ((b".delay(", b"apply_async(", b"send_task(", b".s(", b".si(", b".signature("),)

    invalid = (
        Invalid(
            "from app.models import Upload\nfrom app.tasks import process\n\n"
            "def upload_done(upload_id):\n"
            "    upload = Upload.objects.get(pk=upload_id)\n"
            "    process.delay(upload)\n",
            files=_FILES,
            path="app/views.py",
            line=6,
            message="`process.delay()` is sent a model instance or QuerySet: send its id",
        ),
        Invalid(
            "from app.models import User\nfrom app.tasks import notify\n\n"
            "def announce(ids, subject):\n"
            "    users = User.objects.filter(pk__in=ids)\n"
            "    users = users.prefetch_related('profile')\n"
            "    recipients = [user for user in users if user.profile.wants_mail]\n"
            "    notify.delay(recipients, subject)\n",
            files=_FILES,
            path="app/views.py",
            line=8,
            message="`notify.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from celery import shared_task\nfrom app.services import load_upload\nfrom app.tasks import process\n\n"
            "@shared_task\ndef retry(upload_id):\n"
            "    process.apply_async(args=(load_upload(upload_id),), countdown=10)\n",
            files={**_FILES, "app/services.py": _SERVICES},
            path="app/retries.py",
            line=7,
            message="`process.apply_async()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from app.services import load_upload\nfrom app.tasks import process\n\n"
            "def retry_view(request, upload_id):\n"
            "    upload = load_upload(upload_id)\n"
            "    process.delay(upload)\n",
            files={**_FILES, "app/services.py": _SERVICES},
            path="app/views.py",
            line=6,
            message="`process.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from app.tasks import process\n\ndef upload(request):\n    process.delay(request.FILES['file'])\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`process.delay()` is sent an uploaded file: store the upload and send its storage key",
        ),
        Invalid(
            "from fastapi import UploadFile\nfrom app.tasks import process\n\n"
            "async def upload(file: UploadFile):\n"
            "    process.delay(await file.read())\n",
            files=_FILES,
            path="app/views.py",
            line=5,
            message="`process.delay()` is sent file contents or bytes",
        ),
        Invalid(
            "import pandas as pd\nfrom app.tasks import process\n\n"
            "def ingest(path):\n"
            "    frame = pd.read_csv(path)\n"
            "    process.delay(frame.to_dict('records'))\n",
            files=_FILES,
            path="app/views.py",
            line=6,
            message="`process.delay()` is sent a whole DataFrame",
        ),
        Invalid(
            "from django.forms.models import model_to_dict\nfrom app.models import Upload\n"
            "from app.tasks import process\n\n"
            "def export(upload_id):\n"
            "    upload = Upload.objects.get(pk=upload_id)\n"
            "    return process.s(model_to_dict(upload))\n",
            files=_FILES,
            path="app/views.py",
            line=7,
            message="`process.s()` will send a dump of a whole object",
        ),
        Invalid(
            "from app.tasks import notify\n\ndef welcome(request):\n    notify.delay(request.user, subject='hi')\n",
            files=_FILES,
            path="app/views.py",
            line=4,
            message="`notify.delay()` is sent the signed-in user object: send the user's id",
        ),
        Invalid(
            "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\nfrom app.db import Order\n"
            "from app.tasks import process\n\n"
            "def ship(session: Session, ids):\n"
            "    orders = session.scalars(select(Order).where(Order.id.in_(ids))).all()\n"
            "    process.delay(orders)\n",
            files=_FILES,
            path="app/views.py",
            line=8,
            message="`process.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from django.db.models.signals import post_save\nfrom django.dispatch import receiver\n"
            "from app.models import Upload\nfrom app.tasks import process\n\n"
            "@receiver(post_save, sender=Upload)\n"
            "def uploaded(sender, instance, created, **kwargs):\n"
            "    if created:\n"
            "        process.delay(instance)\n",
            files=_FILES,
            path="app/signals.py",
            line=9,
            message="`process.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "from rest_framework import viewsets\nfrom app.tasks import process\n\n"
            "class UploadViewSet(viewsets.ModelViewSet):\n"
            "    def perform_create(self, serializer):\n"
            "        upload = serializer.save(owner=self.request.user)\n"
            "        process.delay(upload)\n\n"
            "    def retry(self, request, pk=None):\n"
            "        process.delay(self.get_object())\n",
            files=_FILES,
            path="app/views.py",
            line=10,
            message="`process.delay()` is sent a model instance or QuerySet",
        ),
        Invalid(
            "import csv\nfrom app.tasks import process\n\n"
            "def import_prices(path):\n"
            "    prices = []\n"
            "    with open(path) as f:\n"
            "        for line in csv.reader(f):\n"
            "            prices.append(line[:3])\n"
            "    process.delay(prices)\n",
            files=_FILES,
            path="app/imports.py",
            line=9,
            message="`process.delay()` is sent the rows of a file, gathered in a list",
        ),
    )
    valid = (
        Valid(
            "from rest_framework import viewsets\nfrom app.tasks import notify, process\n\n"
            "class UploadViewSet(viewsets.ModelViewSet):\n"
            "    def perform_create(self, serializer):\n"
            "        upload = serializer.save()\n"
            "        process.delay(upload.pk)\n"
            "        notify.delay(serializer.validated_data['user_ids'], subject=self.request.user.email)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from app.tasks import process\n\ndef upload_done(upload):\n    process.delay(upload.pk)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from app.models import Upload\nfrom app.tasks import notify\n\n"
            "def upload_done(subject):\n"
            "    ids = list(Upload.objects.filter(done=True).values_list('pk', flat=True))\n"
            "    notify.delay(ids, subject=subject)\n"
            "    notify.delay({'upload_ids': ids, 'owner_id': 7})\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "import uuid\nfrom app.tasks import process\n\n"
            "def upload(request):\n"
            "    key = request.FILES['file'].name\n"
            "    process.delay(key)\n"
            "    process.delay(str(uuid.uuid4()))\n"
            "    process.delay(request.user.id)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\nfrom app.db import Order\n"
            "from app.tasks import process\n\n"
            "def ship(session: Session):\n"
            "    ids = session.scalars(select(Order.id)).all()\n"
            "    process.delay(ids)\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "from celery import shared_task\n\n"
            "@shared_task(bind=True)\ndef relay(self, upload_id):\n"
            "    relay.delay(self.request.id)\n",
            path="app/tasks2.py",
        ),
        Valid(
            "from app.tasks import notify\n\n"
            "def export(form):\n"
            "    notify.delay(form.cleaned_data['ids'], subject=form.cleaned_data.get('subject'))\n",
            files=_FILES,
            path="app/views.py",
        ),
        Valid(
            "import csv\nfrom app.tasks import process\n\n"
            "def import_prices(path, names):\n"
            "    columns = []\n"
            "    for name in names:\n"
            "        columns.append(name.strip())\n"
            "    process.delay(path, columns)\n",
            files=_FILES,
            path="app/imports.py",
        ),
    )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and (func.attr in SENDS or func.attr in PARTIALS)):
            return
        ctx = self.ctx
        if is_test_module(ctx.model.module, ctx.model.path):  # a test's messages never reach a production broker
            return
        sent = (signature_of if func.attr in PARTIALS else enqueue_of)(ctx.model, node, ctx.scope)
        if sent is None:
            return
        verb = "is sent" if func.attr in SENDS else "will send"
        for _, value in sent.arguments():
            problem = unsendable(ctx.model, value, ctx.scope)
            if problem is not None:
                self.report(value, f"`{sent.label}` {verb} {problem.what}: {problem.instead}")
