"""python manage.py import_tenant_data DIR --tenant NEWSLUG [--name NAME]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lifecycle.importer import TenantImportError, tenant_import


class Command(BaseCommand):
    help = (
        "Read an export_tenant_data folder into a new tenant (after checking every file against the manifest's "
        "SHA-256): its ledger, with the daily rollup built from it, and its budgets. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="The folder export_tenant_data wrote.")
        parser.add_argument("--tenant", required=True, help="Slug of the new tenant.")
        parser.add_argument("--name", default="", help="Its name (default: the exported tenant's).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = tenant_import(directory=options["directory"], slug=options["tenant"], name=options["name"])
        except (TenantImportError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Imported {result.ledger_rows:,} ledger rows and {result.budgets} budgets into {result.tenant_slug}."
        )
