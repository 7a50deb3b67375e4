"""Evaluate a tenant's budgets now: actual to date, forecast, thresholds crossed, and the alerts this run sent."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.services import budgets_evaluate
from connections.cli import cli_date, cli_tenant


def _usd(value: str | None) -> str:
    return "-" if value is None else f"${float(value):,.2f}"


class Command(BaseCommand):
    help = "Evaluate a tenant's budgets (actual, forecast, thresholds) and send the alerts not sent yet this period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--as-of", type=cli_date, help="The day to evaluate on (default: today); YYYY-MM-DD.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = cli_tenant(options["tenant"])
        as_of = cli_date(options["as_of"]) if options["as_of"] else None
        try:
            rows = [e.as_dict() for e in budgets_evaluate(tenant, as_of=as_of)]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write(f"{tenant.slug} has no budgets: create one with create_budget or on the budgets page.")
            return
        header = ("id", "budget", "period", "amount", "actual", "forecast (p10-p90)", "crossed", "sent")
        table = [header]
        for r in rows:
            band = f"{_usd(r['forecast_usd'])} ({_usd(r['forecast_low_usd'])}-{_usd(r['forecast_high_usd'])})"
            table.append(
                (
                    str(r["budget_id"]),
                    r["name"],
                    f"{r['period_start']}..{r['period_end']}",
                    _usd(r["amount_usd"]),
                    _usd(r["actual_usd"]),
                    band if r["forecast_usd"] is not None else "no data yet",
                    ", ".join(f"{t['kind']} {t['pct']}%" for t in r["thresholds_crossed"]) or "-",
                    ", ".join(f"{a['kind']} {a['pct']}%" for a in r["alerts_sent"]) or "-",
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        for r in rows:
            for alert in r["alerts_sent"]:
                for d in alert["deliveries"]:
                    if not d["ok"]:
                        self.stderr.write(f"alert delivery failed: {r['name']}: {d['channel']}: {d['error']}")
