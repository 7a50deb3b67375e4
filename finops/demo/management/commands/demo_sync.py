"""The demo's live sync: seed an AWS emulator (a moto server on loopback, AWS_ENDPOINT_URL) with the demo
company's CUR export, recent invocation logs and CloudWatch metrics, point the demo connection at it, and run
a real sync of it, so the connection page shows syncs that ran. `make demo` starts the emulator and runs this."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from connections.models import AwsConnection
from connections.validation import connection_validate
from finops.demo.live import demo_connection_prepare, emulator_endpoint, seed_emulator
from ingestion.sync.services import SyncBusy, sync_connection

DEMO_CONNECTION = "acme-prod"


class Command(BaseCommand):
    help = (
        "Seed the AWS emulator at AWS_ENDPOINT_URL (loopback only) with the demo's files and sync the demo "
        "connection through it. Run after demo_setup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data-dir", type=Path, default=Path("var/demo-data"))
        parser.add_argument("--tenant", default="acme")
        parser.add_argument("--days", type=int, default=2, help="Days of invocation logs and metrics to seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            endpoint = emulator_endpoint()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        data_dir: Path = options["data_dir"]
        if not (data_dir / "cur").is_dir():
            raise CommandError(f"No demo data in {data_dir}: run `manage.py demo_setup --data-dir {data_dir}` first.")
        connection = (
            AwsConnection.objects.select_related("tenant")
            .filter(tenant__slug=options["tenant"], name=DEMO_CONNECTION)
            .first()
        )
        if connection is None:
            raise CommandError(
                f"No demo connection {DEMO_CONNECTION!r} in tenant {options['tenant']!r}: run demo_setup."
            )
        say = self.stdout.write
        say(f"Seeding the AWS emulator at {endpoint} ...")
        now = timezone.now()
        latest = _latest_log_day(data_dir)
        seed_emulator(data_dir=data_dir, connection=connection, days=options["days"], now=latest or now, say=say)
        connection = demo_connection_prepare(connection)
        results = connection_validate(connection=connection)
        connection.refresh_from_db()
        checks = ", ".join(f"{r.status} {r.key}" for r in results if r.status != "green")
        say(f"Validated {connection.name} through the emulator: {connection.get_status_display()}"
            + (f" ({checks})" if checks else ""))  # fmt: skip
        say(f"Syncing {connection.name} through the emulator ...")
        try:
            report = sync_connection(connection, trigger="demo", say=say)
        except SyncBusy as exc:
            raise CommandError(str(exc)) from exc
        by_status: dict[str, int] = {}
        for run in report.runs:
            by_status[run.status] = by_status.get(run.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
        say(f"Demo sync done ({summary}); see /connections/{connection.pk}/")


def _latest_log_day(data_dir: Path) -> datetime | None:
    """The end of the demo's logs (the generated company ends yesterday or at --end-date)."""
    hours = sorted((data_dir / "invocation-logs" / "AWSLogs").glob("*/BedrockModelInvocationLogs/*/*/*/*/*"))
    if not hours:
        return None
    year, month, day, hour = (int(p) for p in hours[-1].parts[-4:])
    return datetime(year, month, day, hour, tzinfo=UTC)
