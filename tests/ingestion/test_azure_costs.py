"""Azure OpenAI cost exports (actual cost EA/MCA and FOCUS; CSV, gzip CSV, Parquet) into the ledger."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.parsers.azure_meters import parse_meter, parse_unit
from ingestion.providers_import import import_azure_costs
from ingestion.services import import_cur
from tests.fixtures import make_fixtures as mf
from tests.ingestion.provider_support import AZURE, add_platform_prices, csv_as_parquet, read_csv, write_csv

EA = AZURE / "actual_cost_ea.csv"
MCA = AZURE / "actual_cost_mca.csv"
FOCUS = AZURE / "focus.csv"
M = Decimal(1_000_000)
# Azure OpenAI lines of actual_cost_ea.csv, by hand: gpt-4o input, output, cached input; gpt-4o-mini batch
# input; a PTU day; an unknown model. The VM line and the DeepSeek (Foundry) line are other services.
EA_TOTAL = Decimal("3.12625") + Decimal("1.0") + Decimal("0.5") + Decimal("0.15") + Decimal("24.0") + Decimal("0.5")
MCA_TOTAL_USD = Decimal("6.6") + Decimal("2.2") + Decimal("0.0825")  # costInUsd, not the EUR column


@pytest.fixture(autouse=True)
def _prices(db) -> None:  # noqa: ANN001
    add_platform_prices()


def billed(tenant: Tenant) -> Decimal:
    rows = SpendEvent.objects.filter(tenant=tenant, source="azure_openai", record_kind="billed_line")
    return sum((r.cost_usd for r in rows), Decimal(0))


def test_meters_name_model_token_type_and_deployment_type() -> None:
    meter = parse_meter("gpt-4o-0806-Inp-glbl Tokens")
    assert (meter.model, meter.version, meter.token_type, meter.service_tier, meter.route) == (
        "gpt-4o",
        "0806",
        "input",
        "standard",
        "global",
    )
    assert parse_meter("gpt 4o 1120 cached Inp glbl").token_type == "cache_read"
    assert parse_meter("gpt-4o-mini-0718-Batch-Inp-glbl Tokens").service_tier == "batch"
    assert parse_meter("gpt 4.5 0227 cached Inp DZone").route == "geo"
    assert parse_meter("gpt-35-turbo-4k-Input-regional").model == "gpt-35-turbo"
    assert parse_meter("text-embedding-3-small Inp regnl Tokens").model == "text-embedding-3-small"
    assert parse_meter("Provisioned Managed Global Units").category == "provisioned_throughput"


def test_units_are_read_never_assumed() -> None:
    assert parse_unit("1K").per_quantity == 1000
    assert parse_unit("1M").per_quantity == 1_000_000
    assert parse_unit("1000 Tokens").per_quantity == 1000
    assert parse_unit("1 Hour").kind == "hours"
    for unclear in ("1", "Units", "1 GB", ""):
        assert parse_unit(unclear).per_quantity is None


def test_it_loads_only_azure_openai_lines_of_an_ea_export(tenant: Tenant) -> None:
    run = import_azure_costs(tenant=tenant, paths=[EA])

    assert run.status == ImportRun.Status.PARTIAL
    assert (run.rows_read, run.rows_loaded, run.rows_skipped, run.rows_rejected) == (10, 6, 2, 2)
    assert run.skipped_reasons == {"not Azure OpenAI (Virtual Machines)": 1, "not Azure OpenAI (Foundry Models)": 1}
    assert billed(tenant) == EA_TOTAL
    rows = SpendEvent.objects.filter(tenant=tenant)
    assert {r.source for r in rows} == {"azure_openai"}
    assert {(r.record_kind, r.cost_basis, r.account_id) for r in rows} == {("billed_line", "billed", "")}


def test_bad_rows_are_named_by_file_and_line(tenant: Tenant) -> None:
    run = import_azure_costs(tenant=tenant, paths=[EA])

    reasons = {(s["file"], s["line"]): s["reason"] for s in run.rejected_samples}
    assert reasons == {
        (str(EA), 10): "Date='13/45/2026' is not a date",
        (str(EA), 11): "Quantity='abc' is not a number",
    }


def test_tokens_come_from_quantity_times_the_unit_and_are_priced_from_the_catalog(tenant: Tenant) -> None:
    import_azure_costs(tenant=tenant, paths=[EA])

    line = SpendEvent.objects.get(tenant=tenant, usage_type="gpt-4o-0806-Inp-glbl Tokens")
    assert line.input_tokens == 1_250_500  # 1250.5 x 1K
    assert line.model_id == "azure_openai/gpt-4o"
    assert (line.model_family, line.model_tier) == ("gpt-4o", "flagship")
    assert line.catalog_cost_usd == Decimal(1_250_500) * Decimal("2.50") / M
    assert line.unit == "1K tokens"
    assert (line.route, line.region, line.token_type) == ("global", "eastus", "input")
    cached = SpendEvent.objects.get(tenant=tenant, usage_type="gpt 4o 0806 cached Inp glbl")
    assert cached.cache_read_tokens == 400_000
    batch = SpendEvent.objects.get(tenant=tenant, usage_type__startswith="gpt-4o-mini-0718-Batch")
    assert (batch.input_tokens, batch.service_tier) == (2_000_000, "batch")
    assert batch.catalog_cost_usd == Decimal(2_000_000) * Decimal("0.075") / M
    ptu = SpendEvent.objects.get(tenant=tenant, usage_type="Provisioned Managed Global Units")
    assert (ptu.service_tier, ptu.units, ptu.unit, ptu.cost_usd) == (
        "provisioned",
        Decimal(24),
        "PTU hours",
        Decimal(24),
    )


def test_team_application_and_deployment_come_from_tags_and_resource_id(tenant: Tenant) -> None:
    import_azure_costs(tenant=tenant, paths=[EA])

    line = SpendEvent.objects.get(tenant=tenant, usage_type="gpt-4o-0806-Inp-glbl Tokens")
    assert (line.team, line.application) == ("search", "copilot")
    assert line.tags["azure/deployment"] == "chat-prod"
    assert line.tags["azure/resource_group"] == "rg-ai"
    assert line.tags["azure/subscription_id"] == "9f1c2d3e-0000-4000-8000-000000000001"
    assert line.inference_profile_arn.endswith("/accounts/acme-aoai/deployments/chat-prod")
    tagged = SpendEvent.objects.get(tenant=tenant, usage_type__startswith="gpt-4o-mini-0718-Batch")
    assert tagged.tags["azure/deployment"] == "batch-mini"  # from the deployment tag
    assert tagged.team == "data-science"


def test_an_unknown_model_keeps_its_billed_dollars_and_is_shown_unpriced(tenant: Tenant) -> None:
    import_azure_costs(tenant=tenant, paths=[EA])

    line = SpendEvent.objects.get(tenant=tenant, usage_type__startswith="gpt-9-turbo-preview")
    assert (line.model_id, line.model_ref) == ("", "gpt-9-turbo-preview")
    assert line.unpriced is True
    assert line.cost_usd == Decimal("0.5")  # billed, never $0
    assert line.catalog_cost_usd is None
    assert line.input_tokens == 10_000


def test_an_mca_export_is_summed_from_its_usd_column(tenant: Tenant) -> None:
    run = import_azure_costs(tenant=tenant, paths=[MCA])

    assert run.status == ImportRun.Status.SUCCEEDED
    assert billed(tenant) == MCA_TOTAL_USD
    line = SpendEvent.objects.get(tenant=tenant, usage_type="gpt-4o-mini-0718-Inp-DZone Tokens")
    assert (line.input_tokens, line.route, line.region) == (500_000, "geo", "swedencentral")
    regional = SpendEvent.objects.get(tenant=tenant, usage_type="gpt 4.1 0414 Inp regnl Tokens")
    assert (regional.input_tokens, regional.route, regional.team) == (3_000_000, "in_region", "support")


def test_a_non_usd_file_without_the_usd_column_is_refused_naming_the_column(tenant: Tenant, tmp_path: Path) -> None:
    columns, rows = read_csv(MCA)
    columns.remove("costInUsd")
    for row in rows:
        del row["costInUsd"]
    path = write_csv(tmp_path / "eur.csv", columns, rows)

    run = import_azure_costs(tenant=tenant, paths=[path])

    assert run.status == ImportRun.Status.FAILED
    assert "billed in EUR" in run.message and "CostInUSD (MCA: costInUsd)" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


def test_a_focus_export_loads_and_flags_a_unit_it_cannot_read(tenant: Tenant) -> None:
    run = import_azure_costs(tenant=tenant, paths=[FOCUS])

    assert (run.rows_read, run.rows_loaded, run.rows_skipped, run.rows_flagged) == (4, 3, 1, 1)
    assert billed(tenant) == Decimal("5.0") + Decimal("3.0") + Decimal("1.2")
    inp = SpendEvent.objects.get(tenant=tenant, usage_date="2026-08-10", token_type="input")
    assert (inp.input_tokens, inp.team, inp.application, inp.region) == (
        2_000_000,
        "marketing",
        "campaign-writer",
        "eastus2",
    )
    assert inp.tags["azure/deployment"] == "writer-4o"
    odd = SpendEvent.objects.get(tenant=tenant, usage_date="2026-08-11")
    assert odd.input_tokens == 0 and odd.cost_usd == Decimal("1.2")
    assert "'1 GB' is not a unit of tokens" in odd.data_issue


@pytest.mark.parametrize("fmt", ["csv.gz", "parquet"])
def test_gzip_and_parquet_exports_load_the_same_lines(tenant: Tenant, tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        path = csv_as_parquet(EA, tmp_path / "part-0.parquet")
    else:
        columns, rows = read_csv(EA)
        path = write_csv(tmp_path / "part-0.csv.gz", columns, rows, gz=True)

    run = import_azure_costs(tenant=tenant, paths=[tmp_path])

    assert (run.rows_loaded, run.rows_rejected) == (6, 2)
    assert billed(tenant) == EA_TOTAL
    assert path.exists()


def test_importing_the_same_files_again_changes_nothing(tenant: Tenant) -> None:
    import_azure_costs(tenant=tenant, paths=[EA, MCA])
    keys = set(SpendEvent.objects.filter(tenant=tenant).values_list("dedupe_key", flat=True))

    again = import_azure_costs(tenant=tenant, paths=[EA, MCA])

    assert (again.rows_loaded, again.rows_unchanged, again.rows_replaced) == (0, 9, 0)
    assert set(SpendEvent.objects.filter(tenant=tenant).values_list("dedupe_key", flat=True)) == keys
    assert billed(tenant) == EA_TOTAL + MCA_TOTAL_USD


def test_a_redelivered_month_replaces_that_months_rows_only(tenant: Tenant, tmp_path: Path) -> None:
    import_azure_costs(tenant=tenant, paths=[EA, MCA])
    columns, rows = read_csv(EA)
    restated = [r for r in rows if r["MeterName"] != "gpt-9-turbo-preview Inp glbl Tokens"]
    for row in restated:
        if row["MeterName"] == "gpt-4o-0806-Outp-glbl Tokens" and row["Date"] == "06/03/2026":
            row["CostInBillingCurrency"] = "0.9"

    run = import_azure_costs(tenant=tenant, paths=[write_csv(tmp_path / "june.csv", columns, restated)])

    assert (run.rows_loaded, run.rows_replaced, run.rows_unchanged) == (1, 2, 4)
    june = EA_TOTAL - Decimal("0.5") - Decimal("1.0") + Decimal("0.9")
    assert billed(tenant) == june + MCA_TOTAL_USD  # July untouched
    assert run.restatements == [
        {
            "billing_period": "2026-06",
            "before_usd": str(EA_TOTAL.quantize(Decimal("1e-10"))),
            "after_usd": str(june.quantize(Decimal("1e-10"))),
            "rows_removed": 2,
            "rows_added": 1,
        }
    ]


def test_the_import_is_audited(tenant: Tenant) -> None:
    run = import_azure_costs(tenant=tenant, paths=[EA])

    entry = AuditLog.objects.get(tenant=tenant, action="import.azure_openai")
    assert entry.target == f"import run {run.pk}"
    assert entry.details["loaded"] == 6


def test_the_command_prints_counts_and_rejected_lines(tenant: Tenant) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_azure_costs", str(EA), tenant=tenant.slug, stdout=out, stderr=err)

    assert "Azure OpenAI import #" in out.getvalue()
    assert "10 rows read, 6 loaded, 2 skipped, 2 rejected" in out.getvalue()
    assert f"rejected {EA}:10: Date='13/45/2026' is not a date" in err.getvalue()


def test_the_command_fails_on_a_file_that_is_not_a_cost_export(tenant: Tenant, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("a,b\n1,2\n")

    with pytest.raises(CommandError, match="not an Azure cost export"):
        call_command("import_azure_costs", str(path), tenant=tenant.slug, stdout=io.StringIO(), stderr=io.StringIO())


def test_a_cur_delivery_of_the_same_month_keeps_the_azure_rows(tenant: Tenant) -> None:
    """A CUR delivery replaces Bedrock's bill lines of its month, never another provider's."""
    import_azure_costs(tenant=tenant, paths=[EA])  # June 2026
    import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV])  # June 2026 too

    assert billed(tenant) == EA_TOTAL
