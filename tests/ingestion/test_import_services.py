"""Import services: idempotency, restatements, file discovery, unreadable files, the PostgreSQL COPY path."""

from __future__ import annotations

import gzip
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.services import import_cur, import_invocation_logs
from tests.fixtures import make_fixtures as mf

JUNE = date(2026, 6, 1)
MAY = date(2026, 5, 1)
JUNE_ROWS = 18  # Bedrock rows in cur2-bedrock-2026-06.csv (19 data lines, one of them EC2)
JUNE_BILLED = sum(
    (
        Decimal(c)
        for c in (
            "0.0572", "1.131", "3.4309", "1.77297747", "0.3", "0.165", "0.03", "0.08", "0.05775",
            "1452", "0.2", "2.75", "-5", "-0.5", "0.42", "0.33", "0.072", "0.0033",
        )
    ),
    Decimal(0),
)  # fmt: skip
RESTATED_BILLED = Decimal("0.066") + Decimal("1.155") + Decimal("0.06")
MAY_BILLED = Decimal("3.3") + Decimal("0.12")
LOG_ESTIMATE = (
    # invocations.jsonl, priced by hand from section F (see test_invocation_log_parser.py)
    (1000 * Decimal("3.30") + 500 * Decimal("16.50") + 2000 * Decimal("0.33") + 400 * Decimal("4.125"))
    + (2000 * Decimal("3.00") + 1000 * Decimal("15.00") + 10000 * Decimal("0.30"))
    + (100 * Decimal("3.30") + 50 * Decimal("16.50"))
    + (10 * Decimal("5.50") + 20 * Decimal("27.50"))
    + (4 * Decimal("0.06") + 38 * Decimal("0.24"))
) / Decimal(1_000_000)


def _period(tenant: Tenant, period: date) -> dict:
    """Count and exact sum of a period's billed rows, summed in Python so SQLite cannot round."""
    costs = list(
        SpendEvent.objects.filter(tenant=tenant, record_kind="billed_line", billing_period=period).values_list(
            "cost_usd", flat=True
        )
    )
    return {"rows": len(costs), "billed": sum(costs, Decimal(0))}


def _ledger_state(tenant: Tenant) -> list[tuple]:
    return sorted(
        SpendEvent.objects.filter(tenant=tenant).values_list(
            "dedupe_key", "cost_usd", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"
        )
    )


# --- idempotency ---------------------------------------------------------------------------------


def test_importing_the_same_logs_twice_loads_nothing_the_second_time(tenant: Tenant) -> None:
    first = import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])
    before = _ledger_state(tenant)

    second = import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    assert first.rows_loaded == 8
    assert second.rows_loaded == 0
    assert second.skipped_reasons == {"already loaded (same requestId)": 8}
    assert _ledger_state(tenant) == before
    priced = SpendEvent.objects.filter(tenant=tenant, cost_usd__isnull=False).values_list("cost_usd", flat=True)
    assert sum(priced, Decimal(0)) == LOG_ESTIMATE


def test_importing_the_same_cur_twice_changes_nothing_and_says_so(tenant: Tenant) -> None:
    first = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    before = _ledger_state(tenant)

    second = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])

    assert (first.rows_loaded, first.rows_replaced, first.rows_unchanged) == (JUNE_ROWS, 0, 0)
    assert (second.rows_loaded, second.rows_replaced, second.rows_unchanged) == (0, 0, JUNE_ROWS)
    assert _ledger_state(tenant) == before
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}
    assert set(SpendEvent.objects.filter(tenant=tenant).values_list("import_run_id", flat=True)) == {second.pk}


def test_logs_and_cur_for_the_same_days_live_side_by_side(tenant: Tenant) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    # Re-importing the CUR replaces billed lines only; the request rows stay.
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])

    kinds = dict(SpendEvent.objects.filter(tenant=tenant).values_list("record_kind").annotate(n=Count("id")))
    assert kinds == {"billed_line": JUNE_ROWS, "request": 8}


# --- finding files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    ["manifest", "export folder", "bucket root", "data file", "period data folder"],
)
@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_a_cur_export_imports_by_manifest_by_directory_and_by_file(
    tenant: Tenant, tmp_path: Path, where: str, fmt: str
) -> None:
    root = tmp_path / "bucket"
    manifest = mf.write_cur_export(root, sources=[mf.CUR_JUNE_CSV], period="2026-06", fmt=fmt)
    data_dir = root / mf.PREFIX / mf.EXPORT / "data" / "BILLING_PERIOD=2026-06"
    path = {
        "manifest": manifest,
        "export folder": root / mf.PREFIX / mf.EXPORT,
        "bucket root": root,
        "data file": next(data_dir.iterdir()),
        "period data folder": data_dir,
    }[where]

    run = import_cur(tenant=tenant, paths=[path])

    assert (run.rows_read, run.rows_loaded, run.rows_skipped, run.rows_rejected) == (19, JUNE_ROWS, 1, 0)
    assert run.status == ImportRun.Status.SUCCEEDED
    assert [f["billing_period"] for f in run.files] == ["2026-06"]
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}


def test_a_directory_with_manifests_loads_only_the_files_they_list(tenant: Tenant, tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    mf.write_cur_export(root, sources=[mf.CUR_JUNE_CSV], period="2026-06")
    stale = root / mf.PREFIX / mf.EXPORT / "data" / "BILLING_PERIOD=2026-06" / "bedrock-cur2-00009.csv.gz"
    mf.csv_to_gzip(mf.CUR_JUNE_RESTATED_CSV, stale)  # left over from an earlier execution

    run = import_cur(tenant=tenant, paths=[root])

    assert run.rows_loaded == JUNE_ROWS
    assert all("00009" not in f["path"] for f in run.files)


def test_a_manifest_listing_a_missing_file_fails_and_names_it(tenant: Tenant, tmp_path: Path) -> None:
    manifest = mf.write_cur_export(tmp_path / "bucket", sources=[mf.CUR_JUNE_CSV], period="2026-06")
    next((tmp_path / "bucket").rglob("*.csv.gz")).unlink()

    run = import_cur(tenant=tenant, paths=[manifest])

    assert run.status == ImportRun.Status.FAILED
    assert "bedrock-cur2-00001.csv.gz" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


def test_a_missing_path_fails_the_run_without_loading(tenant: Tenant, tmp_path: Path) -> None:
    cur = import_cur(tenant=tenant, paths=[tmp_path / "nope"])
    logs = import_invocation_logs(tenant=tenant, paths=[tmp_path / "nope"])

    for run in (cur, logs):
        assert run.status == ImportRun.Status.FAILED
        assert "no such file or directory" in run.message


# --- restatements --------------------------------------------------------------------------------


def _june_and_may(tenant: Tenant, root: Path) -> None:
    mf.write_cur_export(root, sources=[mf.CUR_JUNE_CSV], period="2026-06")
    mf.write_cur_export(root, sources=[mf.CUR_MAY_CSV], period="2026-05")
    run = import_cur(tenant=tenant, paths=[root])
    assert run.rows_loaded == JUNE_ROWS + 2


def test_a_redelivered_period_replaces_only_that_period(tenant: Tenant, tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    _june_and_may(tenant, root)

    # AWS rewrites June's file and manifest (overwrite mode) with restated rows.
    manifest = mf.write_cur_export(root, sources=[mf.CUR_JUNE_RESTATED_CSV], period="2026-06")
    run = import_cur(tenant=tenant, paths=[manifest])

    assert (run.rows_loaded, run.rows_replaced) == (3, JUNE_ROWS)
    assert _period(tenant, JUNE) == {"rows": 3, "billed": RESTATED_BILLED}
    assert _period(tenant, MAY) == {"rows": 2, "billed": MAY_BILLED}
    sonnet_input = SpendEvent.objects.get(
        tenant=tenant, billing_period=JUNE, usage_type="USE1-Claude4.6Sonnet-input-tokens"
    )
    assert (sonnet_input.input_tokens, sonnet_input.cost_usd) == (20_000, Decimal("0.066"))


def test_a_redelivery_with_an_unreadable_file_keeps_the_earlier_data_and_reports_it(
    tenant: Tenant, tmp_path: Path
) -> None:
    root = tmp_path / "bucket"
    _june_and_may(tenant, root)
    manifest = mf.write_cur_export(root, sources=[mf.CUR_JUNE_RESTATED_CSV, mf.CUR_JUNE_RESTATED_CSV], period="2026-06")
    broken = manifest.parents[2] / "data" / "BILLING_PERIOD=2026-06" / "bedrock-cur2-00002.csv.gz"
    broken.write_bytes(b"this is not gzip")

    messages: list[str] = []
    run = import_cur(tenant=tenant, paths=[manifest], progress=messages.append)

    assert run.status == ImportRun.Status.FAILED
    assert run.rows_loaded == 0
    assert "bedrock-cur2-00002.csv.gz: cannot read as CSV" in run.message
    assert "billing period 2026-06 not replaced; its earlier data is kept" in run.message
    assert any("billing period 2026-06 was not replaced" in m and "earlier data is kept" in m for m in messages)
    assert all(f.get("error") for f in run.files)
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}
    assert _period(tenant, MAY) == {"rows": 2, "billed": MAY_BILLED}


def test_a_redelivery_with_a_truncated_gzip_keeps_the_earlier_data(tenant: Tenant, tmp_path: Path) -> None:
    root = tmp_path / "bucket"
    _june_and_may(tenant, root)
    manifest = mf.write_cur_export(root, sources=[mf.CUR_JUNE_RESTATED_CSV, mf.CUR_JUNE_CSV], period="2026-06")
    cut = manifest.parents[2] / "data" / "BILLING_PERIOD=2026-06" / "bedrock-cur2-00002.csv.gz"
    packed = cut.read_bytes()
    cut.write_bytes(packed[: len(packed) * 2 // 3])

    run = import_cur(tenant=tenant, paths=[manifest])

    # A partial file would replace June with part of its rows: the period must be left as it was.
    assert run.status == ImportRun.Status.FAILED
    assert "bedrock-cur2-00002.csv.gz: file ends unexpectedly" in run.message
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}


def test_a_corrupt_parquet_file_is_reported_and_the_period_kept(tenant: Tenant, tmp_path: Path) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    manifest = mf.write_cur_export(
        tmp_path / "bucket", sources=[mf.CUR_JUNE_RESTATED_CSV], period="2026-06", fmt="parquet"
    )
    data = next((tmp_path / "bucket").rglob("*.snappy.parquet"))
    raw = bytearray(data.read_bytes())
    raw[200:1400] = b"\x55" * 1200  # the column pages; the footer (schema) stays readable
    data.write_bytes(bytes(raw))

    run = import_cur(tenant=tenant, paths=[manifest])

    assert run.status == ImportRun.Status.FAILED
    assert "snappy.parquet" in run.message
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}


def test_one_unreadable_period_does_not_stop_another_from_loading(tenant: Tenant, tmp_path: Path) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    root = tmp_path / "bucket"
    mf.write_cur_export(root, sources=[mf.CUR_MAY_CSV], period="2026-05")
    manifest = mf.write_cur_export(root, sources=[mf.CUR_JUNE_RESTATED_CSV], period="2026-06")
    next(manifest.parents[2].rglob("BILLING_PERIOD=2026-06/*.csv.gz")).write_bytes(b"\x1f\x8b garbage")

    run = import_cur(tenant=tenant, paths=[root])

    assert run.status == ImportRun.Status.PARTIAL
    assert run.rows_loaded == 2
    assert _period(tenant, MAY) == {"rows": 2, "billed": MAY_BILLED}
    assert _period(tenant, JUNE) == {"rows": JUNE_ROWS, "billed": JUNE_BILLED}


def test_an_unreadable_log_file_is_reported_and_the_other_files_still_load(tenant: Tenant, log_bucket: Path) -> None:
    hour = next(log_bucket.rglob("2026/06/03/14"))
    (hour / "20260603T145959Z_deadbeef.json.gz").write_bytes(b"not gzip at all")

    run = import_invocation_logs(tenant=tenant, paths=[log_bucket])

    assert run.status == ImportRun.Status.PARTIAL
    assert run.rows_loaded == 3
    errors = [f for f in run.files if f.get("error")]
    assert len(errors) == 1
    assert errors[0]["path"].endswith("20260603T145959Z_deadbeef.json.gz")


# --- runs and audit ------------------------------------------------------------------------------


def test_every_import_is_recorded_and_audited_for_the_tenant(tenant: Tenant, tenant_admin) -> None:  # noqa: ANN001
    run = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV], actor=tenant_admin)

    assert run.actor_label == tenant_admin.get_username()
    assert run.finished_at is not None
    entry = AuditLog.objects.get(tenant=tenant, action="import.cur")
    assert entry.actor == tenant_admin
    assert entry.target == f"import run {run.pk}"
    assert entry.details["loaded"] == JUNE_ROWS
    assert entry.details["skipped"] == 1


def test_progress_messages_name_each_file(tenant: Tenant, cur_csv_gz_manifest: Path) -> None:
    messages: list[str] = []

    import_cur(tenant=tenant, paths=[cur_csv_gz_manifest], progress=messages.append)

    assert any("bedrock-cur2-00001.csv.gz" in m and "2026-06" in m for m in messages)


def test_small_batches_give_the_same_result_as_one_batch(tenant: Tenant, other_tenant: Tenant) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    run = import_cur(tenant=other_tenant, paths=[mf.CUR_JUNE_CSV], batch_size=4)
    import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])
    logs = import_invocation_logs(tenant=other_tenant, paths=[mf.LOGS_JSONL], batch_size=2)

    assert (run.rows_read, run.rows_loaded, run.rows_skipped) == (19, JUNE_ROWS, 1)
    assert (logs.rows_loaded, logs.rows_rejected) == (8, 3)
    assert _ledger_state(other_tenant) == _ledger_state(tenant)


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_loads_through_copy_into_the_staging_table(tenant: Tenant) -> None:
    assert connection.vendor == "postgresql"

    with CaptureQueriesContext(connection) as captured:
        cur = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
        logs = import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    statements = [q["sql"] for q in captured.captured_queries]
    staged = [
        s
        for s in statements
        if s.startswith("WITH ins AS (INSERT INTO ai_spend_events") and "FROM spend_events_stage" in s
    ]
    assert len(staged) == 2  # one batch per import
    # The logs' batch feeds the daily rollup in the same statement; a CUR period's cells are rebuilt once from
    # its rows after they are all in (a CUR line is nearly a cell of its own).
    cur_batch, log_batch = staged
    assert "INSERT INTO ai_spend_daily" in log_batch and "INSERT INTO ai_spend_daily" not in cur_batch
    rebuilt = [s for s in statements if s.startswith("INSERT INTO ai_spend_daily") and '"ai_spend_events"' in s]
    assert rebuilt
    assert any(s.startswith("CREATE TEMP TABLE IF NOT EXISTS spend_events_stage") for s in statements)
    assert not any(s.startswith('INSERT INTO "ai_spend_events"') for s in statements)  # no ORM bulk insert
    assert (cur.rows_loaded, logs.rows_loaded) == (JUNE_ROWS, 8)
    # numeric columns came through COPY exactly, so the database's own SUM is exact.
    billed = SpendEvent.objects.filter(tenant=tenant, cost_basis="billed").aggregate(s=Sum("cost_usd"))["s"]
    estimated = SpendEvent.objects.filter(tenant=tenant, cost_basis="estimated").aggregate(s=Sum("cost_usd"))["s"]
    assert billed == JUNE_BILLED
    assert estimated == LOG_ESTIMATE
    units = SpendEvent.objects.get(
        tenant=tenant, usage_type="USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits"
    )
    assert units.units == Decimal(24)
    alice = SpendEvent.objects.get(tenant=tenant, request_id="5b1d3f6e-0a1b-4c2d-8e3f-000000000001")
    assert alice.tags["team"] == "search"  # JSON survived COPY as JSON


@pytest.mark.postgres
def test_postgresql_copy_skips_rows_already_in_the_ledger(tenant: Tenant) -> None:
    import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    again = import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    assert again.rows_loaded == 0
    assert again.skipped_reasons == {"already loaded (same requestId)": 8}
    assert SpendEvent.objects.filter(tenant=tenant).count() == 8


def test_a_gzip_fixture_holds_exactly_the_csv_text(tmp_path: Path) -> None:
    packed = mf.csv_to_gzip(mf.CUR_JUNE_CSV, tmp_path / "x.csv.gz")

    assert gzip.decompress(packed.read_bytes()) == mf.CUR_JUNE_CSV.read_bytes()


def test_it_reports_progress_inside_a_long_log_file(tenant: Tenant, tmp_path: Path) -> None:
    import json as _json

    from ingestion.services import import_invocation_logs

    lines = []
    for i in range(25):
        record = {
            "schemaType": "ModelInvocationLog",
            "timestamp": "2026-06-03T10:00:00Z",
            "requestId": f"req-progress-{i}",
            "modelId": "amazon.nova-lite-v1:0",
            "input": {"inputTokenCount": 10},
            "output": {"outputTokenCount": 2},
        }
        lines.append(_json.dumps(record))
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    messages: list[str] = []
    run = import_invocation_logs(tenant=tenant, paths=[path], progress=messages.append, batch_size=10)
    assert run.rows_loaded == 25
    assert [m.strip() for m in messages if "records read" in m and "long.jsonl" in m] == [
        "long.jsonl: 10 records read",
        "long.jsonl: 20 records read",
    ]


def test_imports_work_with_the_debug_cursor_that_make_demo_uses(tenant: Tenant) -> None:
    # DEBUG (make demo) formats every SQL statement with its parameters for the query log.
    with CaptureQueriesContext(connection):
        import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
        second = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])  # the path that looks up existing rows
        import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])

    assert second.rows_unchanged == JUNE_ROWS


def test_a_restated_period_is_recorded_with_its_totals_before_and_after(tenant: Tenant) -> None:
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])
    first = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])  # identical: not a restatement

    restated = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_RESTATED_CSV])

    assert first.restatements == []
    (entry,) = restated.restatements
    assert entry["billing_period"] == "2026-06"
    assert Decimal(entry["before_usd"]) == JUNE_BILLED
    assert Decimal(entry["after_usd"]) == RESTATED_BILLED
    assert (entry["rows_removed"], entry["rows_added"]) == (JUNE_ROWS, 3)
