"""Chargeback of a billing period: billed dollars allocated to the groups whose requests caused them,
plus the unattributed usage and the shared lines (tax, credits, fees), adding up to the invoice."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.selectors import tenant_by_slug
from finops.ledger.chargeback import (
    TOKENS,
    ChargebackError,
    chargeback,
    chargeback_json_rows,
    plain_amount,
    validate_fields,
    validate_sources,
)
from finops.ledger.services import ledger_reconcile


def _period(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a billing period: use YYYY-MM.") from exc


class Command(BaseCommand):
    help = "Chargeback by team, user, application ... for one billing period; the rows sum to the invoice."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--period", required=True, type=_period, help="Billing period, YYYY-MM.")
        parser.add_argument("--by", required=True, help="Comma-separated fields, e.g. team or team,user_id.")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table")
        parser.add_argument(
            "--source",
            action="append",
            default=[],
            help="Only this platform's bills (bedrock, openai, anthropic, azure_openai, vertex); repeat or separate "
            "with commas. Each platform is its own invoice; --by source gives each its own unattributed row.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        fields = [f.strip() for f in options["by"].split(",") if f.strip()]
        sources = [s.strip() for value in options["source"] or [] for s in value.split(",") if s.strip()]
        try:
            fields = validate_fields(fields)
            validate_sources(sources)
        except ChargebackError as exc:
            raise CommandError(str(exc)) from exc
        period = options["period"]
        if isinstance(period, str):  # call_command(period="YYYY-MM") skips argparse's type
            period = _period(period)
        (reconciliation,) = ledger_reconcile(tenant=tenant, periods=[period])
        rows, invoice = chargeback(tenant=tenant, period=period, fields=fields, sources=sources)
        columns = [*fields, "billed_cost_usd", "estimated_cost_usd", "requests", "requests_not_yet_billed", *TOKENS]
        if options["format"] == "json":
            self.stdout.write(json.dumps(chargeback_json_rows(rows, fields), indent=2))
            return
        if options["format"] == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow([*columns, "unattributed", "shared"])
            for row in rows:
                flags = ["true" if row.get("unattributed") else "", row.get("shared", "")]
                writer.writerow([plain_amount(row[c]) for c in columns] + flags)
            return
        for row in rows:
            if row.get("unattributed"):
                label = "(unattributed: billed usage no request explains)"
            elif row.get("shared"):
                label = f"(shared: {row['shared']})"
            else:
                label = " / ".join(str(row[f]) or "(none)" for f in fields)
            self.stdout.write(f"{label:<60} ${row['billed_cost_usd']:>14,.2f}  {row['requests']:>10,} requests")
        coverage = reconciliation.coverage
        self.stdout.write(
            f"Invoice total {period:%Y-%m}: ${invoice:,.2f} (the rows above add up to it)."
            + (f" Requests explain {coverage}% of the billed token usage." if coverage is not None else "")
        )
