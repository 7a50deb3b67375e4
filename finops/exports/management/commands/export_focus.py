"""python manage.py export_focus --tenant SLUG --period YYYY-MM --output PATH [--format csv|parquet] [--source S ...]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.selectors import tenant_by_slug
from finops.exports.platforms import SOURCES
from finops.exports.services import ExportError, focus_export, parse_period
from finops.exports.writers import FORMATS


class Command(BaseCommand):
    help = (
        "Export one billing period's bill lines as FOCUS 1.2 (CSV or Parquet). Prints the rows written and the "
        "export's BilledCost total beside the ledger's billed total for the period (they are equal)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug.")
        parser.add_argument("--period", required=True, help="Billing period, YYYY-MM.")
        parser.add_argument("--output", required=True, help="File to write (replaced if it exists).")
        parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or parquet.")
        parser.add_argument(
            "--source",
            action="append",
            choices=SOURCES,
            default=[],
            help="Only this platform's bill lines (repeat for several). Default: every platform.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        try:
            period = parse_period(options["period"])
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"Cannot write {output}: the folder {output.parent} does not exist.")
        if output.is_dir():
            raise CommandError(f"Cannot write {output}: it is a folder; give a file name.")
        try:
            result = focus_export(
                tenant=tenant, period=period, fmt=options["format"], output_path=output, sources=options["source"]
            )
        except ExportError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        which = f" from {', '.join(options['source'])}" if options["source"] else ""
        self.stdout.write(f"Wrote {result.rows:,} FOCUS 1.2 rows{which} for {period:%Y-%m} to {output} ({result.fmt}).")
        self.stdout.write(f"BilledCost total:    {result.billed_total} USD")
        self.stdout.write(f"Ledger billed total: {result.ledger_total} USD")
        if not result.matches:
            raise CommandError(
                f"The export's BilledCost ({result.billed_total}) differs from the ledger's billed total "
                f"({result.ledger_total}) for {period:%Y-%m}; the ledger has billed rows that are not bill lines."
            )
