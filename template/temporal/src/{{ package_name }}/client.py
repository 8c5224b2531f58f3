"""Connecting to Temporal, and starting workflows idempotently.

Workflow ids are business keys (`order-<order id>`), never random: starting the same order twice
returns the first run, running or finished, instead of charging twice.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from temporalio.client import Client, TLSConfig, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime

from .converter import data_converter
from .models import OrderRequest, OrderStatus, ReportRequest, ReportResult
from .queues import queue_for
from .settings import Settings, get_settings
from .workflows import OrderWorkflow, ReportWorkflow


def exit_now(code: int) -> NoReturn:
    """End a command-line process that used a Temporal client without interpreter finalization,
    where the SDK's runtime threads can abort it (temporalio/sdk-python#300): the exit code stays
    the command's own."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class ConnectionFailed(Exception):
    """Temporal is unreachable or refused the credentials."""


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not settings.uses_tls:
        return False
    ca = settings.temporal_tls_ca_file.read_bytes() if settings.temporal_tls_ca_file else None
    cert = settings.temporal_tls_cert_file.read_bytes() if settings.temporal_tls_cert_file else None
    key = settings.temporal_tls_key_file.read_bytes() if settings.temporal_tls_key_file else None
    return TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key)


async def connect(settings: Settings | None = None, runtime: Runtime | None = None) -> Client:
    settings = settings or get_settings()
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            tls=tls_config(settings),
            api_key=settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None,
            runtime=runtime,
            # Workers built on this client convert payloads with it too.
            data_converter=data_converter(),
        )
    except (RuntimeError, OSError) as error:
        raise ConnectionFailed(f"cannot connect to Temporal at {settings.temporal_address}: {error}") from None


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def report_workflow_id(report_id: str) -> str:
    return f"report-{report_id}"


async def start_order(
    client: Client, order: OrderRequest, settings: Settings | None = None
) -> WorkflowHandle[OrderWorkflow, OrderStatus]:
    """Start the order's workflow once: a second start returns the first run's handle."""
    settings = settings or get_settings()
    workflow_id = order_workflow_id(order.order_id)
    try:
        return await client.start_workflow(
            OrderWorkflow.run,
            order,
            id=workflow_id,
            task_queue=settings.task_queue(queue_for("billing.order")),
            # A running order is joined; a finished one (even a failed one) is never run again.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(OrderWorkflow.run, workflow_id)


async def start_report(
    client: Client, request: ReportRequest, settings: Settings | None = None
) -> WorkflowHandle[ReportWorkflow, ReportResult]:
    """Start building the report unless it is being built; a failed build may be started again."""
    settings = settings or get_settings()
    workflow_id = report_workflow_id(request.report_id)
    try:
        return await client.start_workflow(
            ReportWorkflow.run,
            request,
            id=workflow_id,
            task_queue=settings.task_queue(queue_for("reports.build")),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(ReportWorkflow.run, workflow_id)
