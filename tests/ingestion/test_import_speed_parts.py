"""The parts of the import that exist for speed: stage timings on the run, the ledger's statistics refreshed
after a big load (PostgreSQL), and the benchmark command's report (figures printed, never asserted as
speeds: only that every figure is there and the raw COPY copied exactly the rows the import loaded)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.loader import ANALYZE_COLUMNS, refresh_statistics
from ingestion.services import import_cur, import_invocation_logs
from tests.factories import billed_line
from tests.fixtures import make_fixtures as mf


def test_an_import_run_says_where_its_time_went(tenant: Tenant) -> None:
    logs = import_invocation_logs(tenant=tenant, paths=[mf.LOG_DIR / "reconcile-2026-08.jsonl"])
    cur = import_cur(tenant=tenant, paths=[mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"])

    # A CUR period's daily cells are rebuilt once, after its rows are in: a stage of its own.
    for run, stages in (
        (logs, {"parse", "normalise", "load", "reconcile"}),
        (cur, {"parse", "normalise", "load", "rollup", "reconcile"}),
    ):
        run.refresh_from_db()
        assert set(run.stage_seconds) == stages
        assert all(seconds >= 0 for seconds in run.stage_seconds.values())
        # parsing overlaps loading (a thread), so the stages may add up to more than the run, never one alone
        assert all(seconds <= run.duration_seconds for seconds in run.stage_seconds.values())


@pytest.mark.django_db
def test_small_loads_leave_the_statistics_to_autovacuum() -> None:
    assert refresh_statistics(rows_loaded=9_999) is False


def _reltuples(cursor: object) -> float:
    cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [SpendEvent._meta.db_table])
    return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE and pg_class are PostgreSQL's")
@pytest.mark.django_db
def test_a_load_that_grows_the_ledger_by_a_fifth_refreshes_its_statistics(tenant: Tenant) -> None:
    for cost in ("1", "2", "3"):
        billed_line(tenant, cost=cost)
    table = SpendEvent._meta.db_table
    with connection.cursor() as cursor:
        # The planner believes the ledger holds a million rows: 50,000 more is not a fifth, nothing is done.
        cursor.execute("UPDATE pg_class SET reltuples = 1000000 WHERE oid = %s::regclass", [table])
        assert refresh_statistics(rows_loaded=50_000) is False
        assert _reltuples(cursor) == 1_000_000
        # It believes the ledger empty (never analysed): the load is more than a fifth, so it is analysed and
        # the planner's count becomes the rows there are (ANALYZE counts this transaction's own rows).
        cursor.execute("UPDATE pg_class SET reltuples = -1 WHERE oid = %s::regclass", [table])
        with CaptureQueriesContext(connection) as queries:
            assert refresh_statistics(rows_loaded=50_000) is True
        assert _reltuples(cursor) == SpendEvent.objects.count() == 3
        # Only the columns the import's later statements filter and join on are analysed (a fifth of the time of
        # all of them); their statistics are there for the planner.
        (analyze,) = [q["sql"] for q in queries if q["sql"].startswith("ANALYZE")]
        quoted = ", ".join('"' + name + '"' for name in ANALYZE_COLUMNS)
        assert analyze == f"ANALYZE {table} ({quoted})"
        assert {"tenant_id", "billing_period", "usage_date", "id"} <= set(ANALYZE_COLUMNS)
        cursor.execute("SELECT attname FROM pg_stats WHERE tablename = %s", [table])
        assert set(ANALYZE_COLUMNS) <= {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_benchmark_reports_every_stage_beside_raw_copy_of_the_same_rows() -> None:
    out = StringIO()
    # --in-process: the test database is not reachable from a child process (SQLite's is in memory)
    call_command(
        "benchmark_import", "--cur-rows", "400", "--log-records", "300", "--format", "json", "--in-process", stdout=out
    )
    report = json.loads(out.getvalue())

    assert report["database"] == connection.vendor
    for kind, rows in (("cur", 400), ("logs", 300)):
        source = report["sources"][kind]
        main, small = source["runs"]
        assert (main["size"], small["size"]) == (rows, rows // 4)
        assert main["read"] == main["loaded"] == rows
        assert main["raw_copy"]["rows"] == main["loaded"]  # the same rows, copied by the database's bulk path
        assert main["raw_copy"]["indexed"] > 0 and main["raw_copy"]["no_indexes"] > 0
        assert {"parse", "normalise", "load", "reconcile"} <= set(main["stages"])
        assert set(main["stages"]) <= {"parse", "normalise", "load", "rollup", "reconcile"}
        assert main["parse_only"]["app_parse_rows_s"] > 0 and main["parse_only"]["plain_read_rows_s"] > 0
        assert main["peak_rss_mb"] > 0 and small["peak_rss_mb"] > 0
    assert report["sources"]["logs"]["all_duplicates"]["read"] == 300
    assert not SpendEvent.objects.exists()  # the benchmark's rows are gone unless --keep


@pytest.mark.django_db(transaction=True)
def test_the_benchmark_prints_each_figure_beside_raw_copy() -> None:
    out = StringIO()
    call_command("benchmark_import", "--cur-rows", "200", "--log-records", "100", "--in-process", stdout=out)
    lines = [line.strip() for line in out.getvalue().splitlines()]
    text = out.getvalue()

    for start in ("whole import", "raw COPY, same indexes", "raw COPY, no indexes", "parse only", "peak RSS importing"):
        found = [line for line in lines if line.startswith(start)]
        assert len(found) == (4 if start == "peak RSS importing" else 2), start
    assert text.count("ratio whole import / raw COPY (same indexes)") == 2
    assert "the same file again (all duplicates)" in text
