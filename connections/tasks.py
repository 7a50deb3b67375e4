"""Background tasks of the connections app (django-q2). Thin: load by id, call one service, return a summary."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib.auth import get_user_model

from connections.models import AwsConnection
from connections.validation import connection_validate


def validate_connection(connection_id: int, actor_id: int | None = None) -> dict[str, Any]:
    """Run every check of one connection; the result is stored on the connection by the service."""
    connection = AwsConnection.objects.select_related("tenant").filter(pk=connection_id).first()
    if connection is None:
        return {"connection_id": connection_id, "skipped": "the connection no longer exists"}
    if connection.status == AwsConnection.Status.PAUSED:
        return {"connection_id": connection_id, "skipped": "the connection is paused"}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    connection_validate(connection=connection, actor=actor)
    connection.refresh_from_db()
    states = Counter(str(check.get("status", "")) for check in connection.last_validation or [])
    return {"connection_id": connection_id, "status": connection.status, "checks": dict(states)}
