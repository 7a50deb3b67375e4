"""Usage-type parsing: one case per spelling listed in reference/aws-formats.md A.7, the new dimensions,
the model-token normaliser and ``usage_type_for``. The real-string corpus is in test_usage_types_corpus.py."""

from __future__ import annotations

import dataclasses

import hypothesis
import pytest
from hypothesis import strategies as st

from ingestion.parsers import usage_types
from ingestion.parsers.usage_types import (
    CACHE_TTLS,
    CATEGORIES,
    CONTEXTS,
    MODALITIES,
    REGION_CODES,
    REGION_PREFIXES,
    ROUTES,
    UsageType,
    normalise_model_token,
    parse_usage_type,
    usage_type_for,
)


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
        # A cache write that names no TTL is the default 5-minute write (a pricing dimension since
        # 1-hour writes are billed at a different rate); the old parser left it None.
        cache_ttl="5m" if token_type == "cache_write" else None,
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
        ("USE1-MP:USE1_CacheWriteInputTokenCount-Units", "us-east-1", "cache_write", "5m", IN, STD),
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
        parsed.variant,
    ) == (True, None, "reserved", "1m", "geo", None, "input_tpm")
    # Reserved capacity is billed per hour of tokens-per-minute held, not per token. The old parser
    # gave it token type "input", which the normaliser counts as input tokens; it has none now.
    assert (parsed.token_type, parsed.category) == (None, "reserved_capacity")


def test_it_takes_the_region_from_the_inner_marketplace_code_when_the_outer_one_is_missing() -> None:
    assert fields("MP:EUC1_InputTokenCount-Units", "region_prefix", "region", "token_type", "is_marketplace") == (
        "EUC1",
        "eu-central-1",
        "input",
        True,
    )


def test_a_marketplace_row_without_a_token_word_is_unparsed() -> None:
    # Was "other": a shape nobody recognises must be flagged so it is counted, not filed away.
    assert fields("USE1-MP:USE1_Something-Units", "is_marketplace", "token_type", "category", "unparsed") == (
        True,
        None,
        "unparsed",
        True,
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
        # Was "other". A CUR row without a usage type is one nobody understood: unparsed, so counted.
        category="unparsed",
    )


@pytest.mark.parametrize(
    "value",
    ["garbage", "-", "USE1-", "USE1--", "MP:", "USE1-MP:", "---cross-region", "-input-tokens", "\x00\t"],
)
def test_it_never_raises_on_odd_input(value: str) -> None:
    parsed = parse_usage_type(value)
    assert isinstance(parsed, UsageType)
    assert parsed.route in {"in_region", "geo", "global"}
    # None of these is a shape anyone bills under.
    assert parsed.category == "unparsed"
    assert parsed.category in CATEGORIES


def test_it_returns_an_empty_result_for_a_non_string() -> None:
    assert parse_usage_type(None).category == "unparsed"  # type: ignore[arg-type]


def test_an_unrecognised_shape_is_unparsed_with_no_model() -> None:
    # Was "other". The issue: a usage type the parser does not understand is flagged `unparsed`.
    assert fields("USE1-SomeNewThing", "region", "model_token", "token_type", "category", "unparsed") == (
        "us-east-1",
        None,
        None,
        "unparsed",
        True,
    )


def test_the_result_is_immutable() -> None:
    parsed = parse_usage_type("USE1-NovaLite-input-tokens")
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.model_token = "x"  # type: ignore[misc]


# --- new dimensions: modality, context, cache TTL, latency-optimized, commitment, unit scale -----


@pytest.mark.parametrize(
    ("value", "token_type", "modality"),
    [
        ("USE1-Nova2.0Omni-input-video-token-count", "input", "video"),
        ("USE1-Nova2.0Omni-input-image-token-count", "input", "image"),
        ("USE1-Nova2.0Omni-output-image-token-count", "output", "image"),
        ("USE1-Nova2.0Omni-input-audio-token-count", "input", "audio"),
        ("USE1-NovaSonic-speech-output-tokens", "output", "speech"),
        ("USE1-NovaSonic-speech-understanding-input-token", "input", "speech"),
        ("APN2-Nova2.0Omni-text-output-tokens-flex-cross-region-global", "output", None),
        ("USE1-NovaLite-input-tokens", "input", None),
    ],
)
def test_tokens_of_every_modality_stay_input_or_output_tokens(
    value: str, token_type: str, modality: str | None
) -> None:
    assert fields(value, "token_type", "modality", "category") == (token_type, modality, "tokens")


def test_a_capitalised_text_word_stays_in_the_model_name() -> None:
    # `TitanEmbeddingV2-Text` is the model; the Nova `-text-` modality word is lowercase.
    assert fields("EU-TitanEmbeddingV2-Text-input-tokens", "region", "model_token", "modality") == (
        "eu-west-1",
        "TitanEmbeddingV2-Text",
        None,
    )


@pytest.mark.parametrize(
    "value",
    [
        "USE1-Claude4Sonnet-input-tokens-long-context-cross-region-global",
        "USE1-openai.gpt-5.6-luna-mantle-cache-write-tokens-5m-long-ctx-flex",
        "APS6-MP:APS6_CacheReadInputTokenCount_LCtx-Units",
        "USE1-MP:USE1_input_tokens_long_ctx_standard-Units",
    ],
)
def test_it_reads_the_long_context_tier_and_keeps_the_tokens(value: str) -> None:
    parsed = parse_usage_type(value)
    assert parsed.context == "long"
    assert parsed.category == "tokens"
    assert parsed.token_type in {"input", "output", "cache_read", "cache_write"}


def test_the_context_is_standard_without_a_long_context_word() -> None:
    assert parse_usage_type("USE1-Claude4Sonnet-input-tokens-cross-region-global").context == "standard"


@pytest.mark.parametrize(
    ("value", "ttl"),
    [
        ("USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units", "1h"),
        ("USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units", "1h"),
        # First-party 1-hour spellings listed by a public cost tool; no whole string was found.
        ("USE1-Claude4.6Opus-cache-write-1h-input-token-count-cross-region-global", "1h"),
        ("USE1-Claude4.6Opus-cache-write-1h-tokens", "1h"),
        ("USW2-moonshotai.kimi-k3-mantle-cache-write-tokens-30m-standard", "30m"),
        ("USE1-openai.gpt-5.6-luna-mantle-cache-write-tokens-5m-long-ctx-flex", "5m"),
        ("USE1-MP:USE1_CacheWriteInputTokenCount-Units", "5m"),
        ("USW2-Claude4.6Sonnet-cache-write-input-token-count", "5m"),
    ],
)
def test_it_reads_the_cache_write_ttl(value: str, ttl: str) -> None:
    assert fields(value, "token_type", "cache_ttl", "category") == ("cache_write", ttl, "tokens")


@pytest.mark.parametrize(
    "value",
    ["USE1-NovaLite-input-tokens", "USE1-NovaPro-cache-read-input-token-count", "USE1-MP:USE1_OutputTokenCount-Units"],
)
def test_only_cache_writes_have_a_ttl(value: str) -> None:
    assert parse_usage_type(value).cache_ttl is None


@pytest.mark.parametrize(
    ("value", "model"),
    [
        ("USE1-NovaPro-input-tokens-latency-optimized", "NovaPro"),
        ("USE1-Llama3-1-70B-LatencyOptimized-input-tokens", "Llama3-1-70B"),
        ("USW2-MP:USW2_OutputTokenCount_LatencyOptimized-Units", None),
    ],
)
def test_it_reads_the_latency_optimized_tier(value: str, model: str | None) -> None:
    assert fields(value, "model_token", "service_tier", "category") == (model, "latency_optimized", "tokens")


@pytest.mark.parametrize(
    ("value", "commitment", "custom"),
    [
        ("USW2-MP:USW2_ProvisionedThroughput_6MonthsCommit_ModelUnits_Usage-Units", "6m", False),
        ("USE1-MP:USE1_ProvisionedThroughput_NoCommit_ModelUnits_Usage-Units", "none", False),
        ("USE1-MP:USE1_CustomModel_ProvisionedThroughput_NoCommit-Units", "none", True),
        ("USE1-TitanText-Premier-ProvisionedThroughput-Custom-NoCommit-ModelUnits", "none", True),
        ("USE1-Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits", "1m", False),
    ],
)
def test_it_reads_provisioned_throughput_commitments_in_every_spelling(
    value: str, commitment: str, custom: bool
) -> None:
    parsed = parse_usage_type(value)
    assert (parsed.token_type, parsed.service_tier, parsed.commitment, parsed.category) == (
        "model_unit_hour",
        "provisioned",
        commitment,
        "provisioned_throughput",
    )
    assert (parsed.variant == "custom-model") is custom


@pytest.mark.parametrize(
    ("value", "commitment", "route", "variant"),
    [
        ("APN3-MP:APN3_Reserved_1Month_OutputTPM_Geo-Units", "1m", "geo", "output_tpm"),
        ("USE1-MP:USE1_Reserved_3Month_OutputTPM_Global-Units", "3m", "global", "output_tpm"),
        # First-party spelling, seen only as a suffix in a public tool's test list.
        (
            "USE1-Claude4Sonnet-reserved-1-month-input-tokens-per-minute-cross-region-global",
            "1m",
            "global",
            "input_tpm",
        ),
    ],
)
def test_reserved_capacity_is_never_tokens(value: str, commitment: str, route: str, variant: str) -> None:
    parsed = parse_usage_type(value)
    assert (parsed.category, parsed.token_type, parsed.service_tier) == ("reserved_capacity", None, "reserved")
    assert (parsed.commitment, parsed.route, parsed.variant) == (commitment, route, variant)


@pytest.mark.parametrize(
    ("value", "token_type"),
    [
        ("APN1-MP:APN1_MillionBatchInputTokens-Units", "input"),
        ("USE1-MP:USE1_MillionBatchOutputTokens-Units", "output"),
    ],
)
def test_a_million_unit_usage_type_says_its_scale(value: str, token_type: str) -> None:
    assert fields(value, "token_type", "service_tier", "unit_scale", "category") == (
        token_type,
        "batch",
        1_000_000,
        "tokens",
    )


def test_the_unit_scale_is_unknown_when_the_usage_type_does_not_say_it() -> None:
    assert parse_usage_type("USE1-MP:USE1_InputTokenCount-Units").unit_scale is None
    assert parse_usage_type("USE1-NovaLite-input-tokens").unit_scale is None


@pytest.mark.parametrize(
    ("value", "model", "route"),
    [
        (
            "USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-global-standard",
            "anthropic.claude-opus-4-8",
            "global",
        ),
        ("USE1-xai.grok-4.3-mantle-cache-read-tokens-standard", "xai.grok-4.3", "in_region"),
        ("USW2-moonshotai.kimi-k3-mantle-input-tokens-global-flex", "moonshotai.kimi-k3", "global"),
    ],
)
def test_mantle_rows_say_so_and_keep_every_dimension(value: str, model: str, route: str) -> None:
    assert fields(value, "mantle", "model_token", "route", "category") == (True, model, route, "tokens")


def test_a_non_mantle_row_is_not_mantle() -> None:
    assert parse_usage_type("USE1-NovaLite-input-tokens").mantle is False


def test_marketplace_rows_have_every_dimension_but_the_model() -> None:
    parsed = parse_usage_type("EUN1-MP:EUN1_OutputTokenCount_Global_Batch-Units")
    assert (parsed.is_marketplace, parsed.model_token, parsed.region, parsed.token_type) == (
        True,
        None,
        "eu-north-1",
        "output",
    )
    assert (parsed.route, parsed.service_tier, parsed.context, parsed.cache_ttl) == (
        "global",
        "batch",
        "standard",
        None,
    )


# --- categories of non-token usage -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("USE1-Guardrail-ContentPolicyUnitsConsumed", "guardrail"),
        ("USE1-GuardrailChecks-PromptAttackCheckUnitsConsumed", "guardrail"),
        ("EUW2-Knowledge-Base:Consumption-based:Retrieval", "knowledge_base"),
        ("USE1-DataAutomation-Standard-ImagesProcessed", "data_automation"),
        ("USE1-NovaReel-T2V-Medfps-HDRes", "video"),
        ("USE1-MP:USE1_inputVideoSecond-Units", "video"),
        ("USW2-AmazonRerank-v1-searchunits", "other"),
        ("USE1-Nova2.0Lite-nova-grounding", "other"),
        ("USE1-Nova2.0Lite-RFT-Training-Hours", "customization"),
        ("USE1-MP:USE1_Created_image-Units", "image"),
        # Feature names of the Bedrock price list; no real usage type of these was found, so the
        # spellings below are assumptions, kept only to show such rows are not "unparsed".
        ("USE1-Agents-InvokeAgent", "agent"),
        ("USE1-Flows-NodeTransitions", "flows"),
        ("USE1-ModelEvaluation-HumanTasks", "evaluation"),
        ("USE1-PromptOptimization-Tokens", "prompt_optimization"),
    ],
)
def test_it_files_non_token_usage_under_its_own_category(value: str, category: str) -> None:
    parsed = parse_usage_type(value)
    assert parsed.category == category
    assert not parsed.unparsed
    assert parsed.token_type not in {"input", "output", "cache_read", "cache_write"}


def test_every_category_is_listed() -> None:
    assert {"tokens", "reserved_capacity", "knowledge_base", "unparsed"} <= set(CATEGORIES)


# --- unparsed -----------------------------------------------------------------------------------


def test_an_unknown_marketplace_qualifier_is_unparsed_but_keeps_its_token_type() -> None:
    # A new qualifier may mean a new price; the row is flagged, and its tokens still counted.
    parsed = parse_usage_type("USE1-MP:USE1_InputTokenCount_Quantum-Units")
    assert (parsed.unparsed, parsed.token_type, parsed.is_marketplace) == (True, "input", True)


def test_an_unknown_first_party_suffix_is_unparsed_keeps_its_token_type_and_guesses_no_model() -> None:
    parsed = parse_usage_type("USE1-Claude4Sonnet-input-tokens-someday-new")
    assert (parsed.unparsed, parsed.token_type, parsed.model_token, parsed.region) == (
        True,
        "input",
        None,
        "us-east-1",
    )


def test_a_region_and_a_feature_without_a_token_type_is_not_unparsed() -> None:
    assert parse_usage_type("USE1-Guardrail-WordPolicyUnitsConsumed").unparsed is False


@hypothesis.given(st.text(max_size=80))
@hypothesis.settings(max_examples=400, deadline=None)
def test_the_parser_never_raises_on_any_text(value: str) -> None:
    # The internals are called directly too, so the top-level safety net is not what passes this.
    raw = value.strip()
    if raw:
        prefix, rest = usage_types._split_region_prefix(raw)
        if rest[:3].upper() == "MP:":
            usage_types._parse_marketplace(raw, prefix, rest)
        else:
            usage_types._parse_first_party(raw, prefix, rest)
    parsed = parse_usage_type(value)
    assert parsed.category in CATEGORIES
    assert parsed.route in ROUTES


FRAGMENTS = st.sampled_from(
    [
        "USE1", "EU", "MP:", "MP:USE1", "Nova2.0Lite", "Claude4.6Sonnet", "anthropic.claude-opus-4-8", "mantle",
        "input", "output", "cache", "read", "write", "tokens", "token", "count", "1h", "5m", "text", "image",
        "video", "speech", "cross", "region", "global", "geo", "eu", "batch", "flex", "priority", "standard",
        "long", "context", "ctx", "LCtx", "latency", "optimized", "Reserved", "1Month", "InputTPM",
        "ProvisionedThroughput", "NoCommit", "6Months", "ModelUnits", "Custom", "custom", "model", "Units",
        "T2I", "1024", "Premium", "Guardrail", "DataAutomation", "Knowledge", "Base", "MillionBatchInputTokens",
        "CacheWrite1hInputTokenCount", "", "-", "_", ":",
    ]
)  # fmt: skip


@hypothesis.given(st.lists(FRAGMENTS, max_size=10), st.lists(st.sampled_from(["-", "_", ""]), max_size=10))
@hypothesis.settings(max_examples=400, deadline=None)
def test_the_parser_never_raises_on_near_miss_usage_types(parts: list[str], joins: list[str]) -> None:
    value = "".join(part + (joins[i] if i < len(joins) else "-") for i, part in enumerate(parts))
    parsed = parse_usage_type(value)
    assert parsed.category in CATEGORIES
    if parsed.category != "tokens":
        assert parsed.category == "unparsed" or parsed.token_type not in {
            "input",
            "output",
            "cache_read",
            "cache_write",
        }


# --- normalise_model_token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Llama3-3-70B", "Llama3.3-70B"),
        ("Nova2Lite", "Nova2.0Lite"),
        ("nova2lite", "Nova2.0Lite"),
        ("NovaLite", "novalite"),
        ("Claude4.6Sonnet", "claude4.6sonnet"),
        ("Llama3-1-405B", "Llama3.1-405B"),
        ("DeepSeekV3-1", "deepseekv3.1"),
        (" NovaPro ", "NovaPro"),
    ],
)
def test_spelling_variants_of_one_model_normalise_equal(left: str, right: str) -> None:
    assert normalise_model_token(left) == normalise_model_token(right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Llama3-1-70B", "Llama3-3-70B"),
        ("NovaLite", "NovaPro"),
        ("Nova2.0Lite", "NovaLite"),
        ("Claude4Sonnet", "Claude4.5Sonnet"),
        ("Claude4.6Sonnet", "Claude4.6Opus"),
        ("gpt-oss-120b", "gpt-oss-20b"),
        ("PixtralLarge2502", "PixtralLarge2411"),
    ],
)
def test_different_models_do_not_normalise_equal(left: str, right: str) -> None:
    assert normalise_model_token(left) != normalise_model_token(right)


def test_normalising_is_idempotent_and_keeps_ids_readable() -> None:
    for token in ("Llama3-3-70B", "Nova2Lite", "PixtralLarge2502", "anthropic.claude-opus-4-8", "Nova2.0Omni"):
        once = normalise_model_token(token)
        assert normalise_model_token(once) == once
    assert normalise_model_token("PixtralLarge2502") == "pixtrallarge2502"
    assert normalise_model_token("Llama3-3-70B") == "llama3.3.70b"
    assert normalise_model_token("Nova2Lite") == "nova2.0lite"


# --- REGION_CODES and usage_type_for ------------------------------------------------------------


def test_region_codes_reverse_the_prefix_table() -> None:
    assert REGION_CODES["eu-west-1"] == "EU"
    assert REGION_CODES["us-east-1"] == "USE1"
    assert REGION_CODES["ap-south-1"] == "APS3"
    assert set(REGION_CODES) == set(REGION_PREFIXES.values())
    assert all(REGION_PREFIXES[prefix] == region for region, prefix in REGION_CODES.items())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"region_prefix": "USE1", "model_token": "Claude4.6Sonnet", "token_type": "input", "route": "in_region"},
            "USE1-Claude4.6Sonnet-input-tokens",
        ),
        (
            {
                "region_prefix": "USE1",
                "model_token": "Claude4Sonnet",
                "token_type": "input",
                "route": "global",
                "context": "long",
            },
            "USE1-Claude4Sonnet-input-tokens-long-context-cross-region-global",
        ),
        (
            {
                "region_prefix": "CAN2",
                "model_token": "Nova2.0Lite",
                "token_type": "cache_read",
                "route": "global",
                "service_tier": "priority",
            },
            "CAN2-Nova2.0Lite-cache-read-input-token-count-priority-cross-region-global",
        ),
        (
            {
                "region_prefix": "USE1",
                "model_token": "Nova2.0Lite",
                "token_type": "output",
                "route": "global",
                "service_tier": "batch",
            },
            "USE1-Nova2.0Lite-output-tokens-cross-region-global-batch",
        ),
        (
            {
                "region_prefix": "EUW3",
                "model_token": "Nova2.0Pro",
                "token_type": "input",
                "route": "global",
                "service_tier": "priority",
                "modality": "video",
            },
            "EUW3-Nova2.0Pro-input-video-token-count-priority-cross-region-global",
        ),
        (
            {"region_prefix": "USE1", "model_token": "Llama3-3-70B", "token_type": "output", "route": "in_region",
             "service_tier": "batch"},
            "USE1-Llama3-3-70B-output-tokens-batch",
        ),
        (
            {"region_prefix": "USE1", "model_token": "NovaPro", "token_type": "input", "route": "in_region",
             "service_tier": "latency_optimized"},
            "USE1-NovaPro-input-tokens-latency-optimized",
        ),
        (
            {"region_prefix": "USE1", "model_token": "Claude4.6Opus", "token_type": "cache_write", "route": "in_region",
             "cache_ttl": "1h"},
            "USE1-Claude4.6Opus-cache-write-1h-input-token-count",
        ),
        (
            {"region_prefix": "EU", "model_token": "Claude4.5Sonnet", "token_type": "output", "route": "geo",
             "geo": "eu"},
            "EU-Claude4.5Sonnet-output-tokens-cross-region-eu",
        ),
        (
            {"region_prefix": "USE1", "model_token": "NovaSonic", "token_type": "output", "route": "in_region",
             "modality": "speech"},
            "USE1-NovaSonic-speech-output-tokens",
        ),
    ],
)  # fmt: skip
def test_usage_type_for_spells_the_price_list_forms(kwargs: dict, expected: str) -> None:
    assert usage_type_for(**kwargs) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"token_type": "image"},
        {"token_type": "model_unit_hour"},
        {"service_tier": "reserved"},
        {"service_tier": "provisioned"},
        {"route": "sideways"},
        {"context": "huge"},
        {"modality": "smell"},
        {"cache_ttl": "1h"},
        {"token_type": "cache_write", "cache_ttl": "2d"},
        {"token_type": "cache_read", "modality": "image"},
        {"geo": "eu"},
        {"region_prefix": "us-east-1"},
        {"region_prefix": ""},
        {"model_token": ""},
        {"model_token": "Llama3-1-70B-LatencyOptimized"},  # reads back as Llama3-1-70B, latency-optimized
        {"model_token": "NovaLite-mantle"},  # reads back as NovaLite on the mantle endpoint
        {"model_token": "Guardrail"},
    ],
)
def test_usage_type_for_refuses_dimensions_it_cannot_spell(kwargs: dict) -> None:
    base = {"region_prefix": "USE1", "model_token": "NovaLite", "token_type": "input", "route": "in_region"}
    with pytest.raises(ValueError):
        usage_type_for(**{**base, **kwargs})


def test_usage_type_for_accepts_a_lowercase_region_prefix() -> None:
    spelled = usage_type_for(region_prefix="use1", model_token="NovaLite", token_type="input", route="in_region")
    assert spelled == "USE1-NovaLite-input-tokens"


MODEL_TOKENS = st.one_of(
    st.sampled_from(
        [
            "NovaLite", "Nova2.0Lite", "Nova2.0Omni", "Claude4.6Sonnet", "Claude4Sonnet", "Llama3-3-70B",
            "Llama3.3-70B", "PixtralLarge2502", "Qwen3-32B", "gpt-oss-120b", "DeepSeekV3-1", "deepseek.v3.2",
            "anthropic.claude-opus-4-8", "GPT-OSS-Safeguard-20B", "TitanEmbeddingV2-Text", "NovaSonic2.0",
            "Mistral-Large-3-675b-Instruct", "openai.gpt-5.6-luna",
        ]
    ),
    st.from_regex(r"[A-Z][a-z]{2,7}[0-9](\.[0-9])?[A-Z][a-z]{2,7}", fullmatch=True),
    st.from_regex(r"[a-z]{3,8}\.[a-z]{3,8}-[0-9]{1,3}(\.[0-9])?", fullmatch=True),
)  # fmt: skip


@st.composite
def dimensions(draw: st.DrawFn) -> dict:
    token_type = draw(st.sampled_from(["input", "output", "cache_read", "cache_write"]))
    route = draw(st.sampled_from(ROUTES))
    return {
        "region_prefix": draw(st.sampled_from(sorted(REGION_CODES.values()))),
        "model_token": draw(MODEL_TOKENS),
        "token_type": token_type,
        "route": route,
        "geo": draw(st.sampled_from([None, "eu", "apac", "us", "jp", "au"])) if route == "geo" else None,
        "service_tier": draw(st.sampled_from(["standard", "batch", "flex", "priority", "latency_optimized"])),
        "context": draw(st.sampled_from(CONTEXTS)),
        "cache_ttl": draw(st.sampled_from([None, *CACHE_TTLS])) if token_type == "cache_write" else None,
        "modality": draw(st.sampled_from([None, *MODALITIES])) if token_type in ("input", "output") else None,
    }


@hypothesis.given(dimensions())
@hypothesis.settings(max_examples=500, deadline=None)
def test_usage_type_for_round_trips_through_the_parser(dims: dict) -> None:
    parsed = parse_usage_type(usage_type_for(**dims))
    expected = {**dims, "cache_ttl": dims["cache_ttl"] or ("5m" if dims["token_type"] == "cache_write" else None)}
    assert {name: getattr(parsed, name) for name in expected} == expected
    assert (parsed.category, parsed.mantle, parsed.is_marketplace) == ("tokens", False, False)
