"""What a message argument is (`semantic/messages/values.py`): each kind, through variables,
comprehensions, helpers and fields, and the look-alikes that stay unknown."""

from __future__ import annotations

import ast

import pytest
from test_semantic import model

from jobs_lint.semantic.messages.values import unsendable

_SCHEMAS = (
    "from pydantic import BaseModel\n\n"
    "class Attachment(BaseModel):\n    content: bytes\n\n"
    "class Mail(BaseModel):\n    attachments: list[Attachment] | None = None\n\n"
    "class Sms(BaseModel):\n    number: str\n"
)


def _sent(body: str, others: dict[str, str] | None = None) -> str | None:
    """What the last line of `def send(...)`'s body, `send_it(<value>)`, passes."""
    code = f"def send(request, session, mail, sms, upload):\n{body}"
    m = model(code, "proj.views", others)
    function = m.tree.body[-1]
    assert isinstance(function, ast.FunctionDef)
    last = function.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    found = unsendable(m, last.value.args[0], m.scope_of(function))
    return found.what if found is not None else None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    from app.models import Order\n    order = Order.objects.get(pk=1)\n    send_it(order)\n",
            "model instance",
        ),
        (
            "    from app.models import Order\n    qs = Order.objects.all()\n    qs = qs.order_by('pk')\n"
            "    send_it([o for o in qs if o.paid])\n",
            "model instance",
        ),
        ("    send_it(request.user)\n", "signed-in user"),
        ("    send_it(request.FILES.get('doc'))\n", "uploaded file"),
        (
            "    with open('x', 'rb') as handle:\n        data = handle.read()\n    send_it({'data': data})\n",
            "file contents",
        ),
        ("    import pandas as pd\n    send_it(pd.read_csv('x').dropna())\n", "DataFrame"),
        (
            "    from django.forms.models import model_to_dict\n    from app.models import Order\n"
            "    send_it(model_to_dict(Order.objects.get(pk=1)))\n",
            "dump",
        ),
        ("    send_it(request)\n", "web request"),
    ],
)
def test_unsendable_values(body: str, expected: str) -> None:
    found = _sent(body)
    assert found is not None and expected in found


def test_a_same_module_helper_that_returns_a_row_is_followed() -> None:
    code = (
        "from app.models import Order\n\n"
        "def load(pk):\n    return Order.objects.select_related('user').get(pk=pk)\n\n"
        "def send(pk):\n    order = load(pk)\n    send_it(order)\n"
    )
    m = model(code, "proj.views")
    function = m.tree.body[-1]
    assert isinstance(function, ast.FunctionDef)
    call = function.body[-1].value  # type: ignore[attr-defined]
    found = unsendable(m, call.args[0], m.scope_of(function))
    assert found is not None and "model instance" in found.what


def test_an_object_whose_fields_hold_bytes_is_found_through_its_class() -> None:
    code = "from app.schemas import Mail, Sms\n\ndef send(mail: Mail, sms: Sms):\n    send_it(mail)\n    send_it(sms)\n"
    m = model(code, "proj.views", {"app.schemas": _SCHEMAS})
    function = m.tree.body[-1]
    assert isinstance(function, ast.FunctionDef)
    scope = m.scope_of(function)
    sent = [unsendable(m, statement.value.args[0], scope) for statement in function.body]  # type: ignore[attr-defined]
    assert sent[0] is not None and "`Attachment.content`" in sent[0].what
    assert sent[1] is None


@pytest.mark.parametrize(
    "body",
    [
        "    from app.models import Order\n    send_it(Order.objects.get(pk=1).pk)\n",
        "    from app.models import Order\n    send_it(list(Order.objects.values_list('pk', flat=True)))\n",
        "    import uuid\n    send_it(str(uuid.uuid4()))\n",
        "    send_it({'user_id': request.user.id, 'order_id': 7})\n",
        "    send_it(request.FILES['doc'].name)\n",
        "    send_it(session)\n",  # a parameter nothing says is a database session
        "    send_it(upload)\n",  # nor an upload
        "    from app.services import load\n    send_it(load(1))\n",  # a helper the index does not know
    ],
)
def test_look_alikes_stay_unknown(body: str) -> None:
    assert _sent(body) is None
