"""Recompute request estimates from the current catalog (after adding or changing a price, or mapping a
model or an application inference profile). Billed rows are never changed. Audited."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connections.cli import cli_date, cli_tenant
from finops.ledger.services import ledger_reprice


class Command(BaseCommand):
    help = "Re-price a tenant's requests from the current price catalog, in batches; prints before/after totals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--since", type=cli_date, help="Only requests on or after this date (YYYY-MM-DD).")
        parser.add_argument("--model", help="Only requests of this model (catalog id or the model as delivered).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = cli_tenant(options["tenant"])
        since = cli_date(options["since"]) if options["since"] else None
        result = ledger_reprice(tenant=tenant, since=since, model_id=options["model"])
        self.stdout.write(
            f"Re-priced {result.rows:,} requests: {result.changed:,} changed, {result.resolved:,} newly matched to "
            f"a model. Estimated ${result.before_usd:,.2f} -> ${result.after_usd:,.2f}; unpriced requests "
            f"{result.unpriced_before:,} -> {result.unpriced_after:,}."
        )
