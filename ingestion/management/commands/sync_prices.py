"""Overlay list prices from the AWS Price List: live (pricing API, the installation's own credentials)
or from a saved file (a get_products dump or a bulk offer file), for air-gapped installations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.aws import AwsError
from ingestion.prices import PriceListUnreadable, prices_sync


class Command(BaseCommand):
    help = "Sync Bedrock list prices from the AWS Price List (effective-dated; history kept; audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            help="A saved get_products dump (its PriceList array of JSON strings) or a bulk offer file, "
            "instead of calling the pricing API.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Show what would change; change nothing.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        say = (lambda msg: self.stdout.write(msg)) if options["format"] == "table" else None
        try:
            result = prices_sync(file=options["file"], dry_run=options["dry_run"], progress=say)
        except PriceListUnreadable as exc:
            raise CommandError(str(exc)) from exc
        except AwsError as exc:
            raise CommandError(
                f"The pricing API could not be read: {exc}. The installation's own credentials need "
                "pricing:GetProducts; or pass --file with a saved Price List."
            ) from exc
        if options["format"] == "json":
            self.stdout.write(
                json.dumps(
                    {
                        "source": result.source,
                        "dry_run": result.dry_run,
                        "prices": result.rows,
                        "unchanged": result.unchanged,
                        "new_models": result.new_models,
                        "skipped": dict(result.skipped),
                        "changes": [c.as_dict() for c in result.changes],
                    },
                    indent=2,
                )
            )
            return
        for change in result.changes:
            key = change.key
            where = " ".join(v for v in (key["region"], key["route"], key["service_tier"], key["context"]) if v)
            before = "new" if change.old is None else f"{change.old}"
            self.stdout.write(
                f"  {change.model_id} {key['token_type']}{' ' + key['cache_ttl'] if key['cache_ttl'] else ''} "
                f"[{where}]: {before} -> {change.new} per {change.unit} from {change.effective_from}"
            )
        for reason, count in sorted(result.skipped.items()):
            self.stdout.write(f"  skipped {count:,}: {reason}")
        verb = "would change" if result.dry_run else "changed"
        self.stdout.write(
            f"{result.source or 'No prices'}: {result.rows:,} prices read, {len(result.changes):,} {verb}, "
            f"{result.unchanged:,} unchanged, {len(result.new_models)} new model(s)"
            + (f": {', '.join(result.new_models)}" if result.new_models else "")
            + ("; dry run, nothing saved." if result.dry_run else ".")
        )
