"""django-q2 tasks: thin, take primitive ids, call one service, return a small summary."""

from __future__ import annotations

from typing import Any

from providers.models import ProviderConnection
from providers.sync import SyncBusy, provider_sync


def sync_provider_task(connection_id: int, trigger: str = "schedule") -> dict[str, Any]:
    connection = ProviderConnection.objects.select_related("tenant").filter(pk=connection_id).first()
    if connection is None:
        return {"connection": connection_id, "status": "gone"}
    if trigger == "schedule" and not connection.enabled:
        return {"connection": connection_id, "status": "disabled"}
    try:
        result = provider_sync(connection=connection, trigger=trigger)
    except SyncBusy as exc:
        return {"connection": connection_id, "status": "busy", "message": str(exc)}
    summary = result.as_dict()
    return {"connection": connection_id, "status": summary["status"], **summary["totals"]}
