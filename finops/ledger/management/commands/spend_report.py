from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.cli import cli_date, cli_tenant
from finops.ledger.selectors import REPORT_NUMBERS, ReportError, ReportFilter, spend_report


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # format "f": normalize() alone writes 100 as "1E+2"
        return format(value.quantize(Decimal("0.0000000001")).normalize(), "f") if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return value


class Command(BaseCommand):
    help = "Spend by any ledger dimension. Billed (CUR) and estimated (invocation logs) dollars are never added."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--group-by", default="model_id", help="Comma-separated ledger fields.")
        parser.add_argument("--start", type=cli_date, help="First usage date, inclusive (YYYY-MM-DD).")
        parser.add_argument("--end", type=cli_date, help="Last usage date, inclusive (YYYY-MM-DD).")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = cli_tenant(options["tenant"], hint="Import data with --tenant first.")
        start, end = options["start"], options["end"]
        if start and end and start > end:
            raise CommandError(f"--start {start} is after --end {end}.")
        group_by = [g.strip() for g in options["group_by"].split(",") if g.strip()]
        try:
            rows = spend_report(tenant=tenant, group_by=group_by, filters=ReportFilter(start, end))
        except ReportError as exc:
            raise CommandError(str(exc)) from exc
        # token_source: whether a group's token counts come from requests or bill lines (per platform; mixed: both).
        # allocated_cost_usd (billed dollars allocated to the group's requests) came later: last, so the
        # columns scripts already read keep their places.
        columns = [*group_by, *REPORT_NUMBERS, "token_source", "allocated_cost_usd"]
        fmt = options["format"]
        if fmt == "json":
            data = [{c: _plain(row[c]) for c in columns} for row in rows]
            self.stdout.write(json.dumps(data, indent=2))
        elif fmt == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_plain(row[c]) for c in columns])
        else:
            self._table(rows, group_by)

    def _table(self, rows: list[dict[str, Any]], group_by: list[str]) -> None:
        if not rows:
            self.stdout.write("No spend in this range.")
            return
        headers = [
            *group_by,
            "billed $",
            "estimated $",
            "allocated $",
            "input tok",
            "output tok",
            "cache rd",
            "cache wr",
            "requests",
            "unpriced",
        ]
        body = []
        for row in rows:
            body.append(
                [str(_plain(row[g]) if row[g] not in (None, "") else "(none)") for g in group_by]
                + [f"{row['billed_cost_usd']:,.2f}", f"{row['estimated_cost_usd']:,.2f}"]
                + [f"{row['allocated_cost_usd']:,.2f}"]
                + [f"{row[c]:,}" for c in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")]
                + [f"{row['requests']:,}", f"{row['unpriced_requests']:,}"]
            )
        billed = sum((r["billed_cost_usd"] for r in rows), Decimal(0))
        estimated = sum((r["estimated_cost_usd"] for r in rows), Decimal(0))
        widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
        line = "  ".join(
            h.ljust(w) if i < len(group_by) else h.rjust(w)
            for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
        self.stdout.write(line)
        self.stdout.write("-" * len(line))
        for b in body:
            self.stdout.write(
                "  ".join(
                    v.ljust(w) if i < len(group_by) else v.rjust(w)
                    for i, (v, w) in enumerate(zip(b, widths, strict=True))
                )
            )
        self.stdout.write(f"Total billed ${billed:,.2f}; total estimated ${estimated:,.2f} (not added together).")
