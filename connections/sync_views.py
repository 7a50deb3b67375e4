"""'Sync now' on the connection page: admins queue a sync of every source (it runs on the worker)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from connections.models import AwsConnection
from connections.services import audit_log_record
from connections.views import _admin_connection


@login_required
@require_POST
def connection_sync_now(request: HttpRequest, pk: int) -> HttpResponse:
    connection, denied = _admin_connection(request, pk, "sync this connection")
    if denied:
        return denied
    if connection.status == AwsConnection.Status.PAUSED:
        messages.error(request, "The connection is paused: resume it to sync.")
        return redirect("connections:detail", pk=connection.pk)
    if not connection.role_arn:
        messages.error(request, "The connection has no role ARN yet: deploy the stack and validate first.")
        return redirect("connections:detail", pk=connection.pk)
    from django_q.tasks import async_task

    audit_log_record(tenant=connection.tenant, actor=request.user, action="connection.sync_requested",
                     target=connection.name, details={"connection_id": connection.pk})  # fmt: skip
    transaction.on_commit(
        lambda: async_task("ingestion.tasks.sync_connection_task", connection.pk, None, "manual", group="sync")
    )
    messages.success(
        request,
        "Sync queued: every source is read in the background (a first sync backfills 90 days). "
        "Reload this page to follow it.",
    )
    return redirect("connections:detail", pk=connection.pk)
