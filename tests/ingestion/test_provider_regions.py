"""Region codes are checked by their own platform's pattern: AWS for Bedrock rows (unchanged), ARM location
names for Azure OpenAI, Google Cloud regions for Vertex AI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.providers_import import import_azure_costs, import_gcp_billing
from ingestion.validation import AZURE_REGIONS, GCP_REGIONS, REGION_RULES, validate_event
from tests.ingestion.provider_support import AZURE, GCP, add_platform_prices, read_csv, write_csv


def event(**fields: object) -> dict[str, object]:
    start = datetime(2026, 6, 3, tzinfo=UTC)
    return {
        "usage_start": start,
        "usage_end": start,
        "usage_date": date(2026, 6, 3),
        "billing_period": date(2026, 6, 1),
        "tags": {},
        **fields,
    }


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "us-gov-west-1"])
def test_aws_regions_still_pass_by_default(region: str) -> None:
    assert validate_event(event(region=region, inference_region=region))["region"] == region


@pytest.mark.parametrize("region", ["eastus", "us-central1", "global"])
def test_by_default_a_region_must_be_an_aws_one(region: str) -> None:
    with pytest.raises(ValueError, match="is not an AWS region code"):
        validate_event(event(region=region))


@pytest.mark.parametrize("region", ["eastus", "swedencentral", "eastus2", "westeurope"])
def test_azure_regions_pass_the_azure_pattern(region: str) -> None:
    assert validate_event(event(region=region), regions=AZURE_REGIONS)["region"] == region


@pytest.mark.parametrize("region", ["us-east-1", "east us", "EastUS", "e"])
def test_the_azure_pattern_refuses_what_is_not_an_arm_location(region: str) -> None:
    with pytest.raises(ValueError, match="ResourceLocation .* is not an Azure region name"):
        validate_event(event(region=region), regions=AZURE_REGIONS, labels={"region": "ResourceLocation"})


@pytest.mark.parametrize("region", ["us-central1", "europe-west4", "global", "northamerica-northeast1", "us", "nam4"])
def test_google_cloud_regions_pass_the_gcp_pattern(region: str) -> None:
    assert validate_event(event(region=region), regions=GCP_REGIONS)["region"] == region


@pytest.mark.parametrize("region", ["us-central1-a", "us-east-1", "us central1", "europe-west"])
def test_the_gcp_pattern_refuses_zones_aws_codes_and_garbage(region: str) -> None:
    with pytest.raises(ValueError, match="location.region .* is not a Google Cloud region"):
        validate_event(event(region=region), regions=GCP_REGIONS, labels={"region": "location.region"})


def test_each_platform_has_its_rule() -> None:
    assert REGION_RULES["azure_openai"] is AZURE_REGIONS and REGION_RULES["vertex"] is GCP_REGIONS
    assert REGION_RULES["bedrock"].pattern.match("us-east-1")


@pytest.fixture
def priced(db) -> None:  # noqa: ANN001
    add_platform_prices()


def test_an_azure_line_with_an_aws_region_is_rejected_by_file_and_line(
    tenant: Tenant, tmp_path: Path, priced: None
) -> None:
    columns, rows = read_csv(AZURE / "actual_cost_mca.csv")
    rows[1]["resourceLocation"] = "us-east-1"  # the file's line 3 (line 1 is the header)
    path = write_csv(tmp_path / "mca.csv", columns, rows)

    run = import_azure_costs(tenant=tenant, paths=[path])

    assert run.rows_rejected == 1
    assert run.rejected_samples[0]["file"] == str(path) and run.rejected_samples[0]["line"] == 3
    assert "ResourceLocation 'us-east-1' is not an Azure region name" in run.rejected_samples[0]["reason"]
    # The others load with their ARM location (the fixture's rows are all in swedencentral).
    loaded = SpendEvent.objects.filter(tenant=tenant, source="azure_openai")
    assert loaded.count() == len(rows) - 1
    assert set(loaded.values_list("region", flat=True)) == {"swedencentral"}


def test_a_vertex_line_in_a_zone_is_rejected_and_a_global_one_loads(
    tenant: Tenant, tmp_path: Path, priced: None
) -> None:
    lines = (GCP / "billing_export.jsonl").read_text().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["location"]["region"] = "us-central1-a"
    second["location"] = {"location": "global", "country": None, "region": None, "zone": None}
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join([json.dumps(first), json.dumps(second), *lines[2:]]) + "\n")

    run = import_gcp_billing(tenant=tenant, paths=[path])

    reasons = {(s["line"], s["reason"]) for s in run.rejected_samples}
    assert (1, "location.region 'us-central1-a' is not a Google Cloud region (like us-central1, europe-west4 "
               "or global)") in reasons  # fmt: skip
    sku = second["sku"]["description"]
    assert SpendEvent.objects.get(tenant=tenant, source="vertex", usage_type=sku).region == "global"
