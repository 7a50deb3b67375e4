from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.cloudformation import TemplateError, render_template, role_template
from connections.management.commands._lookup import get_connection
from connections.services import connection_template_downloaded


class Command(BaseCommand):
    help = "Print the CloudFormation template of a connection's read-only role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="Connection id, name, or TENANT/NAME.")
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = get_connection(options["connection"])
        try:
            text = render_template(role_template(connection), options["format"])
        except TemplateError as exc:
            raise CommandError(str(exc)) from exc
        connection_template_downloaded(connection=connection, artifact="role_template", fmt=options["format"])
        self.stdout.write(text)
