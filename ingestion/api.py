"""Sync status endpoints (mounted beside the connection endpoints, at /connections/{tenant}/sync): the latest
import run of each source, and the run history. Counts and outcomes only; the runs' file paths stay inside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, PageOut, api_require_role, api_tenant, error_responses, paginate
from connections.models import AwsConnection, Membership
from connections.services import audit_log_record
from ingestion.models import ImportRun, SyncRun
from ingestion.selectors import connection_sync_status, import_runs_for, sync_status

router = Router(tags=["connections"])


class RunOut(Schema):
    id: int
    source: str
    status: str = Field(description=f"One of {', '.join(ImportRun.Status.values)}.")
    started_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None
    duration_seconds: float | None
    files: int = Field(description="Files the run read.")
    rows_read: int
    rows_loaded: int
    rows_skipped: int
    rows_rejected: int
    rows_replaced: int
    rows_unchanged: int
    rows_flagged: int
    message: str
    actor_label: str

    @staticmethod
    def resolve_files(run: ImportRun) -> int:
        return len(run.files) if isinstance(run.files, list) else 0


class SourceStatusOut(Schema):
    source: str
    label: str
    latest: RunOut | None = Field(description="The latest run, whatever its state; null when never imported.")
    last_success: RunOut | None = Field(description="The latest run that finished (possibly with rejected rows).")
    needs_attention: bool = Field(description="The latest run was interrupted or failed: run the import again.")


class SyncRunOut(Schema):
    id: int
    source: str
    account_id: str
    region: str = Field(description="Blank for CUR (not regional).")
    status: str = Field(description=f"One of {', '.join(SyncRun.Status.values)}.")
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    items_fetched: int
    rows_loaded: int
    rows_rejected: int
    watermark_after: dict[str, Any]
    error: str
    remedy: str


class LiveSourceOut(Schema):
    source: str = Field(description="cur, logs, metrics or inventory.")
    label: str
    state: str = Field(description="The worst latest state over its accounts and regions, or 'never'.")
    last_success: datetime | None
    next_run: datetime | None = Field(description="The next scheduled sync of this source.")
    runs: list[SyncRunOut] = Field(description="The latest run per account and region.")


class ConnectionSyncOut(Schema):
    connection_id: int
    name: str
    status: str
    sources: list[LiveSourceOut]


class SyncOut(Schema):
    sources: list[SourceStatusOut] = Field(description="File imports: the latest import run per source.")
    connections: list[ConnectionSyncOut] = Field(description="Live sync from each connected AWS account.")


class SyncQueuedOut(Schema):
    queued: bool
    connection_id: int
    message: str


class RunQuery(Schema):
    source: str | None = Field(None, description=f"One of {', '.join(ImportRun.Source.values)}.")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class RunPage(Schema):
    items: list[RunOut]
    pagination: PageOut


@router.get("/{tenant_slug}/sync", response={200: SyncOut, **error_responses(*COMMON_ERRORS)}, summary="Sync status")
def sync(request: HttpRequest, tenant_slug: str) -> dict[str, Any]:
    """Sync status: per file-import source (CUR, invocation logs, Azure OpenAI cost exports, Vertex AI billing
    exports), the latest import run and the latest that finished; per connection, each live source's latest runs
    per account and region and its next run."""
    tenant = api_tenant(request, tenant_slug)
    connections = AwsConnection.objects.filter(tenant=tenant).order_by("name")
    return {
        "sources": sync_status(tenant=tenant),
        "connections": [
            {
                "connection_id": c.pk,
                "name": c.name,
                "status": c.status,
                "sources": connection_sync_status(connection=c),
            }  # fmt: skip
            for c in connections
        ],
    }


@router.post(
    "/{tenant_slug}/{connection_id}/sync",
    response={202: SyncQueuedOut, **error_responses(400, 403, *COMMON_ERRORS)},
    summary="Sync a connection now",
)
def sync_now(request: HttpRequest, tenant_slug: str, connection_id: int) -> tuple[int, dict[str, Any]]:
    """Queue a sync of every source of the connection (admins). It runs on the worker; follow it with
    GET /{tenant_slug}/sync."""
    tenant = api_tenant(request, tenant_slug)
    connection = get_object_or_404(AwsConnection, tenant=tenant, pk=connection_id)
    api_require_role(request, tenant, roles=(Membership.Role.ADMIN,))
    if connection.status == AwsConnection.Status.PAUSED:
        raise HttpError(400, "The connection is paused: resume it to sync.")
    if not connection.role_arn:
        raise HttpError(400, "The connection has no role ARN yet: deploy the stack and validate first.")
    from django_q.tasks import async_task

    audit_log_record(tenant=tenant, actor=request.user, action="connection.sync_requested", target=connection.name,
                     details={"connection_id": connection.pk, "via": "api"})  # fmt: skip
    transaction.on_commit(
        lambda: async_task("ingestion.tasks.sync_connection_task", connection.pk, None, "manual", group="sync")
    )
    return Status(
        202, {"queued": True, "connection_id": connection.pk, "message": "Sync queued; it runs in the background."}
    )


@router.get(
    "/{tenant_slug}/sync/runs", response={200: RunPage, **error_responses(*COMMON_ERRORS)}, summary="Import runs"
)
def sync_runs(request: HttpRequest, tenant_slug: str, query: Query[RunQuery]) -> dict[str, Any]:
    """The import runs, newest first."""
    tenant = api_tenant(request, tenant_slug)
    if query.source and query.source not in ImportRun.Source.values:
        raise HttpError(400, f"source={query.source!r}: use one of {', '.join(ImportRun.Source.values)}.")
    runs = import_runs_for(tenant=tenant, source=query.source or "")
    pagination, first, last = paginate(runs.count(), query.page, query.page_size)
    return {"items": list(runs[first:last]), "pagination": pagination}
