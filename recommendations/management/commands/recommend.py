"""Run every recommender for a tenant over the last 30 days, store the cards, print them."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from connections.cli import cli_date, cli_tenant
from recommendations.services import recommendations_run


class Command(BaseCommand):
    help = "Find what to change (model routing, caching, idle capacity, LEGACY models, anomalies ...), with dollars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--as-of", type=cli_date, help="Last day of the 30-day window (default: the latest data).")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = cli_tenant(options["tenant"])
        as_of = cli_date(options["as_of"]) if options["as_of"] else None
        result = recommendations_run(tenant=tenant, as_of=as_of)
        if options["format"] == "json":
            self.stdout.write(json.dumps([card.as_dict() for card in result.cards], indent=2, default=str))
        elif result.as_of is None:
            self.stdout.write(f"No data for {tenant.slug} yet: import CUR or invocation logs first.")
        elif not result.cards:
            self.stdout.write(f"No findings for {tenant.slug} in the 30 days to {result.as_of}: nothing to change.")
        else:
            for card in result.cards:
                value = card.monthly_savings_usd if card.monthly_savings_usd is not None else card.monthly_impact_usd
                label = "saves" if card.monthly_savings_usd is not None else "impact"
                money = f"${value:,.2f}/month" if value is not None else "(no dollar figure)"
                kind = card.kind + (f"/{card.anomaly_type}" if card.anomaly_type else "")
                self.stdout.write(f"[{kind}] {card.title}\n    {label} {money} · {card.confidence} confidence")
                self.stdout.write(f"    {card.action}")
            self.stdout.write(
                f"{len(result.cards)} finding(s) as of {result.as_of}: {result.created} new, {result.resolved} "
                f"resolved, {result.reopened} reopened ({result.seconds}s)."
            )
        for name, error in result.errors.items():
            self.stderr.write(f"recommender {name} failed: {error}")
