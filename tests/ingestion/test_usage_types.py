"""Usage-type parsing, one case per spelling listed in reference/aws-formats.md A.7."""

from __future__ import annotations

import dataclasses

import pytest

from ingestion.parsers.usage_types import REGION_PREFIXES, UsageType, parse_usage_type


def fields(value: str, *names: str) -> tuple:
    parsed = parse_usage_type(value)
    return tuple(getattr(parsed, name) for name in names)


# --- region prefixes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "region"),
    [
        ("USE1", "us-east-1"),
        ("USE2", "us-east-2"),
        ("USW1", "us-west-1"),
        ("USW2", "us-west-2"),
        ("CAN1", "ca-central-1"),
        ("CAN2", "ca-west-1"),
        ("MXC1", "mx-central-1"),
        ("SAE1", "sa-east-1"),
        ("EU", "eu-west-1"),
        ("EUW1", "eu-west-1"),
        ("EUW2", "eu-west-2"),
        ("EUW3", "eu-west-3"),
        ("EUC1", "eu-central-1"),
        ("EUC2", "eu-central-2"),
        ("EUN1", "eu-north-1"),
        ("EUS1", "eu-south-1"),
        ("EUS2", "eu-south-2"),
        ("APN1", "ap-northeast-1"),
        ("APN2", "ap-northeast-2"),
        ("APN3", "ap-northeast-3"),
        ("APS1", "ap-southeast-1"),
        ("APS2", "ap-southeast-2"),
        ("APS3", "ap-south-1"),
        ("APS4", "ap-southeast-3"),
        ("APS5", "ap-south-2"),
        ("APS6", "ap-southeast-4"),
        ("APS7", "ap-southeast-5"),
        ("APS8", "ap-southeast-6"),
        ("APS9", "ap-southeast-7"),
        ("APE1", "ap-east-1"),
        ("APE2", "ap-east-2"),
        ("MES1", "me-south-1"),
        ("MEC1", "me-central-1"),
        ("ILC1", "il-central-1"),
        ("AFS1", "af-south-1"),
        ("UGW1", "us-gov-west-1"),
        ("UGE1", "us-gov-east-1"),
        ("CNN1", "cn-north-1"),
        ("CNW1", "cn-northwest-1"),
    ],
)
def test_it_maps_every_billing_region_prefix(prefix: str, region: str) -> None:
    assert REGION_PREFIXES[prefix] == region
    assert fields(f"{prefix}-NovaLite-input-tokens", "region_prefix", "region", "model_token") == (
        prefix,
        region,
        "NovaLite",
    )


def test_the_region_table_has_one_entry_per_region_apart_from_the_eu_alias() -> None:
    regions = list(REGION_PREFIXES.values())
    assert len(regions) - len(set(regions)) == 1  # EU and EUW1 both mean eu-west-1
    assert {"us-east-1", "eu-west-1", "ap-south-1", "us-gov-west-1", "cn-north-1"} <= set(regions)


def test_it_keeps_an_unknown_region_prefix_but_leaves_the_region_unknown() -> None:
    assert fields("XYZ1-NovaLite-input-tokens", "region_prefix", "region", "model_token", "token_type") == (
        "XYZ1",
        None,
        "NovaLite",
        "input",
    )


def test_it_reads_a_usage_type_without_a_region_prefix() -> None:
    assert fields("NovaLite-output-tokens", "region_prefix", "region", "model_token", "token_type") == (
        None,
        None,
        "NovaLite",
        "output",
    )


# --- first-party token rows -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "region", "model", "token_type"),
    [
        ("USE1-NovaLite-input-tokens", "us-east-1", "NovaLite", "input"),
        ("USE1-NovaLite-output-tokens", "us-east-1", "NovaLite", "output"),
        ("USE1-NovaPro-input-tokens", "us-east-1", "NovaPro", "input"),
        ("USE1-Nova2.0Lite-input-tokens", "us-east-1", "Nova2.0Lite", "input"),
        ("USE1-Nova2.0Lite-cache-read-input-token-count", "us-east-1", "Nova2.0Lite", "cache_read"),
        ("USE1-Nova2.0Lite-cache-write-input-token-count", "us-east-1", "Nova2.0Lite", "cache_write"),
        ("USE1-Claude4.6Sonnet-input-tokens", "us-east-1", "Claude4.6Sonnet", "input"),
        ("USE1-Claude4.6Sonnet-output-tokens", "us-east-1", "Claude4.6Sonnet", "output"),
        ("USW2-Claude4.6Sonnet-cache-read-input-token-count", "us-west-2", "Claude4.6Sonnet", "cache_read"),
        ("USW2-Claude4.6Sonnet-cache-write-input-token-count", "us-west-2", "Claude4.6Sonnet", "cache_write"),
        ("USW2-Claude4.5Sonnet-input-tokens", "us-west-2", "Claude4.5Sonnet", "input"),
        ("USE1-Claude4.6Opus-input-tokens", "us-east-1", "Claude4.6Opus", "input"),
        ("USE1-Claude4.6Opus-output-tokens", "us-east-1", "Claude4.6Opus", "output"),
        ("USE1-Llama3.3-70B-input-tokens", "us-east-1", "Llama3.3-70B", "input"),
        ("USE1-Llama3.3-70B-output-tokens", "us-east-1", "Llama3.3-70B", "output"),
    ],
)
def test_it_reads_model_and_token_type_of_in_region_token_rows(
    value: str, region: str, model: str, token_type: str
) -> None:
    assert parse_usage_type(value) == UsageType(
        raw=value,
        region_prefix=value.split("-", 1)[0],
        region=region,
        model_token=model,
        token_type=token_type,
        cache_ttl=None,
        route="in_region",
        geo=None,
        service_tier="standard",
        commitment=None,
        is_marketplace=False,
        variant=None,
        category="tokens",
    )


# --- routes and tiers -----------------------------------------------------------------


def test_it_reads_the_global_route_suffix() -> None:
    assert fields(
        "USE1-Claude4Sonnet-input-tokens-cross-region-global", "model_token", "token_type", "route", "geo"
    ) == ("Claude4Sonnet", "input", "global", None)


def test_it_reads_a_route_suffix_that_follows_a_cache_token_type() -> None:
    assert fields(
        "USE1-Claude4Sonnet-cache-read-input-token-count-cross-region-global",
        "model_token",
        "token_type",
        "route",
        "category",
    ) == ("Claude4Sonnet", "cache_read", "global", "tokens")


@pytest.mark.parametrize("geo", ["eu", "apac", "jp", "au", "ca", "in", "us"])
def test_it_reads_the_geography_of_a_geo_route(geo: str) -> None:
    assert fields(
        f"USE1-Claude4Sonnet-output-tokens-cross-region-{geo}", "model_token", "token_type", "route", "geo"
    ) == ("Claude4Sonnet", "output", "geo", geo)


def test_it_reads_a_bare_cross_region_suffix_as_a_geo_route_of_unknown_geography() -> None:
    assert fields("USE1-Claude4Sonnet-input-tokens-cross-region", "model_token", "route", "geo") == (
        "Claude4Sonnet",
        "geo",
        None,
    )


def test_no_route_suffix_means_in_region() -> None:
    assert fields("USE1-Claude4Sonnet-input-tokens", "route", "geo") == ("in_region", None)


@pytest.mark.parametrize("tier", ["batch", "flex", "priority"])
def test_it_reads_the_service_tier_suffix(tier: str) -> None:
    assert fields(f"USE1-NovaLite-input-tokens-{tier}", "model_token", "token_type", "service_tier", "route") == (
        "NovaLite",
        "input",
        tier,
        "in_region",
    )


@pytest.mark.parametrize(
    "value",
    [
        "USE1-Claude4Sonnet-input-tokens-batch-cross-region-global",
        "USE1-Claude4Sonnet-input-tokens-cross-region-global-batch",
    ],
)
def test_it_reads_tier_and_route_in_either_order(value: str) -> None:
    assert fields(value, "model_token", "token_type", "service_tier", "route") == (
        "Claude4Sonnet",
        "input",
        "batch",
        "global",
    )


def test_it_reads_a_geo_route_combined_with_a_priority_tier() -> None:
    assert fields(
        "EU-Claude4.5Sonnet-output-tokens-cross-region-eu-priority",
        "region",
        "model_token",
        "token_type",
        "route",
        "geo",
        "service_tier",
    ) == ("eu-west-1", "Claude4.5Sonnet", "output", "geo", "eu", "priority")


def test_a_row_without_a_tier_suffix_is_standard() -> None:
    assert parse_usage_type("USE1-NovaLite-input-tokens").service_tier == "standard"


# --- mantle endpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "token_type", "tier"),
    [
        ("USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-standard", "cache_write", "standard"),
        ("USW2-anthropic.claude-opus-4-8-mantle-cache-read-tokens-standard", "cache_read", "standard"),
        ("USW2-anthropic.claude-opus-4-8-mantle-input-tokens-standard", "input", "standard"),
        ("USW2-anthropic.claude-opus-4-8-mantle-output-tokens-priority", "output", "priority"),
        ("USW2-anthropic.claude-opus-4-8-mantle-input-tokens-flex", "input", "flex"),
        ("USW2-anthropic.claude-opus-4-8-mantle-output-tokens-batch", "output", "batch"),
    ],
)
def test_it_reads_the_model_id_and_tier_of_mantle_rows(value: str, token_type: str, tier: str) -> None:
    assert fields(value, "region", "model_token", "token_type", "service_tier", "category", "route") == (
        "us-west-2",
        "anthropic.claude-opus-4-8",
        token_type,
        tier,
        "tokens",
        "in_region",
    )


# --- provisioned throughput -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "model", "commitment"),
    [
        ("USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits", "Nova2.0Lite", "none"),
        ("USE1-Nova2.0Lite-ProvisionedThroughput-1Month-ModelUnits", "Nova2.0Lite", "1m"),
        ("USE1-Nova2.0Lite-ProvisionedThroughput-1MonthCommit-ModelUnits", "Nova2.0Lite", "1m"),
        ("USE1-Nova2.0Lite-ProvisionedThroughput-6Month-ModelUnits", "Nova2.0Lite", "6m"),
        ("USE1-Nova2.0Lite-ProvisionedThroughput-6MonthCommit-ModelUnits", "Nova2.0Lite", "6m"),
        ("USE1-Claude4.5Sonnet-ProvisionedThroughput-6Months-ModelUnits", "Claude4.5Sonnet", "6m"),
    ],
)
def test_it_reads_the_commitment_of_provisioned_throughput(value: str, model: str, commitment: str) -> None:
    assert fields(value, "model_token", "token_type", "service_tier", "commitment", "category") == (
        model,
        "model_unit_hour",
        "provisioned",
        commitment,
        "provisioned_throughput",
    )


def test_the_bare_provisioned_throughput_form_has_an_unknown_commitment() -> None:
    assert fields(
        "USE1-Nova-ProvisionedThroughput",
        "model_token",
        "token_type",
        "service_tier",
        "commitment",
        "category",
    ) == ("Nova", "model_unit_hour", "provisioned", None, "provisioned_throughput")


# --- customization --------------------------------------------------------------------


def test_it_reads_customization_training() -> None:
    assert fields("USE1-Nova2.0Lite-Customization-Training", "model_token", "token_type", "category", "variant") == (
        "Nova2.0Lite",
        None,
        "customization",
        None,
    )


def test_it_reads_custom_model_storage_as_storage() -> None:
    assert fields("USE1-Nova2.0Lite-Customization-Storage", "model_token", "token_type", "category", "variant") == (
        "Nova2.0Lite",
        None,
        "storage",
        None,
    )


def test_it_reads_custom_model_inference_as_tokens_with_a_variant() -> None:
    assert fields(
        "USE1-Nova2.0Lite-input-tokens-custom-model",
        "model_token",
        "token_type",
        "category",
        "variant",
        "service_tier",
        "route",
    ) == ("Nova2.0Lite", "input", "tokens", "custom-model", "standard", "in_region")


# --- images and guardrails ------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    ["T2I-1024-Standard", "T2I-1024-Premium", "T2I-2048-Standard", "T2I-2048-Premium"],
)
def test_it_reads_image_sizes_and_qualities_as_variants(variant: str) -> None:
    parsed = parse_usage_type(f"USE1-NovaCanvas-{variant}")
    assert (parsed.model_token, parsed.token_type, parsed.category, parsed.variant) == (
        "NovaCanvas",
        "image",
        "image",
        variant,
    )
    # "Standard" in an image SKU is a quality, not the service tier.
    assert parsed.service_tier == "standard"
    assert parsed.region == "us-east-1"


def test_it_reads_a_guardrail_row_without_a_model() -> None:
    assert fields(
        "USE1-Guardrail-ContentPolicyImageUnitsConsumed", "region", "model_token", "token_type", "category"
    ) == ("us-east-1", None, None, "guardrail")


# --- Marketplace ("Bedrock Edition") rows ---------------------------------------------


IN, GLOBAL, STD = "in_region", "global", "standard"


@pytest.mark.parametrize(
    ("value", "region", "token_type", "cache_ttl", "route", "tier"),
    [
        ("USE1-MP:USE1_InputTokenCount-Units", "us-east-1", "input", None, IN, STD),
        ("USE1-MP:USE1_OutputTokenCount-Units", "us-east-1", "output", None, IN, STD),
        ("USE1-MP:USE1_CacheReadInputTokenCount-Units", "us-east-1", "cache_read", None, IN, STD),
        ("USE1-MP:USE1_CacheWriteInputTokenCount-Units", "us-east-1", "cache_write", None, IN, STD),
        (
            "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units",
            "us-east-1",
            "cache_write",
            "1h",
            GLOBAL,
            STD,
        ),
        ("USE1-MP:USE1_InputTokenCount_Global-Units", "us-east-1", "input", None, GLOBAL, STD),
        ("USE1-MP:USE1_InputTokenCount_Batch-Units", "us-east-1", "input", None, IN, "batch"),
        ("USW2-MP:USW2_InputTokenCount-Units", "us-west-2", "input", None, IN, STD),
        ("USE1-MP:USE1_input_tokens_standard-Units", "us-east-1", "input", None, IN, STD),
        ("USE1-MP:USE1_output_tokens_standard-Units", "us-east-1", "output", None, IN, STD),
        ("APS3-MP:APS3_input_tokens_global_standard-Units", "ap-south-1", "input", None, GLOBAL, STD),
        ("USE1-MP:USE1_input_tokens_priority-Units", "us-east-1", "input", None, IN, "priority"),
        ("USE1-MP:USE1_output_tokens_flex-Units", "us-east-1", "output", None, IN, "flex"),
        ("USE1-MP:USE1_input_tokens_batch-Units", "us-east-1", "input", None, IN, "batch"),
        ("USE1-MP:USE1_output_tokens_global_priority-Units", "us-east-1", "output", None, GLOBAL, "priority"),
    ],
)
def test_it_reads_marketplace_token_rows(
    value: str, region: str, token_type: str, cache_ttl: str | None, route: str, tier: str
) -> None:
    assert parse_usage_type(value) == UsageType(
        raw=value,
        region_prefix=value.split("-", 1)[0],
        region=region,
        model_token=None,
        token_type=token_type,
        cache_ttl=cache_ttl,
        route=route,
        geo=None,
        service_tier=tier,
        commitment=None,
        is_marketplace=True,
        variant=None,
        category="tokens",
    )


def test_it_reads_the_reserved_marketplace_tier() -> None:
    parsed = parse_usage_type("USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units")
    assert (
        parsed.is_marketplace,
        parsed.model_token,
        parsed.service_tier,
        parsed.commitment,
        parsed.route,
        parsed.geo,
        parsed.token_type,
    ) == (True, None, "reserved", "1m", "geo", None, "input")
    # Reserved capacity is billed per TPM held, so it must not be summed with consumed tokens.
    assert parsed.category == "provisioned_throughput"


def test_it_takes_the_region_from_the_inner_marketplace_code_when_the_outer_one_is_missing() -> None:
    assert fields("MP:EUC1_InputTokenCount-Units", "region_prefix", "region", "token_type", "is_marketplace") == (
        "EUC1",
        "eu-central-1",
        "input",
        True,
    )


def test_a_marketplace_row_without_a_token_word_is_other() -> None:
    assert fields("USE1-MP:USE1_Something-Units", "is_marketplace", "token_type", "category") == (
        True,
        None,
        "other",
    )


# --- tolerance ------------------------------------------------------------------------


def test_it_ignores_case() -> None:
    assert fields(
        "use1-claude4sonnet-INPUT-TOKENS-Cross-Region-EU-Batch",
        "region_prefix",
        "region",
        "model_token",
        "token_type",
        "route",
        "geo",
        "service_tier",
    ) == ("USE1", "us-east-1", "claude4sonnet", "input", "geo", "eu", "batch")


def test_it_ignores_case_in_marketplace_rows() -> None:
    assert fields("use1-mp:use1_cachewrite1hinputtokencount_global-units", "token_type", "cache_ttl", "route") == (
        "cache_write",
        "1h",
        "global",
    )


def test_it_strips_surrounding_whitespace() -> None:
    parsed = parse_usage_type("  USE1-NovaLite-input-tokens\n")
    assert (parsed.raw, parsed.region, parsed.model_token, parsed.token_type) == (
        "USE1-NovaLite-input-tokens",
        "us-east-1",
        "NovaLite",
        "input",
    )


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_usage_type_parses_to_nothing(value: str) -> None:
    assert parse_usage_type(value) == UsageType(
        raw="",
        region_prefix=None,
        region=None,
        model_token=None,
        token_type=None,
        cache_ttl=None,
        route="in_region",
        geo=None,
        service_tier="standard",
        commitment=None,
        is_marketplace=False,
        variant=None,
        category="other",
    )


@pytest.mark.parametrize(
    "value",
    ["garbage", "-", "USE1-", "USE1--", "MP:", "USE1-MP:", "---cross-region", "-input-tokens", "\x00\t"],
)
def test_it_never_raises_on_odd_input(value: str) -> None:
    parsed = parse_usage_type(value)
    assert isinstance(parsed, UsageType)
    assert parsed.route in {"in_region", "geo", "global"}
    assert parsed.category in {
        "tokens",
        "image",
        "provisioned_throughput",
        "customization",
        "storage",
        "guardrail",
        "other",
    }


def test_it_returns_an_empty_result_for_a_non_string() -> None:
    assert parse_usage_type(None).category == "other"  # type: ignore[arg-type]


def test_an_unrecognised_shape_is_other_with_no_model() -> None:
    assert fields("USE1-SomeNewThing", "region", "model_token", "token_type", "category") == (
        "us-east-1",
        None,
        None,
        "other",
    )


def test_the_result_is_immutable() -> None:
    parsed = parse_usage_type("USE1-NovaLite-input-tokens")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.model_token = "x"  # type: ignore[misc]
