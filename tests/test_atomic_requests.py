"""JL108 under Django's `ATOMIC_REQUESTS`: which views run in a transaction, across modules."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import findings, lint

TASKS = "from celery import shared_task\n\n@shared_task\ndef send_receipt(order_id):\n    return order_id\n"
ATOMIC = 'DATABASES = {"default": {"NAME": "shop", "ATOMIC_REQUESTS": True}}\n'
SERVICES = "from shop.tasks import send_receipt\n\ndef place_order(cart):\n    send_receipt.delay(cart.id)\n"
BASE_VIEW = "from rest_framework.views import APIView\n\nclass ShopView(APIView):\n    pass\n"
VIEW = (
    "from shop.base import ShopView\n"
    "from shop.services import place_order\n\n"
    "{decorator}class CheckoutView(ShopView):\n"
    "    def post(self, request):\n"
    "        place_order(request.cart)\n"
)


def _project(root: Path, settings: dict[str, str], decorator: str = "") -> Path:
    files = {
        "shop/__init__.py": "",
        "shop/tasks.py": TASKS,
        "shop/services.py": SERVICES,
        "shop/base.py": BASE_VIEW,
        "shop/views.py": VIEW.format(decorator=decorator),
        **settings,
    }
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root / "shop/views.py"


def test_view_deriving_from_a_project_base_class_reports_the_chain(tmp_path: Path) -> None:
    views = _project(tmp_path, {"shop/settings.py": ATOMIC})
    # The services module is checked too: the finding lands on its `.delay()`, the view's call related.
    run = lint([tmp_path / "shop"], tmp_path)
    assert findings(run, views, "JL108") == []
    [found] = findings(run, tmp_path / "shop/services.py", "JL108")
    assert found.line == 4
    assert (
        "reached from view `CheckoutView.post` through "
        "`CheckoutView.post -> place_order -> shop.tasks.send_receipt.delay`" in found.message
    )
    assert [(Path(path).name, line) for path, line, _ in found.related] == [("views.py", 6), ("services.py", 4)]
    # Given the view alone, the finding stays on its call.
    [alone] = findings(lint([views], tmp_path), views, "JL108")
    assert alone.line == 6 and "through `place_order -> shop.tasks.send_receipt.delay`" in alone.message


def test_non_atomic_requests_on_the_class_is_quiet(tmp_path: Path) -> None:
    decorator = (
        "from django.db import transaction\n"
        "from django.utils.decorators import method_decorator\n\n"
        '@method_decorator(transaction.non_atomic_requests, name="dispatch")\n'
    )
    views = _project(tmp_path, {"shop/settings.py": ATOMIC}, decorator)
    assert findings(lint([tmp_path / "shop"], tmp_path), views, "JL108") == []


def test_settings_that_disagree_are_quiet(tmp_path: Path) -> None:
    """One settings module sets it, another turns it off: which one runs is not known."""
    off = 'DATABASES = {"default": {"NAME": "test"}}\nDATABASES["default"]["ATOMIC_REQUESTS"] = False\n'
    views = _project(tmp_path, {"shop/settings.py": ATOMIC, "shop/test_settings.py": off})
    assert findings(lint([tmp_path / "shop"], tmp_path), views, "JL108") == []


def test_a_class_that_is_no_view_is_quiet(tmp_path: Path) -> None:
    views = _project(tmp_path, {"shop/settings.py": ATOMIC, "shop/base.py": "class ShopView:\n    pass\n"})
    assert findings(lint([tmp_path / "shop"], tmp_path), views, "JL108") == []
