"""Parsed rows -> ledger fields, with a small hand-made catalog (no database): units, routes, tiers,
unpriced models and the tag mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connections.models import DEFAULT_TAG_MAPPING
from finops.ledger.catalog import Catalog, CatalogModel, PriceEntry
from ingestion.normalize import map_dimensions, token_scale
from ingestion.normalize_cur import normalize_cur_row
from ingestion.normalize_logs import normalize_log_record

M = Decimal(1_000_000)
SONNET = "anthropic.claude-sonnet-4-6"
NOVA = "amazon.nova-lite-v1:0"
OLD = "anthropic.claude-3-haiku-20240307-v1:0"


def _price(model_id: str, token_type: str, usd: str, *, route: str = "", tier: str = "standard") -> PriceEntry:
    return PriceEntry(
        model_id=model_id,
        token_type=token_type,
        route=route,
        service_tier=tier,
        region="",
        variant="",
        price_usd=Decimal(usd),
        unit="1M tokens",
        effective_from=date(2024, 1, 1),
        effective_to=None,
    )


@pytest.fixture
def catalog() -> Catalog:
    catalog = Catalog()
    catalog.add_model(
        CatalogModel(SONNET, "Claude Sonnet 4.6", "Anthropic", "claude-sonnet", "balanced", "ACTIVE", True),
        ["Claude4.6Sonnet", "Claude Sonnet 4.6 (Amazon Bedrock Edition)"],
    )
    catalog.add_model(CatalogModel(NOVA, "Nova Lite", "Amazon", "nova", "efficient", "ACTIVE", False), ["NovaLite"])
    catalog.add_model(
        CatalogModel(OLD, "Claude 3 Haiku", "Anthropic", "claude-haiku", "efficient", "LEGACY", False),
        ["Claude 3 Haiku (Amazon Bedrock Edition)"],
    )
    for token_type, regional, global_ in (
        ("input", "3.30", "3.00"),
        ("output", "16.50", "15.00"),
        ("cache_read", "0.33", "0.30"),
        ("cache_write", "4.125", "3.75"),
    ):
        catalog.add_price(_price(SONNET, token_type, regional))
        catalog.add_price(_price(SONNET, token_type, global_, route="global"))
    catalog.add_price(_price(NOVA, "input", "0.06"))
    catalog.add_price(_price(NOVA, "output", "0.24"))
    catalog.add_price(_price(NOVA, "input", "0.03", tier="batch"))
    catalog.add_price(_price(NOVA, "output", "0.12", tier="batch"))
    catalog.add_price(_price(OLD, "input", "0.25"))
    catalog.add_price(_price(OLD, "output", "1.25"))
    return catalog


def _log(model_id: str, **overrides: object) -> dict:
    record = {
        "request_id": "r-1",
        "timestamp": datetime(2026, 6, 3, 14, 0, 5, tzinfo=UTC),
        "account_id": "123456789012",
        "identity_arn": "arn:aws:iam::123456789012:user/alice",
        "region": "us-east-1",
        "inference_region": "",
        "operation": "Converse",
        "model_id": model_id,
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "images": 0,
        "latency_ms": 250,
        "request_metadata": {},
        "error_code": "",
        "service_tier": "",
        "prompt_hash": "",
        "response_hash": "",
    }
    record.update(overrides)
    return record


def _cur(usage_type: str, amount: str, cost: str, unit: str, **overrides: object) -> dict:
    row = {
        "file": "f.csv",
        "line": 2,
        "line_item_id": "li-1",
        "time_interval": "",
        "line_item_type": "Usage",
        "billing_entity": "AWS",
        "payer_account_id": "123456789012",
        "usage_account_id": "123456789012",
        "product_code": "AmazonBedrock",
        "usage_type": usage_type,
        "operation": "InvokeModelInference",
        "description": "",
        "usage_start": datetime(2026, 6, 3, tzinfo=UTC),
        "usage_end": datetime(2026, 6, 4, tzinfo=UTC),
        "billing_period": date(2026, 6, 1),
        "usage_amount": Decimal(amount),
        "unblended_cost": Decimal(cost),
        "net_unblended_cost": None,
        "unblended_rate": None,
        "public_on_demand_cost": None,
        "pricing_unit": unit,
        "currency": "USD",
        "iam_principal": "",
        "user_identifier": "",
        "resource_id": "",
        "region_code": "us-east-1",
        "product": {},
        "resource_tags": {},
        "tags": {},
    }
    row.update(overrides)
    return row


# --- units ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pricing_unit", "scale"),
    [("1K tokens", 1000), ("1M tokens", 1_000_000), ("tokens", 1), ("Thousand Tokens", 1000)],
)
def test_a_unit_that_names_its_scale_is_read_not_guessed(pricing_unit: str, scale: int) -> None:
    found, _ = token_scale(
        pricing_unit=pricing_unit, amount=Decimal(1), cost=Decimal(999), catalog_per_token=Decimal("0.000003")
    )
    assert found == Decimal(scale)


def test_units_are_derived_from_the_rate_when_the_unit_says_only_units() -> None:
    # $0.0033 a unit at $3.30 per 1M tokens: a unit is 1K tokens.
    found, label = token_scale(
        pricing_unit="Units", amount=Decimal(10), cost=Decimal("0.033"), catalog_per_token=Decimal("3.30") / M
    )
    assert found == Decimal(1000)
    assert "derived" in label


def test_units_stay_unknown_without_a_price_to_compare() -> None:
    found, label = token_scale(pricing_unit="Units", amount=Decimal(10), cost=Decimal("0.033"), catalog_per_token=None)
    assert found is None
    assert label == "Units"


def test_a_units_row_of_an_unpriced_model_keeps_its_dollars_but_claims_no_tokens(catalog: Catalog) -> None:
    row = _cur(
        "USE1-MP:USE1_InputTokenCount-Units",
        "250",
        "0.2",
        "Units",
        product={"product_name": "Mystery Model (Amazon Bedrock Edition)"},
    )

    fields = normalize_cur_row(row, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["cost_usd"] == Decimal("0.2")
    assert fields["model_id"] == ""
    assert fields["model_ref"] == "Mystery Model (Amazon Bedrock Edition)"
    assert "input_tokens" not in fields
    assert fields["units"] == Decimal(250)


def test_a_cur_row_counts_tokens_from_the_unit(catalog: Catalog) -> None:
    fields = normalize_cur_row(
        _cur("USE1-Claude4.6Sonnet-input-tokens", "17.33", "0.0572", "1K tokens"),
        catalog=catalog,
        mapping=DEFAULT_TAG_MAPPING,
    )

    assert fields["input_tokens"] == 17_330
    assert fields["model_id"] == SONNET
    assert fields["dedupe_key"].startswith("cur:")


def test_a_credit_row_never_counts_tokens(catalog: Catalog) -> None:
    row = _cur("USE1-Claude4.6Sonnet-input-tokens", "17.33", "-0.0572", "1K tokens", line_item_type="Credit")

    fields = normalize_cur_row(row, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert "input_tokens" not in fields
    assert fields["cost_usd"] == Decimal("-0.0572")


def test_the_same_cur_row_always_gets_the_same_dedupe_key_whatever_file_it_came_from(catalog: Catalog) -> None:
    one = normalize_cur_row(
        _cur("USE1-NovaLite-input-tokens", "1", "0.00006", "1K tokens"), catalog=catalog, mapping={}
    )
    two = normalize_cur_row(
        _cur("USE1-NovaLite-input-tokens", "1", "0.00006", "1K tokens", file="other.csv.gz", line=99),
        catalog=catalog,
        mapping={},
    )
    other = normalize_cur_row(
        _cur("USE1-NovaLite-input-tokens", "2", "0.00012", "1K tokens"), catalog=catalog, mapping={}
    )

    assert one["dedupe_key"] == two["dedupe_key"]
    assert one["dedupe_key"] != other["dedupe_key"]


# --- request estimates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "route", "input_price", "output_price"),
    [
        ("us.anthropic.claude-sonnet-4-6", "geo", "3.30", "16.50"),
        ("global.anthropic.claude-sonnet-4-6", "global", "3.00", "15.00"),
        ("anthropic.claude-sonnet-4-6", "in_region", "3.30", "16.50"),
    ],
)
def test_the_route_prefix_picks_the_price(
    catalog: Catalog, model_id: str, route: str, input_price: str, output_price: str
) -> None:
    fields = normalize_log_record(_log(model_id), catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["route"] == route
    assert fields["cost_usd"] == (1000 * Decimal(input_price) + 100 * Decimal(output_price)) / M


def test_cache_tokens_are_priced_at_their_own_rates(catalog: Catalog) -> None:
    record = _log("global.anthropic.claude-sonnet-4-6", cache_read_tokens=5000, cache_write_tokens=2000)

    fields = normalize_log_record(record, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    expected = (1000 * Decimal("3.00") + 100 * Decimal("15.00") + 5000 * Decimal("0.30") + 2000 * Decimal("3.75")) / M
    assert fields["cost_usd"] == expected


def test_a_batch_request_is_priced_at_the_batch_rate(catalog: Catalog) -> None:
    fields = normalize_log_record(_log(NOVA, service_tier="batch"), catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["service_tier"] == "batch"
    assert fields["cost_usd"] == (1000 * Decimal("0.03") + 100 * Decimal("0.12")) / M


def test_a_token_type_without_a_price_makes_the_request_unpriced_not_cheaper(catalog: Catalog) -> None:
    # Claude 3 Haiku has no cache prices in this catalog: the cache tokens cannot be priced.
    fields = normalize_log_record(_log(OLD, cache_read_tokens=10), catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["unpriced"] is True
    assert fields["cost_usd"] is None


def test_an_unknown_model_is_unpriced_even_with_no_tokens(catalog: Catalog) -> None:
    record = _log("acme.mystery-v1:0", input_tokens=0, output_tokens=0)

    fields = normalize_log_record(record, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["unpriced"] is True
    assert fields["cost_usd"] is None
    assert fields["model_ref"] == "acme.mystery-v1:0"


def test_a_failed_call_with_no_tokens_costs_nothing_whatever_the_model(catalog: Catalog) -> None:
    record = _log("acme.mystery-v1:0", input_tokens=0, output_tokens=0, error_code="ValidationException")

    fields = normalize_log_record(record, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["cost_usd"] == Decimal(0)
    assert fields["unpriced"] is False


def test_latency_sets_the_end_time_and_the_request_id_is_the_dedupe_key(catalog: Catalog) -> None:
    fields = normalize_log_record(_log(NOVA, latency_ms=1500), catalog=catalog, mapping=DEFAULT_TAG_MAPPING)

    assert fields["usage_end"] == datetime(2026, 6, 3, 14, 0, 6, 500000, tzinfo=UTC)
    assert fields["dedupe_key"] == "req:r-1"
    assert fields["inference_region"] == "us-east-1"  # no inferenceRegion: it ran where it was called
    assert fields["billing_period"] == date(2026, 6, 1)


# --- tag mapping -----------------------------------------------------------------------------------


def test_tag_keys_match_ignoring_case_hyphens_and_underscores() -> None:
    dims = map_dimensions(DEFAULT_TAG_MAPPING, {"IAMPRINCIPAL/Cost_Center": "42", "Team": "ds"})

    assert dims == {"cost_center": "42", "team": "ds"}


def test_keys_are_tried_in_the_mappings_order_then_sources_in_order() -> None:
    mapping = {"team": ["iamPrincipal/team", "user_team"]}

    assert map_dimensions(mapping, {"user_team": "from-tags"}, {"iamPrincipal/team": "later"}) == {"team": "later"}
    assert map_dimensions(mapping, {"iamPrincipal/team": "first"}, {"iamPrincipal/team": "second"}) == {"team": "first"}


def test_empty_tag_values_are_ignored() -> None:
    assert map_dimensions(DEFAULT_TAG_MAPPING, {"team": "", "user_team": "ds"}) == {"team": "ds"}


def test_it_maps_resource_tags_delivered_in_the_user_prefixed_form_inside_tags() -> None:
    from connections.models import DEFAULT_TAG_MAPPING
    from ingestion.normalize import map_dimensions

    dims = map_dimensions(
        DEFAULT_TAG_MAPPING,
        {"resourceTags/user_team": "ds", "resourceTags/user_application": "rag", "resourceTags/user_cost_center": "42"},
    )
    assert dims["team"] == "ds" and dims["application"] == "rag" and dims["cost_center"] == "42"


@pytest.mark.parametrize(
    "resource_id",
    [
        "arn:aws:bedrock:us-east-1:111111111111:provisioned-model/n2l1te7pt0a1",
        "arn:aws:bedrock:us-east-1:111111111111:application-inference-profile/a1b2c3d4e5f6",
        "arn:aws:bedrock:us-east-1:111111111111:inference-profile/us.anthropic.claude-sonnet-4-6",
    ],
)
def test_a_bill_line_keeps_the_provisioned_model_or_profile_it_is_for(catalog: Catalog, resource_id: str) -> None:
    raw = _cur(
        "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits", "24", "1452", "Hrs", resource_id=resource_id
    )

    assert normalize_cur_row(raw, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)["inference_profile_arn"] == resource_id


def test_a_bill_line_for_another_resource_keeps_no_arn(catalog: Catalog) -> None:
    raw = _cur("USE1-NovaLite-input-tokens", "1", "0.06", "1K tokens", resource_id="arn:aws:s3:::bucket")

    assert normalize_cur_row(raw, catalog=catalog, mapping=DEFAULT_TAG_MAPPING)["inference_profile_arn"] == ""
