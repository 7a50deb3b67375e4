"""The FOCUS export of a real ledger (fixtures loaded by the importers): BilledCost sums to the invoice, the
command writes CSV and Parquet that read back, errors are clear, and every export is audited."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from connections.models import AuditLog, AwsConnection, Tenant
from finops.exports.columns import COLUMNS
from finops.exports.selectors import billed_periods
from finops.exports.services import ExportBadRequest, ExportNotFound, focus_export
from finops.ledger.models import SpendEvent
from ingestion.services import import_cur
from tests.exports.conftest import (
    AUGUST,
    JUNE,
    JUNE_CSV,
    JUNE_RESTATED_CSV,
    SEPTEMBER,
    SEPTEMBER_CSV,
    file_billed,
    ledger_billed,
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(COLUMNS)
        return list(reader)


def billed_sum(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))


@pytest.mark.parametrize(("period", "source"), [(JUNE, JUNE_CSV), (SEPTEMBER, SEPTEMBER_CSV)])
def test_billed_cost_sums_to_the_invoice(billed_ledger: Tenant, tmp_path: Path, period, source: Path) -> None:  # noqa: ANN001
    out = tmp_path / "focus.csv"
    result = focus_export(tenant=billed_ledger, period=period, fmt="csv", output_path=out)
    rows = read_csv(out)
    expected = ledger_billed(billed_ledger, period)
    assert billed_sum(rows) == expected == result.billed_total == result.ledger_total
    # ... which is the delivered file's Bedrock lines, to the cent and beyond
    assert expected == file_billed(source)
    assert (
        result.rows
        == len(rows)
        == SpendEvent.objects.filter(tenant=billed_ledger, billing_period=period, record_kind="billed_line").count()
    )


def test_credits_refunds_discounts_and_tax_are_in_the_export_with_their_categories(
    billed_ledger: Tenant, tmp_path: Path
) -> None:
    out = tmp_path / "sept.csv"
    focus_export(tenant=billed_ledger, period=SEPTEMBER, fmt="csv", output_path=out)
    rows = read_csv(out)
    by_type = {}
    for r in rows:
        by_type.setdefault(r["x_LineItemType"], []).append(r)
    assert [r["ChargeCategory"] for r in by_type["Tax"]] == ["Tax"]
    assert [Decimal(r["BilledCost"]) for r in by_type["Tax"]] == [Decimal("0.12")]
    assert [(r["ChargeCategory"], Decimal(r["BilledCost"])) for r in by_type["Credit"]] == [("Credit", Decimal(-1))]
    assert [r["ChargeCategory"] for r in by_type["EdpDiscount"]] == ["Adjustment"]
    refunds = sorted(by_type["Refund"], key=lambda r: r["ChargePeriodStart"])
    # The refund of August usage corrects an invoiced period; the one of September usage does not.
    assert [(r["ChargeCategory"], r["ChargeClass"], r["ChargePeriodStart"]) for r in refunds] == [
        ("Usage", "Correction", "2026-08-20T00:00:00Z"),
        ("Usage", "", "2026-09-02T00:00:00Z"),
    ]
    assert {r["BillingPeriodStart"] for r in rows} == {"2026-09-01T00:00:00Z"}
    assert {r["BillingPeriodEnd"] for r in rows} == {"2026-10-01T00:00:00Z"}
    usage = [r for r in rows if r["x_LineItemType"] == "Usage"]
    assert {r["ServiceSubcategory"] for r in rows} == {"Generative AI"}
    assert {r["SkuMeter"] for r in usage} == {"Input Tokens", "Output Tokens", "Model Unit Hours"}
    provisioned = next(r for r in usage if r["SkuMeter"] == "Model Unit Hours")
    assert (provisioned["PricingQuantity"], provisioned["PricingUnit"]) == ("24.0", "Hours")
    assert provisioned["ResourceType"] == "Provisioned Model"
    batch = next(r for r in usage if r["x_ServiceTier"] == "batch")
    assert (batch["SubAccountId"], batch["BillingAccountId"]) == ("210987654321", "123456789012")
    assert batch["x_InputTokens"] == "1000000" and batch["ConsumedQuantity"] == "1000000.0"
    tagged = next(r for r in usage if r["x_TokenType"] == "input" and r["x_ServiceTier"] == "standard")
    assert json.loads(tagged["Tags"]) == {"user_application": "search-api", "user_team": "search"}


def test_a_restated_period_exports_the_restated_bill(billed_ledger: Tenant, tmp_path: Path) -> None:
    before = ledger_billed(billed_ledger, JUNE)
    import_cur(tenant=billed_ledger, paths=[JUNE_RESTATED_CSV])
    after = ledger_billed(billed_ledger, JUNE)
    assert after != before and after == file_billed(JUNE_RESTATED_CSV)
    out = tmp_path / "june.csv"
    result = focus_export(tenant=billed_ledger, period=JUNE, fmt="csv", output_path=out)
    rows = read_csv(out)
    assert billed_sum(rows) == after == result.billed_total
    assert len(rows) == 3


def test_reconciled_lines_carry_the_dollars_allocated_to_requests_outside_billed_cost(
    billed_ledger: Tenant, tmp_path: Path
) -> None:
    out = tmp_path / "aug.csv"
    focus_export(tenant=billed_ledger, period=AUGUST, fmt="csv", output_path=out)
    rows = read_csv(out)
    lines = SpendEvent.objects.filter(tenant=billed_ledger, billing_period=AUGUST, record_kind="billed_line")
    allocated = sum((e.allocated_cost_usd or Decimal(0) for e in lines), Decimal(0))
    assert allocated > 0
    assert sum((Decimal(r["x_AllocatedCost"] or 0) for r in rows), Decimal(0)) == allocated
    # the requests' estimates are not bill lines: no row for them, and BilledCost is the bill alone
    assert billed_sum(rows) == ledger_billed(billed_ledger, AUGUST)
    assert {r["x_CostBasis"] for r in rows} == {"billed"}


def test_an_export_is_audited(billed_ledger: Tenant, tmp_path: Path, tenant_admin) -> None:  # noqa: ANN001
    result = focus_export(
        tenant=billed_ledger, period=JUNE, fmt="parquet", output_path=tmp_path / "f.parquet", actor=tenant_admin
    )
    entry = AuditLog.objects.get(tenant=billed_ledger, action="export.focus")
    assert entry.actor == tenant_admin
    assert entry.target == "focus-1.2-acme-2026-06.parquet"
    assert entry.details["rows"] == result.rows
    assert Decimal(entry.details["billed_cost_usd"]) == ledger_billed(billed_ledger, JUNE)


def test_a_period_without_billed_data_is_refused_and_nothing_written(billed_ledger: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    with pytest.raises(ExportNotFound, match="2026-07.*2026-09, 2026-08, 2026-06"):
        focus_export(tenant=billed_ledger, period=JUNE.replace(month=7), fmt="csv", output_path=out)
    assert not out.exists()
    assert not AuditLog.objects.filter(action="export.focus").exists()
    with pytest.raises(ExportBadRequest, match="xlsx"):
        focus_export(tenant=billed_ledger, period=JUNE, fmt="xlsx", output_path=out)


def test_another_tenant_s_bill_is_never_in_the_export(
    billed_ledger: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    import_cur(tenant=other_tenant, paths=[SEPTEMBER_CSV])
    with pytest.raises(ExportNotFound):
        focus_export(tenant=other_tenant, period=JUNE, fmt="csv", output_path=tmp_path / "x.csv")
    focus_export(tenant=billed_ledger, period=SEPTEMBER, fmt="csv", output_path=tmp_path / "mine.csv")
    assert (
        len(read_csv(tmp_path / "mine.csv"))
        == SpendEvent.objects.filter(tenant=billed_ledger, billing_period=SEPTEMBER, record_kind="billed_line").count()
    )


def test_the_billing_account_is_the_connection_s_cur_payer(billed_ledger: Tenant, tmp_path: Path) -> None:
    AwsConnection.objects.create(
        tenant=billed_ledger, name="Acme org", account_id="123456789012", cur_payer_account_id="555555555555"
    )
    focus_export(tenant=billed_ledger, period=SEPTEMBER, fmt="csv", output_path=tmp_path / "s.csv")
    rows = read_csv(tmp_path / "s.csv")
    assert {(r["BillingAccountId"], r["BillingAccountName"]) for r in rows} == {("555555555555", "Acme org")}


def test_billed_periods_lists_each_period_with_its_lines_and_total(billed_ledger: Tenant) -> None:
    periods = billed_periods(tenant=billed_ledger)
    assert [p.period for p in periods] == [SEPTEMBER, AUGUST, JUNE]
    for p in periods:
        assert p.billed_usd == ledger_billed(billed_ledger, p.period)
        assert (
            p.lines
            == SpendEvent.objects.filter(
                tenant=billed_ledger, billing_period=p.period, record_kind="billed_line"
            ).count()
        )


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_writes_csv_and_prints_both_totals(billed_ledger: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "june.csv"
    stdout = io.StringIO()
    call_command("export_focus", tenant="acme", period="2026-06", output=str(out), stdout=stdout)
    rows = read_csv(out)
    expected = ledger_billed(billed_ledger, JUNE)
    text = stdout.getvalue()
    assert f"Wrote {len(rows)} FOCUS 1.2 rows for 2026-06" in text
    assert f"BilledCost total:    {expected}" in text
    assert f"Ledger billed total: {expected}" in text
    assert billed_sum(rows) == expected


def test_the_command_writes_parquet_with_focus_types(billed_ledger: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "sept.parquet"
    call_command("export_focus", "--tenant", "acme", "--period", "2026-09", "--output", str(out), "--format", "parquet",
                 stdout=io.StringIO())  # fmt: skip
    table = pq.read_table(out)
    assert table.column_names == list(COLUMNS)
    schema = {f.name: str(f.type) for f in table.schema}
    assert schema["BilledCost"].startswith("decimal128")
    assert schema["ChargePeriodStart"] in {"timestamp[s, tz=UTC]", "timestamp[ms, tz=UTC]"}  # Parquet keeps ms
    assert schema["BillingAccountId"] == "string"
    assert schema["x_InputTokens"] == "int64"
    billed = sum(table.column("BilledCost").to_pylist(), Decimal(0))
    assert billed == ledger_billed(billed_ledger, SEPTEMBER) == file_billed(SEPTEMBER_CSV)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tenant": "nope", "period": "2026-06"}, "No tenant 'nope'"),
        ({"tenant": "acme", "period": "2026-13"}, "not a billing period: use YYYY-MM"),
        ({"tenant": "acme", "period": "June"}, "not a billing period: use YYYY-MM"),
        ({"tenant": "acme", "period": "2026-07"}, "No billed \\(CUR\\) data for 2026-07"),
    ],
)
def test_the_command_says_what_is_wrong(billed_ledger: Tenant, tmp_path: Path, options: dict, message: str) -> None:
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError, match=message):
        call_command("export_focus", output=str(out), stdout=io.StringIO(), **options)
    assert not out.exists()


def test_the_command_refuses_a_folder_that_does_not_exist(billed_ledger: Tenant, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_focus", tenant="acme", period="2026-06", output=str(tmp_path / "no" / "x.csv"))
    with pytest.raises(CommandError, match="is a folder"):
        call_command("export_focus", tenant="acme", period="2026-06", output=str(tmp_path))
