"""Reads, always scoped by tenant: another tenant's connection is a 404."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

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
