"""Reads, always scoped by tenant: another tenant's connection is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from connections.models import Tenant
from providers.models import ProviderConnection, ProviderName, ProviderSyncRun, ProviderSyncState


def provider_connections(*, tenant: Tenant) -> QuerySet[ProviderConnection]:
    return ProviderConnection.objects.filter(tenant=tenant).order_by("name")


def provider_connection_for(*, tenant: Tenant, pk: int) -> ProviderConnection:
    connection = ProviderConnection.objects.filter(tenant=tenant, pk=pk).select_related("tenant").first()
    if connection is None:
        raise Http404("No such provider connection.")
    return connection


def provider_recent_runs(*, connection: ProviderConnection, limit: int = 20) -> list[ProviderSyncRun]:
    return list(ProviderSyncRun.objects.filter(tenant=connection.tenant, connection=connection)[:limit])


def provider_watermarks(*, connection: ProviderConnection) -> list[ProviderSyncState]:
    return list(ProviderSyncState.objects.filter(connection=connection).order_by("endpoint"))


def provider_scopes(*, connection: ProviderConnection) -> list[ProviderName]:
    """The projects/workspaces of a connection, listed by the provider or seen in its usage; the ones with
    usage first, then by name."""
    scopes = ProviderName.objects.filter(connection=connection, kind=ProviderName.Kind.SCOPE)
    return sorted(scopes, key=lambda s: (not s.seen_in_usage, s.archived, (s.name or s.object_id).lower()))


@dataclass(frozen=True)
class LastSync:
    """The outcome of a connection's latest sync, over its endpoint runs."""

    status: str  # succeeded | partial | failed | running
    started_at: datetime
    error: str = ""
    remedy: str = ""


def provider_last_syncs(*, tenant: Tenant, connection_ids: list[int]) -> dict[int, LastSync]:
    """Each connection's latest sync, in one query (the runs of the last 35 days)."""
    runs = ProviderSyncRun.objects.filter(
        tenant=tenant, connection_id__in=connection_ids, started_at__gte=timezone.now() - timedelta(days=35)
    ).order_by("connection_id", "-started_at", "-id")
    latest: dict[int, list[ProviderSyncRun]] = {}
    for run in runs.only("connection_id", "sync_id", "status", "errors", "error", "remedy", "started_at"):
        group = latest.setdefault(run.connection_id, [run])
        if run is not group[0] and run.sync_id == group[0].sync_id:
            group.append(run)
    result: dict[int, LastSync] = {}
    for connection_id, group in latest.items():
        failed = [r for r in group if r.status == ProviderSyncRun.Status.FAILED]
        noted = [r for r in group if r.error]
        if any(r.status == ProviderSyncRun.Status.RUNNING for r in group):
            status = "running"
        elif failed:
            status = "failed" if len(failed) == len(group) or failed[0].endpoint == "names" else "partial"
        else:
            status = "partial" if any(r.errors for r in group) else "succeeded"
        first = (failed or noted or [None])[0]
        result[connection_id] = LastSync(
            status=status,
            started_at=min(r.started_at for r in group),
            error=first.error if first else "",
            remedy=first.remedy if first else "",
        )
    return result
