from __future__ import annotations

from django.core.management.base import CommandError

from connections.models import AwsConnection
from connections.selectors import connection_by_name_or_id


def get_connection(value: str) -> AwsConnection:
    try:
        connection = connection_by_name_or_id(value=value)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    if connection is None:
        raise CommandError(f"No connection {value!r}. List them in the admin or on /support/connections/.")
    return connection
