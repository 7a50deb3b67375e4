"""The FOCUS export of a ledger holding all five platforms (tests/exports/platforms_ledger.py): each platform's
rows carry its own identity, BilledCost per platform equals the ledger's billed dollars of that source, the
`source` filter on the service, command, page and API, outsiders still 404, and the official validator's
mandatory rules pass (same accepted failures as the Bedrock-only exports)."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from connections.models import AuditLog, Tenant
from finops.exports.columns import COLUMNS
from finops.exports.services import ExportBadRequest, ExportNotFound, focus_export
from tests.exports import focus_validator as fv
from tests.exports.conftest import JUNE
from tests.exports.platforms_ledger import (
    ANTHROPIC_ORG,
    AZURE_EA,
    GCP_JSONL,
    OPENAI_ORG,
    PROVIDERS,
    billed_by_source,
    load_five_platforms,
)

API = "/api/v1/exports/{slug}/focus"
# ProviderName of each source, as this test expects it (Bedrock's is AWS's own in CUR; the others the brief's).
PROVIDER_OF = {
    "bedrock": "Amazon Web Services",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "azure_openai": "Microsoft",
    "vertex": "Google Cloud",
}
SOURCE_OF = {v: k for k, v in PROVIDER_OF.items()}


@pytest.fixture
def five(tenant: Tenant) -> Tenant:
    return load_five_platforms(tenant)


def read(data: bytes | Path) -> list[dict[str, str]]:
    text = data.read_text(encoding="utf-8") if isinstance(data, Path) else data.decode()
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == list(COLUMNS)
    return list(reader)


def export(tenant: Tenant, tmp_path: Path, **kwargs) -> list[dict[str, str]]:  # noqa: ANN003
    out = tmp_path / "focus.csv"
    focus_export(tenant=tenant, period=JUNE, fmt="csv", output_path=out, **kwargs)
    return read(out)


def by_platform(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        grouped.setdefault(SOURCE_OF[row["ProviderName"]], []).append(row)
    return grouped


def totals(rows: list[dict[str, str]]) -> dict[str, Decimal]:
    return {s: sum((Decimal(r["BilledCost"]) for r in rs), Decimal(0)) for s, rs in by_platform(rows).items()}


def test_billed_cost_per_platform_is_the_ledger_s_billed_dollars_of_that_source(five: Tenant, tmp_path: Path) -> None:
    rows = export(five, tmp_path)
    expected = billed_by_source(five)
    assert set(expected) == set(PROVIDER_OF)  # the ledger holds all five
    assert totals(rows) == expected


def test_each_platform_s_rows_carry_its_own_identity(five: Tenant, tmp_path: Path) -> None:
    rows = by_platform(export(five, tmp_path))
    identity = ("InvoiceIssuerName", "ServiceCategory", "ServiceSubcategory", "SubAccountType", "BillingAccountId")

    def seen(source: str, *columns: str) -> set[tuple[str, ...]]:
        return {
            tuple(r[c] for c in columns) for r in rows[source] if r["SubAccountId"] or "SubAccountType" not in columns
        }

    assert seen("openai", *identity, "ServiceName", "PublisherName") == {
        ("OpenAI", "AI and Machine Learning", "Generative AI", "Project", OPENAI_ORG, "OpenAI API", "OpenAI")
    }
    assert {r["SubAccountId"] for r in rows["openai"]} == {"proj_alpha", "proj_beta"}
    assert seen("anthropic", *identity, "ServiceName", "PublisherName") == {
        ("Anthropic", "AI and Machine Learning", "Generative AI", "Workspace", ANTHROPIC_ORG, "Claude API", "Anthropic")
    }
    # Anthropic's default workspace comes without an id: no sub-account rather than a made-up one
    assert {r["SubAccountId"] for r in rows["anthropic"]} == {"wrkspc_01xyz", ""}
    columns = ("InvoiceIssuerName", "PublisherName", "ServiceName", "ServiceSubcategory", "SubAccountType")
    azure = {tuple(r[c] for c in columns) for r in rows["azure_openai"]}
    assert azure == {("Microsoft", "Microsoft", "Azure AI Services", "AI Platforms", "Subscription")}
    with AZURE_EA.open(encoding="utf-8", newline="") as handle:
        subscriptions = {
            r["SubscriptionId"] for r in csv.DictReader(handle) if r["MeterCategory"] != "Virtual Machines"
        }
    assert {r["SubAccountId"] for r in rows["azure_openai"]} <= subscriptions
    gcp = [json.loads(line) for line in GCP_JSONL.read_text(encoding="utf-8").splitlines() if line.strip()]
    vertex = rows["vertex"]
    assert {(r["SubAccountId"], r["SubAccountName"], r["SubAccountType"]) for r in vertex} == {
        ("acme-ai-prod", "Acme AI prod", "Project")
    }
    assert {r["BillingAccountId"] for r in vertex} == {g["billing_account_id"] for g in gcp}
    assert {r["SkuId"] for r in vertex if r["SkuId"]} <= {f"VertexAI:{g['sku']['id']}" for g in gcp}
    assert {r["ServiceName"] for r in vertex} <= {g["service"]["description"] for g in gcp}
    # Claude on Vertex AI: sold by Google, published by its developer
    claude = [r for r in vertex if "claude" in r["ChargeDescription"].lower()]
    assert claude and {(r["InvoiceIssuerName"], r["PublisherName"]) for r in claude} == {("Google Cloud", "Anthropic")}


def test_no_aws_identity_leaks_onto_other_platforms_rows(five: Tenant, tmp_path: Path) -> None:
    rows = by_platform(export(five, tmp_path))
    others = [r for source, rs in rows.items() if source != "bedrock" for r in rs]
    assert others
    assert not [r for r in others if r["SkuId"].startswith("AmazonBedrock")]
    assert not [r for r in others if "Amazon" in r["ServiceName"] or "Amazon" in r["ChargeDescription"]]
    assert "AWS Account" not in {r["SubAccountType"] for r in others}
    # regions as delivered, never an AWS display name
    assert {(r["RegionId"], r["RegionName"]) for r in others if r["RegionId"]} == {
        ("eastus", "eastus"),
        ("swedencentral", "swedencentral"),
        ("us-central1", "us-central1"),
    }
    assert {r["ProviderName"] for r in rows["bedrock"]} == {"Amazon Web Services"}


def test_a_cost_report_line_is_priced_over_the_tokens_its_usage_reports(five: Tenant, tmp_path: Path) -> None:
    """OpenAI's costs give dollars only: the line's quantity is the usage API's tokens of the same project, day,
    model and token type (here counted from the fixture pages)."""
    rows = by_platform(export(five, tmp_path))
    uncached = 0
    for name in ("usage_completions_page1.json", "usage_completions_page2.json"):
        for bucket in json.loads((PROVIDERS / "openai" / name).read_text(encoding="utf-8"))["data"]:
            for r in bucket["results"]:
                if r["project_id"] == "proj_alpha" and r["model"] == "gpt-4o-2024-08-06" and not r.get("batch"):
                    uncached += r["input_tokens"] - r["input_cached_tokens"]
    line = next(r for r in rows["openai"] if r["SkuId"] == "OpenAI:gpt-4o-2024-08-06, input")
    assert Decimal(line["ConsumedQuantity"]) == uncached and line["ConsumedUnit"] == "Tokens"
    assert Decimal(line["PricingQuantity"]) == Decimal(uncached) / 1_000_000
    assert line["PricingUnit"] == "1000000 Tokens" and line["SkuMeter"] == "Input Tokens"
    assert Decimal(line["ContractedUnitPrice"]) * Decimal(line["PricingQuantity"]) == Decimal(line["BilledCost"])


@pytest.mark.parametrize("sources", [["openai"], ["azure_openai", "vertex"], ["bedrock"], ["anthropic"]])
def test_the_source_filter_exports_those_platforms_only(five: Tenant, tmp_path: Path, sources: list[str]) -> None:
    rows = export(five, tmp_path, sources=sources)
    ledger = billed_by_source(five)
    assert totals(rows) == {s: ledger[s] for s in sources}
    entry = AuditLog.objects.get(action="export.focus")
    assert entry.details["sources"] == sources
    assert entry.target == f"focus-1.2-acme-2026-06-{'-'.join(sources)}.csv"


def test_an_unknown_source_or_one_without_lines_is_explained(five: Tenant, tmp_path: Path) -> None:
    with pytest.raises(ExportBadRequest, match="Unknown source 'aws'.*bedrock, openai"):
        focus_export(tenant=five, period=JUNE, fmt="csv", output_path=tmp_path / "x.csv", sources=["aws"])
    with pytest.raises(ExportNotFound, match="from openai for 2026-07"):
        focus_export(
            tenant=five, period=JUNE.replace(month=7), fmt="csv", output_path=tmp_path / "x.csv", sources=["openai"]
        )


def test_the_command_takes_sources(five: Tenant, tmp_path: Path) -> None:
    out = tmp_path / "june.csv"
    stdout = io.StringIO()
    call_command("export_focus", "--tenant", "acme", "--period", "2026-06", "--output", str(out),
                 "--source", "anthropic", "--source", "vertex", stdout=stdout)  # fmt: skip
    ledger = billed_by_source(five)
    assert totals(read(out)) == {"anthropic": ledger["anthropic"], "vertex": ledger["vertex"]}
    text = stdout.getvalue()
    assert "from anthropic, vertex for 2026-06" in text
    assert f"Ledger billed total: {ledger['anthropic'] + ledger['vertex']} USD" in text
    with pytest.raises(CommandError, match="invalid choice: 'aws'"):
        call_command("export_focus", "--tenant", "acme", "--period", "2026-06", "--output", str(out), "--source", "aws")


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_the_api_and_the_page_download_filter_by_source(five: Tenant, viewer) -> None:  # noqa: ANN001
    client = _client(viewer)
    ledger = billed_by_source(five)
    api = client.get(API.format(slug="acme"), {"period": "2026-06", "source": "openai,azure_openai"})
    assert api.status_code == 200
    assert totals(read(b"".join(api.streaming_content))) == {s: ledger[s] for s in ("openai", "azure_openai")}
    page = client.get(
        reverse("exports-focus", kwargs={"tenant_slug": "acme"}), {"period": "2026-06", "source": "vertex"}
    )
    assert page.status_code == 200
    assert 'filename="focus-1.2-acme-2026-06-vertex.csv"' in page["Content-Disposition"]
    assert totals(read(b"".join(page.streaming_content))) == {"vertex": ledger["vertex"]}
    bad = client.get(API.format(slug="acme"), {"period": "2026-06", "source": "aws"})
    assert bad.status_code == 400 and "Unknown source 'aws'" in bad.json()["detail"]


def test_the_page_filters_its_periods_and_links_by_platform(five: Tenant, viewer) -> None:  # noqa: ANN001
    client = _client(viewer)
    url = reverse("exports", kwargs={"tenant_slug": "acme"})
    html = client.get(url).content.decode()
    for name in ("Amazon Bedrock", "OpenAI", "Anthropic", "Azure OpenAI", "Vertex AI"):
        assert f">{name}</option>" in html
    total = sum(billed_by_source(five).values(), Decimal(0))
    assert f"${total:,.2f}" in html
    filtered = client.get(url, {"source": "anthropic"}).content.decode()
    assert "?period=2026-06&amp;format=csv&amp;source=anthropic" in filtered
    assert f"${billed_by_source(five)['anthropic']:,.2f}" in filtered
    assert 'value="anthropic" selected' in filtered
    assert client.get(url, {"source": "aws"}).status_code == 400


def test_outsiders_get_404_with_or_without_a_source(five: Tenant, outsider) -> None:  # noqa: ANN001
    client = _client(outsider)
    assert client.get(reverse("exports", kwargs={"tenant_slug": "acme"}), {"source": "openai"}).status_code == 404
    url = reverse("exports-focus", kwargs={"tenant_slug": "acme"})
    assert client.get(url, {"period": "2026-06", "source": "openai"}).status_code == 404
    assert client.get(API.format(slug="acme"), {"period": "2026-06", "source": "vertex"}).status_code == 404
    assert not AuditLog.objects.filter(action="export.focus").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_five_platform_export_passes_every_mandatory_rule_of_the_focus_validator(
    five: Tenant, tmp_path: Path, fmt: str
) -> None:
    reason = fv.missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)
    data = tmp_path / f"focus-2026-06.{fmt}"
    result = focus_export(tenant=five, period=JUNE, fmt=fmt, output_path=data)
    assert result.billed_total == result.ledger_total == sum(billed_by_source(five).values(), Decimal(0))
    report = fv.run_validator(data, workdir=tmp_path / "validator")
    failures = fv.unaccepted_mandatory_failures(report)
    print(f"\n{data.name}: {report.summary}")
    for rule_id, why in sorted(report.accepted.items()):
        print(f"  accepted {rule_id}: {why}")
    assert not failures, fv.describe(failures, report)
    assert report.results["BilledCost-C-000-M"].status == "passed"
    assert report.results["SubAccountType-C-000-C"].status == "passed"
    assert report.count("passed") > 300
