"""Measure the overview and the explorer on a generated ledger, beside plain GROUP BYs over the raw rows
measured in the same run; prints p50/p95 per query and the speed-up."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from connections.models import Tenant
from finops.dashboards.selectors import overview
from finops.explorer.benchmark import Timing, generate_rows, load_rows, timed
from finops.explorer.query import parse_query
from finops.explorer.selectors import explore
from finops.ledger.models import SpendDaily, SpendDailyCoarse, SpendDailyPeople, SpendEvent, SpendWeeklyPeople
from finops.ledger.rollups import rollup_rebuild
from finops.ledger.selectors import ReportFilter, spend_report

END = date(2026, 11, 20)


class Command(BaseCommand):
    help = (
        "Generate a ledger of --events rows in a throw-away tenant, build its daily rollup, then time the overview "
        "and explorer views (p50/p95 over --repeat runs) beside plain GROUP BYs over the raw rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=200_000, help="Ledger rows to generate (default 200,000).")
        parser.add_argument("--days", type=int, default=90, help="Days the rows spread over (default 90).")
        parser.add_argument("--repeat", type=int, default=20, help="Timed runs per query (default 20).")
        parser.add_argument("--tenant", default="", help="Reuse this tenant's ledger instead of generating one.")
        parser.add_argument("--keep", action="store_true", help="Keep the generated tenant and rows.")

    def handle(self, *args: Any, **options: Any) -> None:
        say = self.stdout.write
        repeat: int = options["repeat"]
        if repeat < 1 or options["events"] < 1 or options["days"] < 1:
            raise CommandError("--events, --days and --repeat must be at least 1.")
        generated = not options["tenant"]
        if generated:
            tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Explorer benchmark")
            say(f"Database: {connection.vendor}. Generating {options['events']:,} ledger rows over {options['days']} "
                f"days into tenant {tenant.slug} ...")  # fmt: skip
            t0 = time.monotonic()
            count = load_rows(
                generate_rows(tenant_id=tenant.pk, events=options["events"], days=options["days"], end=END),
                progress=say,
            )
            say(f"  {count:,} rows in {time.monotonic() - t0:.1f}s")
            t0 = time.monotonic()
            rollup_rebuild(tenant_id=tenant.pk)
            say(f"Daily rollup built in {time.monotonic() - t0:.1f}s")
        else:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (SpendEvent, SpendDaily, SpendDailyCoarse, SpendDailyPeople, SpendWeeklyPeople):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
        events = SpendEvent.objects.filter(tenant=tenant).count()
        cells = SpendDaily.objects.filter(tenant=tenant).count()
        say(f"Ledger: {events:,} rows; rollup: {cells:,} cells ({events / max(cells, 1):.0f} rows per cell).")
        try:
            self._measure(tenant, repeat, say)
        finally:
            if generated and not options["keep"]:
                SpendDaily.objects.filter(tenant=tenant).delete()
                SpendEvent.objects.filter(tenant=tenant).delete()
                say("Benchmark rows deleted (the tenant stays: its audit entries are append-only).")

    def _measure(self, tenant: Tenant, repeat: int, say: Any) -> None:
        latest = SpendDaily.objects.filter(tenant=tenant).order_by("-usage_date").values_list("usage_date", flat=True)
        end = latest.first() or END
        start = end - timedelta(days=29)
        table = SpendEvent._meta.db_table

        def raw_group_by() -> None:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT model_id, SUM(cost_usd), SUM(input_tokens), SUM(output_tokens) FROM {table} "
                    "WHERE tenant_id = %s AND usage_date BETWEEN %s AND %s GROUP BY model_id",
                    [tenant.pk, start, end],
                )
                cursor.fetchall()

        def raw_overview() -> None:
            # What the overview did before the rollup: its groupings over the raw rows.
            filters = ReportFilter(start=start, end=end)
            for group_by in (["usage_date"], ["model_id", "model_ref"], ["team"], ["line_item_type", "usage_category"]):
                spend_report(tenant=tenant, group_by=group_by, filters=filters)

        def view(params: dict[str, Any]) -> Any:
            query = parse_query(params, latest=end)
            return lambda: explore(tenant, query)

        def raw_report(group_by: list[str], days: int = 30) -> Any:
            filters = ReportFilter(start=end - timedelta(days=days - 1), end=end)
            return lambda: spend_report(tenant=tenant, group_by=group_by, filters=filters)

        slow = max(3, repeat // 4)  # the raw-row versions take seconds each at millions of rows
        baseline = timed("raw GROUP BY model, 30 days (baseline)", raw_group_by, repeat=repeat)
        # Each rollup query beside the same grouping over the raw rows (the overview's groupings; the ledger
        # report with the explorer's group-by for the explorer views).
        pairs: list[tuple[Timing, Timing]] = [
            (
                timed("overview", lambda: overview(tenant=tenant, start=start, end=end), repeat=repeat),
                timed("overview over raw rows", raw_overview, repeat=slow),
            ),
            (
                timed("explorer: by model, last 30 days", view({}), repeat=repeat),
                timed("  same over raw rows", raw_report(["model_id", "model_ref"]), repeat=slow),
            ),
            (
                timed("explorer: team x model, last 30 days", view({"g": ["team", "model"]}), repeat=repeat),
                timed("  same over raw rows", raw_report(["team", "model_id", "model_ref"]), repeat=slow),
            ),
            (
                timed(
                    "explorer: by user, allocated, 90 days",
                    view({"g": "user", "preset": "90d", "basis": "allocated"}),
                    repeat=repeat,
                ),
                timed("  same over raw rows", raw_report(["user_id"], days=90), repeat=slow),
            ),  # fmt: skip
        ]
        extra = timed(
            "explorer: by principal, team filter, weekly",
            view({"g": "principal", "f.team": "search", "gran": "week", "preset": "90d"}),
            repeat=repeat,
        )
        say("")
        say(f"{'query':<46} {'p50 ms':>8} {'p95 ms':>8} {'x vs baseline':>14} {'x vs same raw':>14}")
        say(f"{baseline.label:<46} {baseline.p50_ms:>8.1f} {baseline.p95_ms:>8.1f} {'-':>14} {'-':>14}")
        for rolled, raw in [*pairs, (extra, None)]:
            vs_base = f"{baseline.p50_ms / rolled.p95_ms:.1f}x" if rolled.p95_ms else "-"
            vs_raw = f"{raw.p50_ms / rolled.p95_ms:.1f}x" if raw and rolled.p95_ms else "-"
            say(f"{rolled.label:<46} {rolled.p50_ms:>8.1f} {rolled.p95_ms:>8.1f} {vs_base:>14} {vs_raw:>14}")
            if raw:
                say(f"{raw.label:<46} {raw.p50_ms:>8.1f} {raw.p95_ms:>8.1f} {'':>14} {'':>14}")
        say("x: the raw query's p50 over the rollup query's p95 (the rollup's worst case against the raw typical).")
