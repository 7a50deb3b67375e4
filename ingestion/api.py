"""Sync status endpoints (mounted beside the connection endpoints, at /connections/{tenant}/sync): the latest
import run of each source, and the run history. Counts and outcomes only; the runs' file paths stay inside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, PageOut, api_tenant, error_responses, paginate
from ingestion.models import ImportRun
from ingestion.selectors import import_runs_for, sync_status

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


class SyncOut(Schema):
    sources: list[SourceStatusOut]


class RunQuery(Schema):
    source: str | None = Field(None, description=f"One of {', '.join(ImportRun.Source.values)}.")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class RunPage(Schema):
    items: list[RunOut]
    pagination: PageOut


@router.get("/{tenant_slug}/sync", response={200: SyncOut, **error_responses(*COMMON_ERRORS)}, summary="Sync status")
def sync(request: HttpRequest, tenant_slug: str) -> dict[str, Any]:
    """Sync status: per source (CUR, invocation logs), the latest import run and the latest that finished."""
    return {"sources": sync_status(tenant=api_tenant(request, tenant_slug))}


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
