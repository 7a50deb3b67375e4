from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connections.management.commands._lookup import get_connection
from connections.reporting import diagnosis_text
from connections.validation import connection_validate, diagnose


class Command(BaseCommand):
    help = "Validate a connection against AWS and print every check with its diagnosis and remedy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="Connection id, name, or TENANT/NAME.")
        parser.add_argument("--no-refresh", action="store_true", help="Show the last stored result, no AWS calls.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = get_connection(options["connection"])
        if not options["no_refresh"] and connection.status != connection.Status.PAUSED:
            connection_validate(connection=connection)
            connection.refresh_from_db()
        self.stdout.write(diagnosis_text(connection))
        red = [c for c in connection.last_validation if c.get("status") == "red"]
        if red or (not connection.last_validation and diagnose(connection)):
            raise SystemExit(1)
