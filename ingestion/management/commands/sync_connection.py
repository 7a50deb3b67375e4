"""Sync one connection in the foreground: every source (or --sources), with progress, then a line per
source, account and region (status, fetched, loaded, watermark) and the diagnosis and remedy for anything red.
Exits non-zero only when every source that was tried failed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.management.commands._lookup import get_connection
from ingestion.sync.services import ORDER, SyncBusy, sync_connection


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD.") from exc


def _sources(value: str) -> list[str]:
    names = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in names if s not in ORDER]
    if unknown or not names:
        raise CommandError(f"--sources {value!r}: use a comma-separated list of {', '.join(ORDER)}.")
    return names


def _watermark_text(watermark: dict[str, Any]) -> str:
    text = json.dumps(watermark, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


class Command(BaseCommand):
    help = (
        "Sync a connection now (CUR exports, invocation logs, CloudWatch metrics, inventory) and print what each "
        "source did per account and region; exit 1 only when every source failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="Connection id, name, or TENANT/NAME.")
        parser.add_argument("--sources", default="", help=f"Comma-separated, of {','.join(ORDER)} (default: all).")
        parser.add_argument("--since", default="", help="Read from this day (YYYY-MM-DD); default: each source's "
                            "watermark, or 90 days back on a first sync.")  # fmt: skip
        parser.add_argument("--until", default="", help="Read up to the end of this day (YYYY-MM-DD); default: now.")
        parser.add_argument("--format", choices=["table", "json"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = get_connection(options["connection"])
        sources = _sources(options["sources"]) if options["sources"] else None
        since = datetime.combine(_day(options["since"]), time(), UTC) if options["since"] else None
        until = datetime.combine(_day(options["until"]) + timedelta(days=1), time(), UTC) if options["until"] else None
        if since and until and since >= until:
            raise CommandError("--since must be before --until.")
        as_json = options["format"] == "json"
        say = (lambda _: None) if as_json else self.stdout.write
        try:
            report = sync_connection(connection, sources=sources, since=since, until=until, say=say)
        except SyncBusy as exc:
            raise CommandError(f"{exc} Try again when it has finished.") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            self.stdout.write("")
            self.stdout.write(f"{'source':<10} {'account':<13} {'region':<15} {'status':<24} {'fetched':>9} "
                              f"{'loaded':>9}  watermark")  # fmt: skip
            for run in report.runs:
                self.stdout.write(
                    f"{run.source:<10} {run.account_id:<13} {run.region or '-':<15} {run.get_status_display():<24} "
                    f"{run.items_fetched:>9,} {run.rows_loaded:>9,}  {_watermark_text(run.watermark_after)}"
                )
            red = [r for r in report.runs if r.status in ("failed", "partial")]
            for run in red:
                self.stdout.write(f"\n{run.source} {run.account_id} {run.region or ''}: {run.error}".rstrip())
                if run.remedy:
                    self.stdout.write("  Remedy: " + run.remedy.replace("\n", "\n    "))
        if report.all_failed:
            raise SystemExit(1)
