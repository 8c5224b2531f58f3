"""Calls to a partner API that allows each tenant a limited rate, whichever worker makes them."""

from __future__ import annotations

import time

from celery import Task

from ..celery_app import app
from ..redis_client import get_redis
from ..settings import get_settings
from ..throttle import throttled
from ..token_bucket import Bucket, parse_rate
from .base import ServiceTask

_settings = get_settings()
PARTNER_API = Bucket(
    "partner-api",
    rate=parse_rate(_settings.partner_rate_limit),
    burst=_settings.partner_burst,
    # Deferred tasks wait on the worker as scheduled tasks: never longer than the visibility timeout.
    horizon=_settings.max_countdown,
)


@app.task(base=ServiceTask, bind=True, name="partners.sync_customer")
@throttled(PARTNER_API, key="tenant")
def sync_customer(self: Task, tenant: str, customer: str) -> float:  # type: ignore[type-arg]
    """Push one customer record to the partner; records when each call was made, per tenant."""
    called_at = time.time()
    get_redis().rpush(get_settings().key("partners", tenant, "calls"), f"{called_at:.6f} {customer}")
    return called_at
