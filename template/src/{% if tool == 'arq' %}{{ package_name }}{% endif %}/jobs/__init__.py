"""Every job of the service; workers register them all and consume their own queue."""

from __future__ import annotations

from arq.worker import Function

from .billing import send_receipt
from .examples import add, broken, fetch_status, flaky, sleep
from .maintenance import heartbeat, trim_dead_letters
from .reports import build_report, rebuild_index

FUNCTIONS: tuple[Function, ...] = (
    send_receipt,
    build_report,
    rebuild_index,
    heartbeat,
    trim_dead_letters,
    add,
    fetch_status,
    flaky,
    broken,
    sleep,
)
BY_NAME: dict[str, Function] = {function.name: function for function in FUNCTIONS}
