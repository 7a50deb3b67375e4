"""Recompute request estimates from the current catalog (after adding or changing a price, or mapping a
model or an application inference profile). Billed rows are never changed. Audited."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.selectors import tenant_by_slug
from finops.ledger.services import ledger_reprice


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Re-price a tenant's requests from the current price catalog, in batches; prints before/after totals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--since", type=_date, help="Only requests on or after this date (YYYY-MM-DD).")
        parser.add_argument("--model", help="Only requests of this model (catalog id or the model as delivered).")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        since = options["since"]
        if isinstance(since, str):  # call_command(since="YYYY-MM-DD") skips argparse's type
            since = _date(since)
        result = ledger_reprice(tenant=tenant, since=since, model_id=options["model"])
        self.stdout.write(
            f"Re-priced {result.rows:,} requests: {result.changed:,} changed, {result.resolved:,} newly matched to "
            f"a model. Estimated ${result.before_usd:,.2f} -> ${result.after_usd:,.2f}; unpriced requests "
            f"{result.unpriced_before:,} -> {result.unpriced_after:,}."
        )
