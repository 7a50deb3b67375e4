"""python manage.py export_tenant_data SLUG --output DIR"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.selectors import tenant_by_slug
from lifecycle.export import MANIFEST, ExportError, tenant_export


class Command(BaseCommand):
    help = (
        "Write everything a tenant owns to a new folder: the ledger as Parquet, FOCUS 1.2 per billing period, "
        "recommendation cards, budgets, connections (no ExternalId), alert channels and budgets without webhook "
        "URLs, memberships, API tokens (no hashes), saved views, runs, inventory and the audit log as JSON lines, "
        "and manifest.json with each file's rows and SHA-256. Audited."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug.")
        parser.add_argument("--output", required=True, help="A new or empty folder.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["slug"])
        if tenant is None:
            raise CommandError(f"No tenant {options['slug']!r}.")
        try:
            result = tenant_export(tenant=tenant, directory=options["output"])
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {options['output']}: {exc.strerror or exc}.") from exc
        for entry in result.files:
            self.stdout.write(f"  {entry['path']:<48} {entry['rows']:>12,} rows  sha256 {entry['sha256'][:12]}…")
        self.stdout.write(f"Exported {tenant.slug} to {result.directory} ({len(result.files)} files, see {MANIFEST}).")
