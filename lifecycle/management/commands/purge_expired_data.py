"""python manage.py purge_expired_data [--tenant SLUG] [--dry-run] [--format table|json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from connections.models import Tenant
from connections.selectors import tenant_by_slug
from lifecycle.services import PurgeResult, retention_purge_all


class Command(BaseCommand):
    help = (
        "Delete each tenant's data older than its retention (ledger rows by billing month, rollup cells, import "
        "and sync runs, recommendation cards, budget alerts, inventory gone from AWS) and audit entries older than "
        "AUDIT_RETENTION_MONTHS, as the nightly job does. --dry-run counts what would go and deletes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="Only this tenant (slug); default every tenant.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = None
        if options["tenant"]:
            tenant = tenant_by_slug(slug=options["tenant"])
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
            tenants = Tenant.objects.filter(pk=tenant.pk)
        dry_run = options["dry_run"]
        results, system = retention_purge_all(today=timezone.now().date(), dry_run=dry_run, tenants=tenants)
        failed = [r.tenant_slug for r in results if r.error]
        if options["format"] == "json":
            payload = {"dry_run": dry_run, "tenants": [r.as_dict() for r in results]}
            if tenants is None:
                payload["system_audit_entries"] = system
            self.stdout.write(json.dumps(payload, indent=2))
        else:
            self._table(results, system, dry_run=dry_run, everyone=tenants is None)
        if failed:
            raise CommandError(f"The purge failed for {', '.join(failed)} (see the log); the others were purged.")

    def _table(self, results: list[PurgeResult], system: int, *, dry_run: bool, everyone: bool) -> None:
        verb = "would delete" if dry_run else "deleted"
        for result in results:
            kept = f"keeps {result.retention_months} months (from {result.cutoff:%Y-%m-%d})"
            if result.error:
                self.stdout.write(f"{result.tenant_slug}: {kept}; FAILED: {result.error}")
                continue
            if not result.total:
                self.stdout.write(f"{result.tenant_slug}: {kept}; nothing older.")
                continue
            parts = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in result.counts.items() if n)
            self.stdout.write(f"{result.tenant_slug}: {kept}; {verb} {parts}.")
        if everyone and system:
            self.stdout.write(f"system: {verb} {system:,} audit entries of no tenant past the audit retention.")
        if dry_run:
            self.stdout.write("Dry run: nothing was deleted.")
