"""Cloud Billing exports (JSON lines, flattened CSV, Parquet) into the ledger: Vertex AI lines and credits."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun
from ingestion.parsers.gcp_skus import parse_sku
from ingestion.providers_import import import_gcp_billing
from tests.ingestion.provider_support import GCP, add_platform_prices, jsonl_as_parquet, read_csv, write_csv

JSONL = GCP / "billing_export.jsonl"
FLAT = GCP / "billing_export_flat.csv"
M = Decimal(1_000_000)
# billing_export.jsonl by hand: Gemini 2.5 Pro input (gross 2.5, a -0.5 free-tier credit), output 1.5, cached
# input 0.1; Claude Sonnet 4.5 on Vertex 3.0; an unknown Gemini 0.7 (5 usage lines + 1 credit line). Compute
# Engine and a Vertex endpoint (not a generative model) are skipped; a row dated June 31st is rejected.
JSONL_GROSS = Decimal("2.5") + Decimal("1.5") + Decimal("0.1") + Decimal("3.0") + Decimal("0.7")
JSONL_NET = JSONL_GROSS - Decimal("0.5")
# billing_export_flat.csv: EUR, currency_conversion_rate 0.9 (USD = cost / rate): 0.9, 1.8 and a -0.18 credit.
FLAT_NET_USD = (Decimal("0.9") + Decimal("1.8") - Decimal("0.18")) / Decimal("0.9")


@pytest.fixture(autouse=True)
def _prices(db) -> None:  # noqa: ANN001
    add_platform_prices()


def billed(tenant: Tenant, **filters: object) -> Decimal:
    rows = SpendEvent.objects.filter(tenant=tenant, source="vertex", record_kind="billed_line", **filters)
    return sum((r.cost_usd for r in rows), Decimal(0))


def test_sku_descriptions_name_model_and_token_type() -> None:
    sku = parse_sku("Gemini 2.5 Pro Input Text Tokens")
    assert (sku.model, sku.token_type) == ("gemini-2.5-pro", "input")
    assert parse_sku("Gemini 2.0 Flash Cached Input Text Tokens").token_type == "cache_read"
    assert parse_sku("Gemini 2.5 Pro Batch Input Text Tokens").service_tier == "batch"
    assert parse_sku("Gemini 2.5 Pro Long Context Output Text Tokens").context == "long"
    claude = parse_sku("Claude Sonnet 4.5 Cache Write Input Tokens")
    assert (claude.model, claude.token_type) == ("claude-sonnet-4-5", "cache_write")
    assert parse_sku("Gemini 1.5 Pro Input Text Caching Storage").category == "other"


def test_it_loads_vertex_lines_and_each_credit_as_its_own_line(tenant: Tenant) -> None:
    run = import_gcp_billing(tenant=tenant, paths=[JSONL])

    assert run.status == ImportRun.Status.PARTIAL
    assert (run.rows_read, run.rows_loaded, run.rows_skipped, run.rows_rejected) == (8, 6, 2, 1)
    assert billed(tenant) == JSONL_NET
    assert billed(tenant, line_item_type="Usage") == JSONL_GROSS
    credit = SpendEvent.objects.get(tenant=tenant, line_item_type="Credit")
    assert credit.cost_usd == Decimal("-0.5")
    assert credit.input_tokens == 0 and credit.model_id == "vertex/gemini-2.5-pro"
    assert credit.operation == "FREE_TIER: Free tier"


def test_a_bad_row_is_named_by_file_and_line(tenant: Tenant) -> None:
    run = import_gcp_billing(tenant=tenant, paths=[JSONL])

    assert run.rejected_samples == [
        {
            "file": str(JSONL),
            "line": 8,
            "reason": "usage_start_time: '2026-06-31 00:00:00+00:00' is not an ISO-8601 time",
        }
    ]


def test_tokens_models_labels_and_projects(tenant: Tenant) -> None:
    import_gcp_billing(tenant=tenant, paths=[JSONL])

    line = SpendEvent.objects.get(tenant=tenant, usage_type="Gemini 2.5 Pro Input Text Tokens", line_item_type="Usage")
    assert (line.input_tokens, line.model_id, line.region) == (2_000_000, "vertex/gemini-2.5-pro", "us-central1")
    assert line.catalog_cost_usd == Decimal(2_000_000) * Decimal("1.25") / M
    assert (line.team, line.application) == ("search", "copilot")
    assert line.tags["gcp/project_id"] == "acme-ai-prod"
    cached = SpendEvent.objects.get(tenant=tenant, usage_type="Gemini 2.5 Pro Cached Input Text Tokens")
    assert cached.cache_read_tokens == 800_000
    assert cached.application == "Acme AI prod"  # no application label: the project
    claude = SpendEvent.objects.get(tenant=tenant, usage_type="Claude Sonnet 4.5 Input Tokens")
    assert (claude.model_id, claude.input_tokens) == ("vertex/claude-sonnet-4-5", 1_000_000)
    assert claude.catalog_cost_usd == Decimal("3.00")


def test_an_unknown_model_is_unpriced_with_its_billed_dollars(tenant: Tenant) -> None:
    import_gcp_billing(tenant=tenant, paths=[JSONL])

    line = SpendEvent.objects.get(tenant=tenant, usage_type="Gemini 9 Ultra Input Text Tokens")
    assert (line.model_id, line.model_ref, line.unpriced) == ("", "gemini-9-ultra", True)
    assert line.cost_usd == Decimal("0.7") and line.catalog_cost_usd is None


def test_a_csv_in_another_currency_is_converted_with_its_rate(tenant: Tenant) -> None:
    run = import_gcp_billing(tenant=tenant, paths=[FLAT])

    assert run.status == ImportRun.Status.SUCCEEDED
    assert billed(tenant) == FLAT_NET_USD
    line = SpendEvent.objects.get(tenant=tenant, usage_type="Gemini 2.5 Pro Output Text Tokens", line_item_type="Usage")
    assert (line.output_tokens, line.team, line.region) == (200_000, "marketing", "europe-west4")


def test_a_foreign_currency_without_the_rate_column_is_refused(tenant: Tenant, tmp_path: Path) -> None:
    columns, rows = read_csv(FLAT)
    columns.remove("currency_conversion_rate")
    for row in rows:
        del row["currency_conversion_rate"]

    run = import_gcp_billing(tenant=tenant, paths=[write_csv(tmp_path / "eur.csv", columns, rows)])

    assert run.status == ImportRun.Status.FAILED
    assert "billed in EUR" in run.message and "currency_conversion_rate" in run.message
    assert not SpendEvent.objects.filter(tenant=tenant).exists()


def test_parquet_loads_the_same_lines(tenant: Tenant, tmp_path: Path) -> None:
    good = [line for line in JSONL.read_text().splitlines() if "2026-06-31" not in line]
    source = tmp_path / "good.jsonl"
    source.write_text("\n".join(good) + "\n")
    path = jsonl_as_parquet(source, tmp_path / "export" / "part-0.parquet")

    run = import_gcp_billing(tenant=tenant, paths=[path])

    assert (run.rows_loaded, run.rows_rejected) == (6, 0)
    assert billed(tenant) == JSONL_NET


def test_reimport_changes_nothing_and_a_redelivered_month_replaces(tenant: Tenant, tmp_path: Path) -> None:
    import_gcp_billing(tenant=tenant, paths=[JSONL, FLAT])
    again = import_gcp_billing(tenant=tenant, paths=[JSONL, FLAT])
    assert (again.rows_loaded, again.rows_unchanged, again.rows_replaced) == (0, 9, 0)

    records = [json.loads(line) for line in JSONL.read_text().splitlines()]
    kept = [r for r in records if r["sku"]["description"] != "Gemini 9 Ultra Input Text Tokens"]
    june = tmp_path / "june.jsonl"
    june.write_text("".join(json.dumps(r) + "\n" for r in kept))
    restated = import_gcp_billing(tenant=tenant, paths=[june])

    assert (restated.rows_loaded, restated.rows_replaced) == (0, 1)
    assert billed(tenant) == JSONL_NET - Decimal("0.7") + FLAT_NET_USD  # July untouched


def test_the_command_prints_counts_and_the_import_is_audited(tenant: Tenant) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_gcp_billing", str(JSONL), tenant=tenant.slug, stdout=out, stderr=err)

    assert "Vertex AI import #" in out.getvalue()
    assert "8 rows read, 6 loaded, 2 skipped, 1 rejected" in out.getvalue()
    assert f"rejected {JSONL}:8:" in err.getvalue()
    assert AuditLog.objects.filter(tenant=tenant, action="import.vertex").count() == 1
