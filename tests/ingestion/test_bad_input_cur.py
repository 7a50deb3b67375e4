"""CUR imports on malformed input: every bad row is rejected with file, line and reason while the rest
of the file loads exactly; a damaged file loads nothing and its billing period keeps its earlier data;
no stored value can break a page. Expected numbers come from the input rows, never from the importer."""

from __future__ import annotations

import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.test import Client

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.services import import_cur
from tests.fixtures import make_fixtures as mf
from tests.ingestion import malformed as bad

JUNE = date(2026, 6, 1)
JULY = date(2026, 7, 1)


def _billed(tenant: Tenant, period: date | None = None) -> tuple[int, Decimal]:
    rows = SpendEvent.objects.filter(tenant=tenant, record_kind="billed_line")
    if period:
        rows = rows.filter(billing_period=period)
    costs = list(rows.values_list("cost_usd", flat=True))
    return len(costs), sum(costs, Decimal(0))


def _rejected_lines(run: ImportRun) -> dict[int, str]:
    return {r["line"]: r["reason"] for r in run.rejected_samples}


def _pages_work(client: Client, staff, tenant: Tenant) -> None:  # noqa: ANN001
    """The overview, the API report and spend_report all answer for this tenant's ledger."""
    client.force_login(staff)
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    assert client.get(f"/api/v1/ledger/{tenant.slug}/report?group_by=team").status_code == 200
    call_command("spend_report", tenant=tenant.slug, format="json", stdout=open("/dev/null", "w"))  # noqa: SIM115


# --- one bad row among good ones -------------------------------------------------------------------


def test_a_byte_that_is_not_utf8_in_row_300_of_600_rejects_that_row_only(tenant: Tenant, tmp_path: Path) -> None:
    rows = bad.many_cur_rows(600)
    path = bad.write_cur(tmp_path / "big.csv", rows)
    lines = path.read_bytes().split(b"\n")
    lines[300] = lines[300].replace(b"arn:aws:iam", b"arn:\xff\xfeaws:iam", 1)  # line 301: header is line 1
    path.write_bytes(b"\n".join(lines))

    run = import_cur(tenant=tenant, paths=[path])

    assert (run.rows_read, run.rows_loaded, run.rows_rejected) == (600, 599, 1)
    assert "not valid UTF-8" in _rejected_lines(run)[301]
    assert _billed(tenant) == (599, bad.cur_billed_sum(rows[:299] + rows[300:]))


def test_a_stray_quote_rejects_its_own_line_and_the_lines_after_it_still_load(tenant: Tenant, tmp_path: Path) -> None:
    rows = bad.many_cur_rows(40)
    path = bad.write_cur(tmp_path / "quote.csv", rows)
    lines = path.read_text().split("\n")
    lines[10] = lines[10].replace(",Usage,", ',"Usage,', 1)  # row 10 (line 11) opens a quote it never closes
    path.write_text("\n".join(lines))

    run = import_cur(tenant=tenant, paths=[path])

    assert (run.rows_loaded, run.rows_rejected) == (39, 1)
    assert list(_rejected_lines(run)) == [11]
    assert _billed(tenant) == (39, bad.cur_billed_sum(rows[:9] + rows[10:]))


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("line_item_unblended_cost", "12345678901.5", "out of range"),
        ("line_item_unblended_cost", "NaN", "not a finite number"),
        ("line_item_unblended_cost", "Infinity", "not a finite number"),
        ("line_item_usage_amount", "1e16", "out of range"),
        ("line_item_usage_start_date", "9999-12-31T23:59:59.999Z", "out of range"),
        ("line_item_iam_principal", "arn:aws:iam::123456789012:user/" + "a" * 2100, "2,048"),
        ("line_item_iam_principal", "arn:aws:iam::123456789012:user/al\x00ice", "NUL"),
        ("line_item_usage_account_id", "1234567890123", "account"),
        ("line_item_operation", "x" * 300, "line_item_operation"),
        ("tags", json.dumps({"iamPrincipal/team": "t" * 300}), "256"),
        ("tags", json.dumps({"iamPrincipal/team": "data\x00science"}), "NUL"),
        ("tags", "[1, 2, 3]", "not a JSON object"),
        ("tags", "[" * 100_000, "tags"),
    ],
)
def test_a_value_that_cannot_be_stored_rejects_its_row_by_name_and_the_pages_still_work(
    tenant: Tenant, staff, client: Client, tmp_path: Path, column: str, value: str, reason: str
) -> None:
    rows = bad.bedrock_rows()
    rows[4] = {**rows[4], column: value}  # row 5, line 6
    path = bad.write_cur(tmp_path / "one-bad.csv", rows)

    run = import_cur(tenant=tenant, paths=[path])

    assert (run.rows_loaded, run.rows_rejected) == (len(rows) - 1, 1)
    assert reason in _rejected_lines(run)[6]
    assert _billed(tenant) == (len(rows) - 1, bad.cur_billed_sum(rows[:4] + rows[5:]))
    _pages_work(client, staff, tenant)


def test_long_values_within_aws_limits_are_stored_whole(tenant: Tenant, tmp_path: Path) -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/" + "R" * 64 + "/" + "s" * 1900
    team = "é" * 256  # a tag value at AWS's limit, multi-byte
    rows = bad.bedrock_rows()[:1]
    rows[0] = {
        **rows[0],
        "line_item_iam_principal": arn,
        "tags": json.dumps({"iamPrincipal/team": team, "iamPrincipal/" + "k" * 128: "v"}),
    }

    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "long.csv", rows)])

    event = SpendEvent.objects.get(tenant=tenant)
    assert (event.iam_principal, event.team, event.principal_name) == (arn, team, "s" * 1900)
    assert event.tags["iamPrincipal/" + "k" * 128] == "v"


def test_a_cell_that_is_not_stored_may_hold_anything(tenant: Tenant, tmp_path: Path) -> None:
    rows = bad.bedrock_rows()
    rows[0] = {**rows[0], "line_item_line_item_description": "odd \x00 text " * 1000}

    run = import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "desc.csv", rows)])

    assert (run.rows_loaded, run.rows_rejected) == (len(rows), 0)


def test_a_time_with_an_offset_is_dated_in_utc(tenant: Tenant, tmp_path: Path) -> None:
    rows = bad.bedrock_rows()[:1]
    rows[0] = {
        **rows[0],
        "line_item_usage_start_date": "2026-06-03T23:30:00-05:00",
        "line_item_usage_end_date": "2026-06-04T23:30:00-05:00",
    }

    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "offset.csv", rows)])

    event = SpendEvent.objects.get(tenant=tenant)
    assert event.usage_date == date(2026, 6, 4)
    assert event.usage_start.isoformat() == "2026-06-04T04:30:00+00:00"


def test_negative_usage_on_a_usage_line_keeps_the_cost_and_counts_no_tokens(tenant: Tenant, tmp_path: Path) -> None:
    rows = bad.bedrock_rows()[:1]
    rows[0] = {**rows[0], "line_item_usage_amount": "-17.33"}

    run = import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "negative.csv", rows)])

    event = SpendEvent.objects.get(tenant=tenant)
    assert event.cost_usd == Decimal(rows[0]["line_item_unblended_cost"])
    assert (event.input_tokens, event.units) == (0, Decimal("-17.33"))
    assert "negative usage" in event.data_issue
    assert run.rows_flagged == 1 and run.warnings[0]["line"] == 2


def test_a_duplicated_header_column_rejects_the_file(tenant: Tenant, tmp_path: Path) -> None:
    header, rows = bad.cur_table()
    path = tmp_path / "dup.csv"
    text = bad.cur_text(header, rows)
    first, rest = text.split("\n", 1)
    path.write_text(first + ",line_item_unblended_cost\n" + "\n".join(r + ",999" for r in rest.splitlines()) + "\n")

    run = import_cur(tenant=tenant, paths=[path])

    assert run.status == ImportRun.Status.FAILED
    assert "line_item_unblended_cost appear more than once" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


# --- damaged files ---------------------------------------------------------------------------------


def _gz_with_bad_crc(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[-8] ^= 0xFF  # the CRC32 in the trailer
    return bytes(packed)


def _gz_with_flipped_bit(data: bytes) -> bytes:
    packed = bytearray(gzip.compress(data, mtime=0))
    packed[len(packed) // 2] ^= 0x10
    return bytes(packed)


@pytest.mark.parametrize("damage", [_gz_with_bad_crc, _gz_with_flipped_bit, lambda d: gzip.compress(d)[:-20]])
def test_a_damaged_gzip_redelivery_loads_nothing_and_keeps_the_period(tenant: Tenant, tmp_path: Path, damage) -> None:  # noqa: ANN001
    june = bad.bedrock_rows()
    import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "a", "2026-06"), june)])
    before = _billed(tenant, JUNE)
    redelivery = bad.period_path(tmp_path / "b", "2026-06", "bedrock-cur2-00001.csv.gz")
    redelivery.parent.mkdir(parents=True)
    redelivery.write_bytes(damage(bad.cur_text(bad.cur_table()[0], bad.many_cur_rows(300)).encode()))

    run = import_cur(tenant=tenant, paths=[redelivery])

    assert run.status == ImportRun.Status.FAILED
    assert "not replaced" in run.message and "earlier data is kept" in run.message
    assert _billed(tenant, JUNE) == before == (len(june), bad.cur_billed_sum(june))


def test_a_manifest_pointing_outside_its_export_is_refused(tenant: Tenant, tmp_path: Path) -> None:
    bait = bad.write_cur(tmp_path / "elsewhere" / "secret.csv", bad.bedrock_rows())
    manifest = mf.write_cur_export(tmp_path / "bucket", sources=[mf.CUR_JUNE_CSV], period="2026-06")
    document = json.loads(manifest.read_text())
    document["dataFiles"] = ["s3://acme-cur/cur2/bedrock-cur2/data/../../../../elsewhere/secret.csv"]
    manifest.write_text(json.dumps(document))

    run = import_cur(tenant=tenant, paths=[manifest])

    assert run.status == ImportRun.Status.FAILED
    assert "outside the export folder" in run.message and "refused" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()
    assert bait.exists()


# --- billing periods come from the delivery --------------------------------------------------------


def test_a_june_redelivery_with_a_july_row_leaves_july_alone(tenant: Tenant, tmp_path: Path) -> None:
    june = bad.bedrock_rows()
    july = [
        {
            **row,
            "bill_billing_period_start_date": "2026-07-01T00:00:00.000Z",
            "bill_billing_period_end_date": "2026-08-01T00:00:00.000Z",
            "line_item_usage_start_date": "2026-07-03T00:00:00.000Z",
            "line_item_usage_end_date": "2026-07-04T00:00:00.000Z",
            "identity_line_item_id": row["identity_line_item_id"] + "-jul",
        }
        for row in june
    ]
    import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "jul", "2026-07"), july)])
    import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "jun", "2026-06"), june)])
    july_before = sorted(SpendEvent.objects.filter(tenant=tenant, billing_period=JULY).values_list("id", "cost_usd"))

    redelivery = [*june, {**july[0], "identity_line_item_id": "stray"}]
    run = import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "jun2", "2026-06"), redelivery)])

    assert sorted(SpendEvent.objects.filter(tenant=tenant, billing_period=JULY).values_list("id", "cost_usd")) == (
        july_before
    )
    assert len(july_before) == len(july)
    assert "billing period 2026-07 but the file delivers 2026-06" in _rejected_lines(run)[len(redelivery) + 1]
    assert _billed(tenant, JUNE) == (len(june), bad.cur_billed_sum(june))


def test_a_loose_file_replaces_the_period_most_of_its_rows_name(tenant: Tenant, tmp_path: Path) -> None:
    june = bad.bedrock_rows()
    stray = {
        **june[0],
        "bill_billing_period_start_date": "2026-07-01T00:00:00.000Z",
        "line_item_usage_start_date": "2026-07-03T00:00:00.000Z",
        "line_item_usage_end_date": "2026-07-04T00:00:00.000Z",
    }
    # The odd row first: the period must not come from whichever row is read first.
    run = import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "loose.csv", [stray, *june])])

    assert run.files[0]["billing_period"] == "2026-06"
    assert (run.rows_loaded, list(_rejected_lines(run))) == (len(june), [2])
    assert _billed(tenant, JULY) == (0, Decimal(0))


def test_a_restatement_replaces_only_the_rows_that_changed(tenant: Tenant, tmp_path: Path) -> None:
    june = bad.bedrock_rows()
    import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "a", "2026-06"), june)])
    restated = [*june[:-1], {**june[-1], "line_item_unblended_cost": "0.0044"}]

    run = import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "b", "2026-06"), restated)])

    assert (run.rows_loaded, run.rows_replaced, run.rows_unchanged) == (1, 1, len(june) - 1)
    assert _billed(tenant, JUNE) == (len(june), bad.cur_billed_sum(restated))


# --- Parquet ---------------------------------------------------------------------------------------


def _parquet_with(tmp_path: Path, column: str, array: pa.Array) -> Path:
    path = mf.csv_to_parquet(mf.CUR_JUNE_CSV, tmp_path / "cur.parquet")
    table = pq.read_table(path)
    table = table.set_column(table.schema.get_field_index(column), column, array)
    pq.write_table(table, path)
    return path


def test_a_parquet_tags_column_of_integer_lists_rejects_the_file_and_keeps_the_period(
    tenant: Tenant, tmp_path: Path
) -> None:
    june = bad.bedrock_rows()
    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "june.csv", june)])
    rows = mf.read_cur_csv(mf.CUR_JUNE_CSV)[1]
    path = _parquet_with(tmp_path, "tags", pa.array([[1, 2]] * len(rows), type=pa.list_(pa.int64())))

    run = import_cur(tenant=tenant, paths=[path])

    assert run.status == ImportRun.Status.FAILED
    assert "column tags has type list<" in run.message and "a map of text to text" in run.message
    assert _billed(tenant, JUNE) == (len(june), bad.cur_billed_sum(june))


def test_a_redelivery_whose_every_row_is_rejected_keeps_the_period(tenant: Tenant, tmp_path: Path) -> None:
    june = bad.bedrock_rows()
    import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "a", "2026-06"), june)])
    broken = [{**row, "line_item_unblended_cost": "not a number"} for row in june]

    run = import_cur(tenant=tenant, paths=[bad.write_cur(bad.period_path(tmp_path / "b", "2026-06"), broken)])

    assert run.status == ImportRun.Status.FAILED
    assert "every one of its 18 rows was rejected; its earlier data is kept" in run.message
    assert (run.rows_read, run.rows_rejected, run.rows_loaded) == (18, 18, 0)
    assert _billed(tenant, JUNE) == (len(june), bad.cur_billed_sum(june))


def test_a_cost_with_more_digits_than_the_database_keeps_is_stored_exactly_or_refused(
    tenant: Tenant, tmp_path: Path
) -> None:
    from django.db import connection

    rows = bad.bedrock_rows()[:3]
    rows[1] = {**rows[1], "line_item_unblended_cost": "770103.7000463575"}  # 16 significant digits

    run = import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "digits.csv", rows)])

    stored = list(SpendEvent.objects.filter(tenant=tenant).values_list("cost_usd", flat=True))
    if connection.vendor == "sqlite":  # a double keeps 15 significant digits: refused, never rounded
        assert (run.rows_loaded, run.rows_rejected) == (2, 1)
        assert "more significant digits than SQLite stores exactly" in _rejected_lines(run)[3]
        assert Decimal("770103.7000463575") not in stored
    else:
        assert run.rows_loaded == 3
        assert Decimal("770103.7000463575") in stored


def test_a_parquet_timestamp_out_of_range_rejects_only_its_row(tenant: Tenant, tmp_path: Path) -> None:
    rows = mf.read_cur_csv(mf.CUR_JUNE_CSV)[1]
    base = pq.read_table(mf.csv_to_parquet(mf.CUR_JUNE_CSV, tmp_path / "x.parquet"))
    starts = base.column("line_item_usage_start_date").cast(pa.int64()).to_pylist()
    starts[2] = 300_000_000_000_000  # year ~11,500 in milliseconds: no Python datetime holds it
    path = _parquet_with(
        tmp_path, "line_item_usage_start_date", pa.array(starts, type=pa.int64()).cast(pa.timestamp("ms"))
    )

    run = import_cur(tenant=tenant, paths=[path])

    assert list(_rejected_lines(run)) == [3]
    assert run.rows_loaded == len(rows) - 2  # less the EC2 row and the bad one


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_period_at_once_leave_exactly_one_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from django.db import connections

    from ingestion import services

    tenant = Tenant.objects.create(slug="racing", name="Racing")
    first = bad.many_cur_rows(40)
    second = bad.many_cur_rows(30, base=[{**r, "line_item_unblended_cost": "0.5"} for r in bad.bedrock_rows()])
    deliveries = {
        "a": bad.write_cur(bad.period_path(tmp_path / "a", "2026-06"), first),
        "b": bad.write_cur(bad.period_path(tmp_path / "b", "2026-06"), second),
    }
    expected = {"a": (40, bad.cur_billed_sum(first)), "b": (30, bad.cur_billed_sum(second))}
    # The worst interleaving, made certain: both imports have loaded their rows and are about to drop
    # the period's other rows before either commits. Each sees only committed rows, so without a lock
    # per (tenant, period) both deliveries would stay. With it, the second waits for the first to
    # commit and the rendezvous times out.
    rendezvous = threading.Barrier(2)
    real_delete = services.delete_billed_period

    def delete_together(**kwargs):  # noqa: ANN003, ANN202
        try:
            rendezvous.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass
        return real_delete(**kwargs)

    monkeypatch.setattr(services, "delete_billed_period", delete_together)

    def run(name: str) -> None:
        try:
            import_cur(tenant=tenant, paths=[deliveries[name]])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    last = ImportRun.objects.filter(tenant=tenant).order_by("-finished_at").first()
    assert _billed(tenant, JUNE) == expected["a" if last.rows_read == 40 else "b"]
