"""The management commands: import_cur, import_invocation_logs and spend_report."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from tests.fixtures import make_fixtures as mf

M = Decimal(1_000_000)
NUMBER_COLUMNS = [
    "billed_cost_usd",
    "estimated_cost_usd",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "requests",
    "unpriced_requests",
]
# Billed Claude Sonnet 4.6 lines of cur2-bedrock-2026-06.csv, credit and refund included.
SONNET_46_BILLED = sum(
    (Decimal(c) for c in ("0.0572", "1.131", "3.4309", "1.77297747", "0.3", "0.05775", "-5", "-0.5", "0.33")),
    Decimal(0),
)
# Estimated Sonnet 4.6 requests of invocations.jsonl: `us.` (regional) + `global.` + a failed call at $0.
SONNET_46_ESTIMATED = (
    1000 * Decimal("3.30") + 500 * Decimal("16.50") + 2000 * Decimal("0.33") + 400 * Decimal("4.125")
) / M + (2000 * Decimal("3.00") + 1000 * Decimal("15.00") + 10000 * Decimal("0.30")) / M


def run(name: str, *args: str, **options: object) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --- import_cur ----------------------------------------------------------------------------------


def test_import_cur_creates_a_missing_tenant_and_says_so(db) -> None:  # noqa: ANN001
    out, _ = run("import_cur", str(mf.CUR_JUNE_CSV), tenant="new-tenant")

    tenant = Tenant.objects.get(slug="new-tenant")
    assert "Tenant 'new-tenant' did not exist; created it." in out
    assert SpendEvent.objects.filter(tenant=tenant).count() == 18
    assert AuditLog.objects.filter(tenant=tenant, action="tenant.created").exists()


def test_import_cur_prints_read_loaded_skipped_and_rejected_counts(tenant: Tenant) -> None:
    out, _ = run("import_cur", str(mf.CUR_JUNE_CSV), tenant=tenant.slug)

    assert "did not exist" not in out
    assert "19 rows read, 18 loaded, 1 skipped, 0 rejected" in out
    assert "skipped 1: not a Bedrock row" in out


def test_import_cur_reports_a_restatement(tenant: Tenant) -> None:
    run("import_cur", str(mf.CUR_JUNE_CSV), tenant=tenant.slug)

    out, _ = run("import_cur", str(mf.CUR_JUNE_RESTATED_CSV), tenant=tenant.slug)

    assert "3 rows read, 3 loaded, 0 skipped, 0 rejected, 18 replaced" in out


def test_import_cur_with_rejected_rows_succeeds_and_lists_them(tenant: Tenant) -> None:
    out, err = run("import_cur", str(mf.CUR_BROKEN_CSV), tenant=tenant.slug)

    assert "4 rows read, 2 loaded, 0 skipped, 2 rejected" in out
    assert f"rejected {mf.CUR_BROKEN_CSV}:4: expected 31 fields, found 12" in err
    assert f"rejected {mf.CUR_BROKEN_CSV}:5: line_item_unblended_cost='n/a' is not a number" in err


def test_import_cur_fails_when_the_path_does_not_exist(tenant: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file or directory"):
        run("import_cur", str(tmp_path / "missing.csv"), tenant=tenant.slug)


def test_import_cur_fails_when_nothing_can_be_read(tenant: Tenant, tmp_path: Path) -> None:
    broken = tmp_path / "bedrock-cur2-00001.csv.gz"
    broken.write_bytes(b"not gzip")

    with pytest.raises(CommandError, match="cannot read as CSV"):
        run("import_cur", str(broken), tenant=tenant.slug)


def test_import_cur_fails_on_a_file_that_is_not_a_cur_export(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match=r"missing column\(s\)"):
        run("import_cur", str(mf.NOT_CUR_CSV), tenant=tenant.slug)


def test_import_cur_shows_progress_per_file_unless_asked_not_to(tenant: Tenant, cur_csv_gz_manifest: Path) -> None:
    chatty, _ = run("import_cur", str(cur_csv_gz_manifest), tenant=tenant.slug)
    quiet, _ = run("import_cur", str(cur_csv_gz_manifest), tenant=tenant.slug, quiet_progress=True)

    assert "[1/1]" in chatty and "billing period 2026-06" in chatty
    assert "[1/1]" not in quiet
    assert "18 loaded" in chatty
    assert "0 loaded" in quiet and "18 unchanged" in quiet and "0 changed" in quiet


def test_import_cur_rejects_an_invalid_tenant_slug(db) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="not valid"):
        run("import_cur", str(mf.CUR_JUNE_CSV), tenant="Not A Slug")
    assert not Tenant.objects.exists()


# --- import_invocation_logs ------------------------------------------------------------------------


def test_import_invocation_logs_creates_the_tenant_and_prints_counts(db) -> None:  # noqa: ANN001
    out, err = run("import_invocation_logs", str(mf.LOGS_JSONL), tenant="new-tenant")

    assert "Tenant 'new-tenant' did not exist; created it." in out
    assert "11 rows read, 8 loaded, 0 skipped, 3 rejected" in out
    assert f"rejected {mf.LOGS_JSONL}:7: requestId is missing" in err


def test_import_invocation_logs_lists_the_skipped_s3_objects(tenant: Tenant, log_bucket: Path) -> None:
    out, _ = run("import_invocation_logs", str(log_bucket), tenant=tenant.slug)

    assert "3 rows read, 3 loaded, 3 skipped, 0 rejected" in out
    assert "skipped 2: large-payload data object (file)" in out
    assert "skipped 1: permission-check object (file)" in out


def test_import_invocation_logs_twice_counts_duplicates(tenant: Tenant) -> None:
    run("import_invocation_logs", str(mf.LOGS_JSONL), tenant=tenant.slug)

    out, _ = run("import_invocation_logs", str(mf.LOGS_JSONL), tenant=tenant.slug)

    assert "11 rows read, 0 loaded, 8 skipped, 3 rejected" in out
    assert "skipped 8: already loaded (same requestId)" in out


def test_import_invocation_logs_fails_when_the_path_does_not_exist(tenant: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file or directory"):
        run("import_invocation_logs", str(tmp_path / "nope.jsonl"), tenant=tenant.slug)


def test_import_invocation_logs_fails_when_the_only_file_is_unreadable(tenant: Tenant, tmp_path: Path) -> None:
    broken = tmp_path / "20260603T140102Z_0000.json.gz"
    broken.write_bytes(b"not gzip")

    with pytest.raises(CommandError, match="cannot read"):
        run("import_invocation_logs", str(broken), tenant=tenant.slug)


# --- spend_report --------------------------------------------------------------------------------


@pytest.fixture
def loaded(tenant: Tenant) -> Tenant:
    run("import_cur", str(mf.CUR_JUNE_CSV), tenant=tenant.slug)
    run("import_invocation_logs", str(mf.LOGS_JSONL), tenant=tenant.slug)
    return tenant


def report_json(tenant: Tenant, *args: str) -> list[dict]:
    out, _ = run("spend_report", "--format", "json", "--tenant", tenant.slug, *args)
    return json.loads(out)


def test_spend_report_json_has_the_group_fields_and_every_number(loaded: Tenant) -> None:
    rows = report_json(loaded, "--group-by", "model_id,route")

    assert rows
    for row in rows:
        assert list(row) == ["model_id", "route", *NUMBER_COLUMNS, "token_source", "allocated_cost_usd"]


def test_spend_report_keeps_billed_and_estimated_dollars_apart(loaded: Tenant) -> None:
    rows = {r["model_id"]: r for r in report_json(loaded, "--group-by", "model_id")}

    sonnet = rows["anthropic.claude-sonnet-4-6"]
    assert Decimal(sonnet["billed_cost_usd"]) == SONNET_46_BILLED
    assert Decimal(sonnet["estimated_cost_usd"]) == SONNET_46_ESTIMATED
    assert sonnet["requests"] == 3
    # The group has requests, so its tokens are the requests' tokens (never billed + logged twice).
    assert (sonnet["input_tokens"], sonnet["output_tokens"]) == (1000 + 2000, 500 + 1000)
    assert (sonnet["cache_read_tokens"], sonnet["cache_write_tokens"]) == (2000 + 10000, 400)
    assert sonnet["token_source"] == "requests"
    unknown = rows[""]  # the tax line, the application profile and the unknown model
    assert unknown["unpriced_requests"] == 2
    assert Decimal(unknown["billed_cost_usd"]) == Decimal("0.42")
    assert Decimal(unknown["estimated_cost_usd"]) == 0


def test_spend_report_money_is_plain_decimal_text(loaded: Tenant) -> None:
    rows = {r["service_tier"]: r for r in report_json(loaded, "--group-by", "service_tier")}

    assert rows["provisioned"]["billed_cost_usd"] == "1452"  # 24 hours at $60.50, not "1.452E+3"
    assert rows["provisioned"]["estimated_cost_usd"] == "0"
    assert rows["batch"]["billed_cost_usd"] == "0.03"


def test_spend_report_money_with_trailing_zeros_is_not_written_in_exponent_form(tenant: Tenant) -> None:
    start = datetime(2026, 6, 3, tzinfo=UTC)
    for number, (model_id, cost) in enumerate([("amazon.nova-2-lite-v1:0", "1210"), ("amazon.nova-pro-v1:0", "100")]):
        SpendEvent.objects.create(
            tenant=tenant,
            record_kind="billed_line",
            cost_basis="billed",
            dedupe_key=f"cur:{number}",
            usage_start=start,
            usage_end=start,
            usage_date=start.date(),
            billing_period=date(2026, 6, 1),
            model_id=model_id,
            cost_usd=Decimal(cost),
        )

    rows = {r["model_id"]: r["billed_cost_usd"] for r in report_json(tenant)}
    out, _ = run("spend_report", "--format", "csv", "--tenant", tenant.slug)

    # 20 model-unit hours at $60.50, and $100: never "1.21E+3" or "1E+2".
    assert rows == {"amazon.nova-2-lite-v1:0": "1210", "amazon.nova-pro-v1:0": "100"}
    assert "E+" not in out


def test_spend_report_csv_has_the_header_and_one_line_per_group(loaded: Tenant) -> None:
    out, _ = run("spend_report", "--format", "csv", "--tenant", loaded.slug, "--group-by", "team")

    lines = list(csv.reader(io.StringIO(out)))
    assert lines[0] == ["team", *NUMBER_COLUMNS, "token_source", "allocated_cost_usd"]
    by_team = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    assert Decimal(by_team["mobile"]["billed_cost_usd"]) == Decimal("0.3")
    assert (
        Decimal(by_team["mobile"]["estimated_cost_usd"])
        == (2000 * Decimal("3.00") + 1000 * Decimal("15.00") + 10000 * Decimal("0.30")) / M
    )


def test_spend_report_rejects_an_unknown_group_by_field_and_lists_the_valid_ones(loaded: Tenant) -> None:
    with pytest.raises(CommandError) as caught:
        run("spend_report", "--tenant", loaded.slug, "--group-by", "team,colour")

    message = str(caught.value)
    assert "Unknown group-by field(s): colour" in message
    for valid in ("model_id", "team", "iam_principal", "usage_date"):
        assert valid in message


def test_spend_report_filters_by_start_and_end_date(loaded: Tenant) -> None:
    rows = {r["model_id"]: r for r in report_json(loaded, "--start", "2026-06-10", "--end", "2026-06-10")}

    # Only the two CUR lines of 10 June: Llama 3.3 input and Nova 2 Lite cache read; no requests that day.
    assert set(rows) == {"meta.llama3-3-70b-instruct-v1:0", "amazon.nova-2-lite-v1:0"}
    assert Decimal(rows["meta.llama3-3-70b-instruct-v1:0"]["billed_cost_usd"]) == Decimal("0.072")
    assert Decimal(rows["amazon.nova-2-lite-v1:0"]["billed_cost_usd"]) == Decimal("0.0033")
    assert rows["amazon.nova-2-lite-v1:0"]["cache_read_tokens"] == 40 * 1000


def test_spend_report_rejects_a_start_after_the_end(loaded: Tenant) -> None:
    with pytest.raises(CommandError, match="after"):
        run("spend_report", "--tenant", loaded.slug, "--start", "2026-06-10", "--end", "2026-06-01")


def test_spend_report_for_an_unknown_tenant_is_an_error(db) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="No tenant 'ghost'"):
        run("spend_report", "--tenant", "ghost")


def test_spend_report_never_includes_another_tenants_rows(tenant: Tenant, other_tenant: Tenant) -> None:
    run("import_invocation_logs", str(mf.LOGS_JSONL), tenant=tenant.slug)
    run("import_invocation_logs", str(mf.LOGS_JSONL), tenant=other_tenant.slug)
    run("import_cur", str(mf.CUR_JUNE_CSV), tenant=other_tenant.slug)

    mine = report_json(tenant, "--group-by", "cost_basis")

    assert [r["cost_basis"] for r in mine] == ["estimated"]
    assert mine[0]["requests"] == 8
    assert Decimal(mine[0]["billed_cost_usd"]) == 0


def test_spend_report_table_prints_both_totals_without_adding_them(loaded: Tenant) -> None:
    out, _ = run("spend_report", "--tenant", loaded.slug, "--group-by", "model_id")

    assert "billed $" in out and "estimated $" in out
    assert "(not added together)" in out.splitlines()[-1]


def test_spend_report_table_says_so_when_there_is_nothing(tenant: Tenant) -> None:
    out, _ = run("spend_report", "--tenant", tenant.slug)

    assert "No spend in this range." in out
