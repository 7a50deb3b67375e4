"""The pure mapping of a bill line to a FOCUS 1.2 row (finops.exports.focus): no database."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from finops.exports.columns import COLUMNS, LINE_FIELDS
from finops.exports.focus import (
    Account,
    FocusContext,
    cell_text,
    focus_row,
    focus_rows,
    pricing_unit,
)

# The 57 columns of the FOCUS 1.2 Cost and Usage dataset, as the specification lists them (tag v1.2,
# specification/columns), written out here rather than read from the code under test.
FOCUS_12_COLUMNS = """
AvailabilityZone BilledCost BillingAccountId BillingAccountName BillingAccountType BillingCurrency BillingPeriodEnd
BillingPeriodStart CapacityReservationId CapacityReservationStatus ChargeCategory ChargeClass ChargeDescription
ChargeFrequency ChargePeriodEnd ChargePeriodStart CommitmentDiscountCategory CommitmentDiscountId
CommitmentDiscountName CommitmentDiscountQuantity CommitmentDiscountStatus CommitmentDiscountType
CommitmentDiscountUnit ConsumedQuantity ConsumedUnit ContractedCost ContractedUnitPrice EffectiveCost InvoiceId
InvoiceIssuerName ListCost ListUnitPrice PricingCategory PricingCurrency PricingCurrencyContractedUnitPrice
PricingCurrencyEffectiveCost PricingCurrencyListUnitPrice PricingQuantity PricingUnit ProviderName PublisherName
RegionId RegionName ResourceId ResourceName ResourceType ServiceCategory ServiceName ServiceSubcategory SkuId SkuMeter
SkuPriceDetails SkuPriceId SubAccountId SubAccountName SubAccountType Tags
""".split()
MANDATORY_NOT_NULL = """
BilledCost BillingAccountId BillingCurrency BillingPeriodEnd BillingPeriodStart ChargeCategory ChargePeriodEnd
ChargePeriodStart ContractedCost EffectiveCost InvoiceIssuerName ListCost ProviderName PublisherName ServiceCategory
ServiceName ServiceSubcategory ChargeFrequency
""".split()
AI_CUSTOM = """
x_TokenType x_ServiceTier x_InputTokens x_OutputTokens x_CacheReadTokens x_CacheWriteTokens x_Application x_Team
x_User x_Agent x_CostBasis
""".split()
SEPTEMBER = date(2026, 9, 1)
CONTEXT = FocusContext(
    default_billing=Account("123456789012", "Acme payer"),
    billing_by_connection={7: Account("999999999999", "Org payer")},
    account_names={"210987654321": "data-science"},
    model_names={"anthropic.claude-sonnet-4-6": "Claude Sonnet 4.6"},
)


def at(day: int, month: int = 9) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def line(**fields: Any) -> dict[str, Any]:
    """A Claude Sonnet 4.6 input-token bill line of 2 September: 100 x 1K tokens for $0.30 ($0.36 at list)."""
    base: dict[str, Any] = dict.fromkeys(LINE_FIELDS, "")
    base.update(
        connection_id=None,
        usage_start=at(2),
        usage_end=at(3),
        account_id="123456789012",
        region="us-east-1",
        route="in_region",
        model_id="anthropic.claude-sonnet-4-6",
        model_family="claude-sonnet",
        model_provider="Anthropic",
        operation="InvokeModelInference",
        usage_type="USE1-Claude4.6Sonnet-input-tokens",
        token_type="input",
        line_item_type="Usage",
        service_tier="standard",
        usage_category="tokens",
        input_tokens=100_000,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        units=Decimal("100"),
        unit="1K tokens",
        cost_usd=Decimal("0.30"),
        list_cost_usd=Decimal("0.36"),
        allocated_cost_usd=Decimal("0.25"),
        cost_basis="billed",
        tags={"user_team": "search"},
    )
    base.update(fields)
    return base


def row(**fields: Any) -> dict[str, Any]:
    return focus_row(line(**fields), context=CONTEXT, period=SEPTEMBER)


def test_every_focus_12_column_is_there_then_the_custom_ones() -> None:
    assert len(FOCUS_12_COLUMNS) == 57
    assert list(COLUMNS[:57]) == sorted(FOCUS_12_COLUMNS)
    assert set(COLUMNS[57:]) >= set(AI_CUSTOM)
    assert all(c.startswith("x_") for c in COLUMNS[57:])
    assert set(row()) == set(COLUMNS)


@pytest.mark.parametrize("line_item_type", ["Usage", "Tax", "Credit", "Refund", "EdpDiscount", "Fee"])
def test_columns_focus_says_are_never_null_are_filled_for_every_kind_of_line(line_item_type: str) -> None:
    out = row(line_item_type=line_item_type, usage_type="" if line_item_type == "Tax" else "x")
    assert [c for c in MANDATORY_NOT_NULL if out[c] is None] == []


def test_a_token_line_carries_the_ai_columns() -> None:
    out = row()
    assert out["ServiceName"] == "Amazon Bedrock"
    assert out["ServiceCategory"] == "AI and Machine Learning"
    assert out["ServiceSubcategory"] == "Generative AI"
    assert out["SkuMeter"] == "Input Tokens"
    assert out["ProviderName"] == out["InvoiceIssuerName"] == "Amazon Web Services"
    assert out["x_TokenType"] == "input"
    assert out["x_ServiceTier"] == "standard"
    assert (out["x_InputTokens"], out["x_OutputTokens"], out["x_CacheReadTokens"], out["x_CacheWriteTokens"]) == (
        100_000,
        0,
        0,
        0,
    )
    assert out["x_Team"] is None  # the ledger's team dimension was blank on this line
    assert out["x_CostBasis"] == "billed"
    assert out["x_AllocatedCost"] == Decimal("0.25")


@pytest.mark.parametrize(
    ("token_type", "meter"),
    [
        ("input", "Input Tokens"),
        ("output", "Output Tokens"),
        ("cache_read", "Cache Read Tokens"),
        ("cache_write", "Cache Write Tokens"),
        ("model_unit_hour", "Model Unit Hours"),
    ],
)
def test_sku_meter_names_the_token_type(token_type: str, meter: str) -> None:
    assert row(token_type=token_type)["SkuMeter"] == meter


def test_sku_price_details_is_a_json_object_naming_the_model_with_x_keys() -> None:
    details = json.loads(row()["SkuPriceDetails"])
    assert details["x_ModelDeveloper"] == "Anthropic"
    assert details["x_ModelFamily"] == "claude-sonnet"
    assert details["x_ModelId"] == "anthropic.claude-sonnet-4-6"
    assert details["x_TokenType"] == "input"
    # FOCUS 1.2: keys that are not FOCUS-defined properties begin with x_; values are scalars.
    assert all(k.startswith("x_") for k in details)
    assert all(isinstance(v, str | int | float | bool) for v in details.values())


def test_an_unresolved_model_is_named_as_delivered() -> None:
    details = json.loads(row(model_id="", model_family="", model_provider="", model_ref="NewModel9")["SkuPriceDetails"])
    assert details == {
        "x_ModelId": "NewModel9",
        "x_Route": "in_region",
        "x_ServiceTier": "standard",
        "x_TokenType": "input",
    }


@pytest.mark.parametrize(
    ("line_item_type", "usage_type", "category"),
    [
        ("Usage", "USE1-Claude4.6Sonnet-input-tokens", "Usage"),
        ("DiscountedUsage", "USE1-Claude4.6Sonnet-input-tokens", "Usage"),
        ("SavingsPlanCoveredUsage", "USE1-Claude4.6Sonnet-input-tokens", "Usage"),
        ("Refund", "USE1-Claude4.6Sonnet-input-tokens", "Usage"),  # FOCUS: Usage "including refunds"
        ("Refund", "", "Adjustment"),
        ("Tax", "", "Tax"),
        ("Credit", "", "Credit"),
        ("Credit", "USE1-Claude4.6Sonnet-input-tokens", "Credit"),
        ("Fee", "USE1-Something", "Purchase"),
        ("SavingsPlanRecurringFee", "USE1-Something", "Purchase"),
        ("EdpDiscount", "USE1-Claude4.6Sonnet-input-tokens", "Adjustment"),
        ("BundledDiscount", "", "Adjustment"),
    ],
)
def test_charge_category_comes_from_the_line_item_type(line_item_type: str, usage_type: str, category: str) -> None:
    assert row(line_item_type=line_item_type, usage_type=usage_type)["ChargeCategory"] == category


def test_tax_has_no_sku_quantity_or_unit_price_and_costs_what_it_was_billed() -> None:
    out = row(line_item_type="Tax", usage_type="", token_type="", units=None, unit="", cost_usd=Decimal("0.42"))
    unpriced = "SkuId SkuPriceId SkuMeter SkuPriceDetails PricingQuantity PricingUnit ListUnitPrice ContractedUnitPrice"
    for column in [*unpriced.split(), "PricingCategory", "ConsumedQuantity", "ConsumedUnit"]:
        assert out[column] is None, column
    assert out["BilledCost"] == out["EffectiveCost"] == out["ListCost"] == out["ContractedCost"] == Decimal("0.42")
    assert out["ChargeClass"] is None


def test_usage_prices_are_the_bill_s_own_per_pricing_unit() -> None:
    out = row()
    assert (out["PricingQuantity"], out["PricingUnit"]) == (Decimal("100"), "1000 Tokens")
    assert (out["ConsumedQuantity"], out["ConsumedUnit"]) == (Decimal(100_000), "Tokens")
    assert out["ListCost"] == Decimal("0.36") and out["ContractedCost"] == out["BilledCost"] == Decimal("0.30")
    assert out["ListUnitPrice"] * out["PricingQuantity"] == Decimal("0.36")
    assert out["ContractedUnitPrice"] * out["PricingQuantity"] == Decimal("0.30")
    assert out["PricingCategory"] == "Standard"
    assert out["ChargeFrequency"] == "Usage-Based"


def test_a_billed_line_without_a_public_price_is_listed_at_what_it_cost() -> None:
    # Marketplace lines come with pricing_public_on_demand_cost 0 (or blank): no public price, not a free line.
    assert row(list_cost_usd=Decimal(0))["ListCost"] == Decimal("0.30")
    assert row(list_cost_usd=None)["ListCost"] == Decimal("0.30")
    assert row(list_cost_usd=Decimal(0), cost_usd=Decimal(0))["ListCost"] == Decimal(0)


def test_a_refund_in_the_period_keeps_its_sku_prices_from_the_sku_s_other_lines() -> None:
    usage = line()
    refund = line(line_item_type="Refund", units=Decimal(0), cost_usd=Decimal("-0.05"), list_cost_usd=Decimal(0))
    _, out = list(focus_rows([usage, refund], context=CONTEXT, period=SEPTEMBER))
    assert out["ChargeCategory"] == "Usage" and out["ChargeClass"] is None
    assert out["BilledCost"] == out["EffectiveCost"] == Decimal("-0.05")
    assert out["PricingQuantity"] == Decimal(0)
    assert out["ListCost"] == out["ContractedCost"] == Decimal(0)  # nothing more was used
    assert out["ListUnitPrice"] == Decimal("0.36") / 100
    assert out["ContractedUnitPrice"] == Decimal("0.30") / 100


def test_a_charge_for_usage_before_the_billing_period_is_a_correction() -> None:
    out = row(
        line_item_type="Refund", usage_start=at(20, 8), usage_end=at(21, 8), units=Decimal(0), cost_usd=Decimal("-0.2")
    )
    assert out["ChargeClass"] == "Correction"
    assert out["BillingPeriodStart"] == datetime(2026, 9, 1, tzinfo=UTC)
    assert out["ChargePeriodStart"] == at(20, 8)
    assert out["BilledCost"] == Decimal("-0.2")
    assert row()["ChargeClass"] is None


def test_a_purchase_is_not_effective_cost_when_bought() -> None:
    out = row(line_item_type="SavingsPlanRecurringFee", usage_type="USE1-Commitment", units=Decimal(1), unit="Units")
    assert out["ChargeCategory"] == "Purchase"
    assert out["ChargeFrequency"] == "Recurring"
    assert out["EffectiveCost"] == Decimal(0) and out["BilledCost"] == Decimal("0.30")
    assert out["ConsumedQuantity"] is None  # FOCUS: only usage is consumed


def test_billing_period_bounds_and_december() -> None:
    out = focus_row(line(usage_start=at(2, 12), usage_end=at(3, 12)), context=CONTEXT, period=date(2026, 12, 1))
    assert out["BillingPeriodStart"] == datetime(2026, 12, 1, tzinfo=UTC)
    assert out["BillingPeriodEnd"] == datetime(2027, 1, 1, tzinfo=UTC)


def test_accounts_regions_and_resources() -> None:
    out = row(
        connection_id=7,
        account_id="210987654321",
        inference_profile_arn="arn:aws:bedrock:us-east-1:1:provisioned-model/x",
    )
    assert (out["BillingAccountId"], out["BillingAccountName"]) == ("999999999999", "Org payer")
    assert (out["SubAccountId"], out["SubAccountName"], out["SubAccountType"]) == (
        "210987654321",
        "data-science",
        "AWS Account",
    )
    assert (out["RegionId"], out["RegionName"]) == ("us-east-1", "US East (N. Virginia)")
    assert out["ResourceType"] == "Provisioned Model" and out["ResourceName"] is None
    plain = row()
    assert (plain["BillingAccountId"], plain["SubAccountName"]) == ("123456789012", "123456789012")
    assert plain["ResourceId"] is None and plain["ResourceType"] is None
    assert row(region="", account_id="")["RegionName"] is None
    assert row(account_id="")["SubAccountName"] is None


def test_marketplace_lines_name_the_model_in_the_sku_and_the_developer_as_publisher() -> None:
    mp = "USE1-MP:USE1_InputTokenCount-Units"
    haiku = row(usage_type=mp, model_id="anthropic.claude-3-5-haiku")
    sonnet = row(usage_type=mp)
    assert haiku["SkuId"] != sonnet["SkuId"]
    assert haiku["PublisherName"] == "Anthropic"
    assert row()["PublisherName"] == "Amazon Web Services"


def test_tags_are_kept_as_delivered_and_valueless_tags_become_true() -> None:
    assert json.loads(row(tags={"user_team": "search", "aws:createdBy": ""})["Tags"]) == {
        "aws:createdBy": True,
        "user_team": "search",
    }
    assert row(tags={})["Tags"] is None


@pytest.mark.parametrize(
    ("unit", "focus"),
    [
        ("1K tokens", "1000 Tokens"),
        ("1K tokens (derived from rate)", "1000 Tokens"),
        ("1M tokens", "1000000 Tokens"),
        ("tokens", "Tokens"),
        ("model-unit hours", "Hours"),
        ("Hrs", "Hours"),
        ("images", "Images"),
        ("Units", "Units"),
        ("", "Units"),
    ],
)
def test_pricing_units_in_focus_unit_format(unit: str, focus: str) -> None:
    assert pricing_unit(unit) == focus


def test_csv_cells_decimals_keep_a_point_and_times_are_utc_iso() -> None:
    assert cell_text("ConsumedQuantity", Decimal(100000)) == "100000.0"
    assert cell_text("BilledCost", Decimal("0.3000000000")) == "0.3"
    assert cell_text("BilledCost", Decimal("-5.0000")) == "-5.0"
    assert cell_text("x_AllocatedCost", Decimal("2.50")) == "2.5"
    assert cell_text("ChargePeriodStart", at(2)) == "2026-09-02T00:00:00Z"
    assert cell_text("ChargeClass", None) == ""
    assert cell_text("x_InputTokens", 12) == "12"
