"""Check a tenant's daily rollup against its raw ledger rows and rebuild it (support: when the pages' totals
are doubted, or after editing ledger rows by hand). Audited."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.models import Tenant
from connections.selectors import tenant_by_slug
from connections.services import audit_log_record
from finops.ledger.rollups import rollup_check, rollup_rebuild

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare the daily rollup that the overview and explorer read with the raw ledger rows, cell by cell, and "
        "rebuild it from the raw rows (--check: only compare; exit 1 when they differ)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--tenant", help="The tenant's slug.")
        scope.add_argument("--all", action="store_true", help="Every tenant.")
        parser.add_argument("--check", action="store_true", help="Only compare; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            tenants = list(Tenant.objects.order_by("slug"))
        else:
            tenant = tenant_by_slug(slug=options["tenant"])
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
            tenants = [tenant]
        differing = 0
        for tenant in tenants:
            problems = rollup_check(tenant_id=tenant.pk)
            if problems:
                differing += 1
                self.stdout.write(f"{tenant.slug}: the rollup differs from the ledger in {len(problems):,} places:")
                for problem in problems[:SHOWN]:
                    self.stdout.write(f"  {problem}")
                if len(problems) > SHOWN:
                    self.stdout.write(f"  ... and {len(problems) - SHOWN:,} more")
            else:
                self.stdout.write(f"{tenant.slug}: the rollup matches the ledger.")
            if options["check"]:
                continue
            started = time.monotonic()
            rollup_rebuild(tenant_id=tenant.pk)
            audit_log_record(
                tenant=tenant, action="rollup.rebuilt", target=tenant.slug, details={"differences": len(problems)}
            )
            self.stdout.write(f"{tenant.slug}: rollup rebuilt from the ledger in {time.monotonic() - started:.1f}s.")
        if options["check"] and differing:
            raise CommandError(f"{differing} tenant(s) whose rollup differs from the ledger: run without --check.")
