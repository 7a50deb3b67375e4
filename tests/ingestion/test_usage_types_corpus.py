"""Every real usage type in tests/fixtures/pricelist/usage_types.txt parses into its billing dimensions.

The expected values below were worked out by hand from each string and reference/aws-formats.md A.7 /
reference/aws-pricelist.md, one entry per corpus line. When AWS adds a shape, add the string to the
corpus and its dimensions here; a line without an entry fails ``test_every_corpus_line_has_an_expectation``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.parsers.usage_types import CATEGORIES, REGION_PREFIXES, parse_usage_type, usage_type_for

CORPUS_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "pricelist" / "usage_types.txt"


def _corpus() -> list[str]:
    lines = (line.strip() for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


CORPUS = _corpus()

# Shapes in the corpus this parser deliberately cannot place. None today.
UNKNOWN_SHAPES: set[str] = set()

DIMENSIONS = (
    "region_prefix",
    "model_token",
    "token_type",
    "modality",
    "context",
    "cache_ttl",
    "route",
    "geo",
    "service_tier",
    "commitment",
    "unit_scale",
    "category",
    "mantle",
    "is_marketplace",
    "variant",
)
DEFAULTS = {
    "model_token": None,
    "token_type": None,
    "modality": None,
    "context": "standard",
    "cache_ttl": None,
    "route": "in_region",
    "geo": None,
    "service_tier": "standard",
    "commitment": None,
    "unit_scale": None,
    "mantle": False,
    "is_marketplace": False,
    "variant": None,
}
G, GEO, LONG, M = "global", "geo", "long", 1_000_000
CUSTOM = "custom-model"


def tok(model: str, token_type: str, **dims: object) -> dict[str, object]:
    """A first-party token row; a cache write without a TTL word is billed as the 5-minute write."""
    if token_type == "cache_write":
        dims.setdefault("cache_ttl", "5m")
    return {"model_token": model, "token_type": token_type, "category": "tokens", **dims}


def mantle(model: str, token_type: str, **dims: object) -> dict[str, object]:
    return tok(model, token_type, mantle=True, **dims)


def mp(token_type: str | None, category: str = "tokens", **dims: object) -> dict[str, object]:
    """A Marketplace row: the model is the CUR product name, never part of the usage type."""
    if token_type == "cache_write":
        dims.setdefault("cache_ttl", "5m")
    return {"token_type": token_type, "category": category, "is_marketplace": True, **dims}


def pt(model: str | None, commitment: str | None, **dims: object) -> dict[str, object]:
    return {
        "model_token": model,
        "token_type": "model_unit_hour",
        "service_tier": "provisioned",
        "commitment": commitment,
        "category": "provisioned_throughput",
        **dims,
    }


def reserved(direction: str, commitment: str, route: str) -> dict[str, object]:
    return mp(
        None,
        "reserved_capacity",
        service_tier="reserved",
        commitment=commitment,
        route=route,
        variant=f"{direction}_tpm",
    )


def feature(category: str, variant: str, **dims: object) -> dict[str, object]:
    return {"category": category, "variant": variant, **dims}


def image(model: str, variant: str, **dims: object) -> dict[str, object]:
    return {"model_token": model, "token_type": "image", "category": "image", "variant": variant, **dims}


EXPECTED: dict[str, dict[str, object]] = {
    # --- reference files ---------------------------------------------------------------------
    "USE1-NovaLite-input-tokens": tok("NovaLite", "input"),
    "USE1-NovaLite-output-tokens": tok("NovaLite", "output"),
    "USE1-NovaPro-input-tokens": tok("NovaPro", "input"),
    "USE1-Nova2.0Lite-input-tokens": tok("Nova2.0Lite", "input"),
    "USE1-Nova2.0Lite-cache-read-input-token-count": tok("Nova2.0Lite", "cache_read"),
    "USE1-Nova2.0Lite-cache-write-input-token-count": tok("Nova2.0Lite", "cache_write"),
    "USE1-Claude4.6Sonnet-input-tokens": tok("Claude4.6Sonnet", "input"),
    "USE1-Claude4.6Sonnet-output-tokens": tok("Claude4.6Sonnet", "output"),
    "USW2-Claude4.6Sonnet-input-tokens": tok("Claude4.6Sonnet", "input"),
    "USW2-Claude4.6Sonnet-cache-read-input-token-count": tok("Claude4.6Sonnet", "cache_read"),
    "USW2-Claude4.6Sonnet-cache-write-input-token-count": tok("Claude4.6Sonnet", "cache_write"),
    "USW2-Claude4.5Sonnet-input-tokens": tok("Claude4.5Sonnet", "input"),
    "USE1-Claude4.6Opus-input-tokens": tok("Claude4.6Opus", "input"),
    "USE1-Claude4.6Opus-output-tokens": tok("Claude4.6Opus", "output"),
    "USE1-Claude4Sonnet-input-tokens-cross-region-global": tok("Claude4Sonnet", "input", route=G),
    "USE1-Claude4Sonnet-cache-read-input-token-count-cross-region-global": tok("Claude4Sonnet", "cache_read", route=G),
    "USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-standard": mantle(
        "anthropic.claude-opus-4-8", "cache_write"
    ),
    "USE1-Nova2.0Lite-ProvisionedThroughput-NoCommit-ModelUnits": pt("Nova2.0Lite", "none"),
    "USE1-Nova-ProvisionedThroughput": pt("Nova", None),
    "USE1-Nova2.0Lite-Customization-Training": {"model_token": "Nova2.0Lite", "category": "customization"},
    "USE1-Nova2.0Lite-Customization-Storage": {"model_token": "Nova2.0Lite", "category": "storage"},
    "USE1-Nova2.0Lite-input-tokens-custom-model": tok("Nova2.0Lite", "input", variant=CUSTOM),
    "USE1-NovaCanvas-T2I-1024-Standard": image("NovaCanvas", "T2I-1024-Standard"),
    "USE1-NovaCanvas-T2I-1024-Premium": image("NovaCanvas", "T2I-1024-Premium"),
    "USE1-Guardrail-ContentPolicyImageUnitsConsumed": feature(
        "guardrail", "ContentPolicyImageUnitsConsumed", modality="image"
    ),
    "USE1-MP:USE1_InputTokenCount-Units": mp("input"),
    "USE1-MP:USE1_OutputTokenCount-Units": mp("output"),
    "USE1-MP:USE1_CacheReadInputTokenCount-Units": mp("cache_read"),
    "USE1-MP:USE1_CacheWriteInputTokenCount-Units": mp("cache_write"),
    "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units": mp("cache_write", cache_ttl="1h", route=G),
    "USE1-MP:USE1_InputTokenCount_Global-Units": mp("input", route=G),
    "USE1-MP:USE1_InputTokenCount_Batch-Units": mp("input", service_tier="batch"),
    "USW2-MP:USW2_InputTokenCount-Units": mp("input"),
    "USE1-MP:USE1_input_tokens_standard-Units": mp("input"),
    "USE1-MP:USE1_output_tokens_standard-Units": mp("output"),
    "APS3-MP:APS3_input_tokens_global_standard-Units": mp("input", route=G),
    "USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units": reserved("input", "1m", GEO),
    "USW2-NovaMicro-output-tokens": tok("NovaMicro", "output"),
    "MEC1-NovaLite-cache-read-input-token-count": tok("NovaLite", "cache_read"),
    "CAN2-Nova2.0Lite-cache-read-input-token-count-priority-cross-region-global": tok(
        "Nova2.0Lite", "cache_read", service_tier="priority", route=G
    ),
    "USE1-Llama3-3-70B-output-tokens-batch": tok("Llama3-3-70B", "output", service_tier="batch"),
    "USE1-Claude4Sonnet-input-tokens-long-context-cross-region-global": tok(
        "Claude4Sonnet", "input", context=LONG, route=G
    ),
    "EUW3-Nova2.0Pro-input-video-token-count-priority-cross-region-global": tok(
        "Nova2.0Pro", "input", modality="video", service_tier="priority", route=G
    ),
    "APN2-Nova2.0Omni-text-output-tokens-flex-cross-region-global": tok(
        "Nova2.0Omni", "output", service_tier="flex", route=G
    ),
    "EUS1-MP:EUS1_InputTokenCount-Units": mp("input"),
    "APN2-MP:APN2_InputTokenCount_Global-Units": mp("input", route=G),
    "APS6-MP:APS6_CacheReadInputTokenCount_LCtx-Units": mp("cache_read", context=LONG),
    "APS9-MP:APS9_CacheWrite1hInputTokenCount_Global-Units": mp("cache_write", cache_ttl="1h", route=G),
    "EUN1-MP:EUN1_OutputTokenCount_Global_Batch-Units": mp("output", route=G, service_tier="batch"),
    "APN1-MP:APN1_MillionBatchInputTokens-Units": mp("input", service_tier="batch", unit_scale=M),
    "EU-MP:EU_CacheWriteInputTokenCount_Global-Units": mp("cache_write", route=G),
    "USW2-MP:USW2_ProvisionedThroughput_6MonthsCommit_ModelUnits_Usage-Units": pt(None, "6m", is_marketplace=True),
    "USE1-MP:USE1_CustomModel_ProvisionedThroughput_NoCommit-Units": pt(
        None, "none", is_marketplace=True, variant=CUSTOM
    ),
    "USW2-TitanImageGeneratorV2-ProvisionedThroughput-6months-ModelUnits": pt("TitanImageGeneratorV2", "6m"),
    "APN3-MP:APN3_Reserved_1Month_OutputTPM_Geo-Units": reserved("output", "1m", GEO),
    "EUS2-Guardrail-ContentPolicyUnitsConsumed": feature("guardrail", "ContentPolicyUnitsConsumed"),
    # --- first-party token rows --------------------------------------------------------------
    "USE2-NovaMicro-input-tokens": tok("NovaMicro", "input"),
    "USE1-NovaMicro-input-tokens": tok("NovaMicro", "input"),
    "USE1-NovaMicro-output-tokens": tok("NovaMicro", "output"),
    "USE1-NovaMicro-cache-read-input-token-count": tok("NovaMicro", "cache_read"),
    "USE1-NovaMicro-cache-write-input-token-count": tok("NovaMicro", "cache_write"),
    "USE1-NovaMicro-input-tokens-batch": tok("NovaMicro", "input", service_tier="batch"),
    "USE1-NovaMicro-output-tokens-batch": tok("NovaMicro", "output", service_tier="batch"),
    "USE1-NovaPro-output-tokens": tok("NovaPro", "output"),
    "USE1-NovaPro-input-tokens-priority": tok("NovaPro", "input", service_tier="priority"),
    "USE1-NovaPro-cache-read-input-token-count": tok("NovaPro", "cache_read"),
    "USE1-NovaPro-cache-write-input-token-count": tok("NovaPro", "cache_write"),
    "EUW1-NovaPro-input-tokens": tok("NovaPro", "input"),
    "USE1-NovaPro-input-tokens-latency-optimized": tok("NovaPro", "input", service_tier="latency_optimized"),
    "USE1-Nova2.0Lite-input-tokens-priority": tok("Nova2.0Lite", "input", service_tier="priority"),
    "USE1-Nova2.0Lite-input-tokens-cross-region-global": tok("Nova2.0Lite", "input", route=G),
    "USE1-Nova2.0Lite-input-tokens-flex-cross-region-global": tok("Nova2.0Lite", "input", service_tier="flex", route=G),
    "USE1-Nova2.0Lite-output-tokens-flex-cross-region-global": tok(
        "Nova2.0Lite", "output", service_tier="flex", route=G
    ),
    "USE1-Nova2.0Lite-output-tokens-cross-region-global": tok("Nova2.0Lite", "output", route=G),
    "USE1-Nova2.0Lite-output-tokens-cross-region-global-batch": tok(
        "Nova2.0Lite", "output", route=G, service_tier="batch"
    ),
    "USE1-Nova2.0Lite-cache-read-input-token-count-cross-region-global": tok("Nova2.0Lite", "cache_read", route=G),
    "USW2-Nova2.0Lite-input-tokens": tok("Nova2.0Lite", "input"),
    "USW2-Nova2.0Lite-output-tokens": tok("Nova2.0Lite", "output"),
    "USW2-Nova2.0Lite-cache-read-input-token-count": tok("Nova2.0Lite", "cache_read"),
    "USW2-Nova2.0Lite-cache-write-input-token-count-flex": tok("Nova2.0Lite", "cache_write", service_tier="flex"),
    "USW2-Nova2.0Lite-input-tokens-priority-cross-region-global": tok(
        "Nova2.0Lite", "input", service_tier="priority", route=G
    ),
    "APN1-Nova2.0Lite-input-tokens": tok("Nova2.0Lite", "input"),
    "APN1-Nova2.0Lite-output-tokens": tok("Nova2.0Lite", "output"),
    "USE1-Nova2.0Pro-text-input-tokens": tok("Nova2.0Pro", "input"),
    "USE1-Nova2.0Pro-text-input-tokens-cross-region-global": tok("Nova2.0Pro", "input", route=G),
    "USE1-Claude3Haiku-input-tokens": tok("Claude3Haiku", "input"),
    "USE1-Claude4Sonnet-input-tokens-flex": tok("Claude4Sonnet", "input", service_tier="flex"),
    "USE1-Claude4Sonnet-input-tokens-cross-region-global-batch": tok(
        "Claude4Sonnet", "input", route=G, service_tier="batch"
    ),
    "USE1-Claude4Sonnet-output-tokens-long-context-cross-region-global": tok(
        "Claude4Sonnet", "output", context=LONG, route=G
    ),
    "USE1-Claude4Sonnet-cache-read-input-token-count-long-context-cross-region-global": tok(
        "Claude4Sonnet", "cache_read", context=LONG, route=G
    ),
    "USE1-Claude4.6Opus-input-tokens-cross-region-global": tok("Claude4.6Opus", "input", route=G),
    "USE1-Claude4.6Opus-cache-read-input-token-count-cross-region-global": tok("Claude4.6Opus", "cache_read", route=G),
    "USE1-Llama3-3-70B-input-tokens": tok("Llama3-3-70B", "input"),
    "USE1-Llama3-3-70B-output-tokens": tok("Llama3-3-70B", "output"),
    "USE1-Llama3-1-70B-input-tokens": tok("Llama3-1-70B", "input"),
    "USE1-Llama3-1-70B-LatencyOptimized-input-tokens": tok("Llama3-1-70B", "input", service_tier="latency_optimized"),
    "USE1-Llama3-1-405B-output-tokens-batch": tok("Llama3-1-405B", "output", service_tier="batch"),
    "USE1-Qwen3-32B-input-tokens": tok("Qwen3-32B", "input"),
    "USE1-Qwen3-32B-output-tokens": tok("Qwen3-32B", "output"),
    "USE1-Qwen3-32B-input-tokens-flex": tok("Qwen3-32B", "input", service_tier="flex"),
    "USE1-Qwen3-32B-output-tokens-priority": tok("Qwen3-32B", "output", service_tier="priority"),
    "USE1-Qwen3-32B-input-tokens-batch": tok("Qwen3-32B", "input", service_tier="batch"),
    "USE1-Qwen3-32B-input-tokens-cross-region-global": tok("Qwen3-32B", "input", route=G),
    "USE1-DeepSeekV3-1-input-tokens": tok("DeepSeekV3-1", "input"),
    "USE1-deepseek.v3.2-input-tokens": tok("deepseek.v3.2", "input"),
    "USE1-deepseek.v3.2-output-tokens": tok("deepseek.v3.2", "output"),
    "USE1-gpt-oss-120b-input-tokens": tok("gpt-oss-120b", "input"),
    "USE1-gpt-oss-120b-input-tokens-batch": tok("gpt-oss-120b", "input", service_tier="batch"),
    "USE1-GPT-OSS-Safeguard-20B-output-tokens-batch": tok("GPT-OSS-Safeguard-20B", "output", service_tier="batch"),
    "USE1-nvidia.nemotron-super-3-120b-input-tokens-flex": tok(
        "nvidia.nemotron-super-3-120b", "input", service_tier="flex"
    ),
    "USW2-Mistral-Large-3-675b-Instruct-output-tokens": tok("Mistral-Large-3-675b-Instruct", "output"),
    "USW2-Mistral-Large-3-675b-Instruct-input-tokens-batch": tok(
        "Mistral-Large-3-675b-Instruct", "input", service_tier="batch"
    ),
    # `-Text` is part of the Titan embeddings model name, not the text modality.
    "EU-TitanEmbeddingV2-Text-input-tokens": tok("TitanEmbeddingV2-Text", "input"),
    # --- Nova 2 / Nova Sonic modalities: tokens of every modality stay tokens --------------------
    "USE1-Nova2.0Pro-input-image-token-count": tok("Nova2.0Pro", "input", modality="image"),
    "USE1-Nova2.0Omni-input-image-token-count": tok("Nova2.0Omni", "input", modality="image"),
    "USE1-Nova2.0Omni-output-image-token-count": tok("Nova2.0Omni", "output", modality="image"),
    "USE1-Nova2.0Omni-input-audio-token-count": tok("Nova2.0Omni", "input", modality="audio"),
    "USE1-Nova2.0Omni-input-video-token-count": tok("Nova2.0Omni", "input", modality="video"),
    "USE1-Nova2.0Omni-input-image-token-count-batch": tok(
        "Nova2.0Omni", "input", modality="image", service_tier="batch"
    ),
    "USW2-Nova2.0Omni-input-audio-token-count": tok("Nova2.0Omni", "input", modality="audio"),
    "USE1-NovaSonic-speech-input-tokens": tok("NovaSonic", "input", modality="speech"),
    "USE1-NovaSonic-speech-output-tokens": tok("NovaSonic", "output", modality="speech"),
    "USE1-NovaSonic2.0-speech-input-tokens": tok("NovaSonic2.0", "input", modality="speech"),
    "USE1-NovaSonic-speech-understanding-input-token": tok("NovaSonic", "input", modality="speech"),
    "USE1-NovaSonic-text-input-tokens": tok("NovaSonic", "input"),
    "USE1-NovaSonic-text-output-tokens": tok("NovaSonic", "output"),
    # --- custom-model inference ----------------------------------------------------------------
    "USE1-NovaLite-input-tokens-custom-model": tok("NovaLite", "input", variant=CUSTOM),
    "USE1-NovaPro-output-tokens-custom-model": tok("NovaPro", "output", variant=CUSTOM),
    "USE1-NovaPro-cache-write-input-token-count-custom-model": tok("NovaPro", "cache_write", variant=CUSTOM),
    "USE1-NovaMicro-cache-read-input-token-count-custom-model": tok("NovaMicro", "cache_read", variant=CUSTOM),
    "USE1-Nova2.0Lite-output-tokens-custom-model": tok("Nova2.0Lite", "output", variant=CUSTOM),
    "USE1-Nova2.0Lite-cache-read-input-token-count-custom-model": tok("Nova2.0Lite", "cache_read", variant=CUSTOM),
    # --- mantle endpoint -----------------------------------------------------------------------
    "USW2-anthropic.claude-opus-4-8-mantle-input-tokens-global-standard": mantle(
        "anthropic.claude-opus-4-8", "input", route=G
    ),
    "USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-global-standard": mantle(
        "anthropic.claude-opus-4-8", "cache_write", route=G
    ),
    "USW2-anthropic.claude-opus-5-mantle-input-tokens-standard": mantle("anthropic.claude-opus-5", "input"),
    "USW2-anthropic.claude-opus-5-mantle-input-tokens-global-standard": mantle(
        "anthropic.claude-opus-5", "input", route=G
    ),
    "USE1-openai.gpt-oss-120b-mantle-input-tokens-standard": mantle("openai.gpt-oss-120b", "input"),
    "USE1-openai.gpt-5.6-luna-mantle-cache-write-tokens-5m-long-ctx-flex": mantle(
        "openai.gpt-5.6-luna", "cache_write", cache_ttl="5m", context=LONG, service_tier="flex"
    ),
    "UGW1-openai.gpt-5.6-terra-mantle-input-tokens-priority": mantle(
        "openai.gpt-5.6-terra", "input", service_tier="priority"
    ),
    "USE1-qwen.qwen3-32b-mantle-input-tokens-standard": mantle("qwen.qwen3-32b", "input"),
    "USE1-qwen.qwen3-32b-mantle-output-tokens-flex": mantle("qwen.qwen3-32b", "output", service_tier="flex"),
    "USE1-qwen.qwen3-32b-mantle-input-tokens-priority": mantle("qwen.qwen3-32b", "input", service_tier="priority"),
    "USE1-qwen.qwen3-32b-mantle-output-tokens-batch": mantle("qwen.qwen3-32b", "output", service_tier="batch"),
    "USE1-qwen.qwen3-next-80b-a3b-instruct-mantle-input-tokens-standard": mantle(
        "qwen.qwen3-next-80b-a3b-instruct", "input"
    ),
    "USE1-xai.grok-4.3-mantle-cache-read-tokens-standard": mantle("xai.grok-4.3", "cache_read"),
    "USE1-xai.grok-4.6-mantle-input-tokens-global-standard": mantle("xai.grok-4.6", "input", route=G),
    "USE1-deepseek.v3.2-mantle-input-tokens-standard": mantle("deepseek.v3.2", "input"),
    "USE1-deepseek.v3.2-mantle-output-tokens-standard": mantle("deepseek.v3.2", "output"),
    "USE1-minimax.minimax-m2.5-mantle-input-tokens-standard": mantle("minimax.minimax-m2.5", "input"),
    "USE1-mistral.magistral-small-2509-mantle-input-tokens-standard": mantle("mistral.magistral-small-2509", "input"),
    "USE1-mistral.voxtral-mini-3b-2507-mantle-input-tokens-standard": mantle("mistral.voxtral-mini-3b-2507", "input"),
    "USE1-mistral.devstral-2-123b-mantle-input-tokens-standard": mantle("mistral.devstral-2-123b", "input"),
    "USW2-nvidia.nemotron-super-3-120b-mantle-output-tokens-standard": mantle("nvidia.nemotron-super-3-120b", "output"),
    "USW2-mistral.mistral-large-3-675b-instruct-mantle-input-tokens-standard": mantle(
        "mistral.mistral-large-3-675b-instruct", "input"
    ),
    "USW2-moonshotai.kimi-k3-mantle-cache-read-tokens-standard": mantle("moonshotai.kimi-k3", "cache_read"),
    "USW2-moonshotai.kimi-k3-mantle-cache-write-tokens-30m-standard": mantle(
        "moonshotai.kimi-k3", "cache_write", cache_ttl="30m"
    ),
    "USW2-moonshotai.kimi-k3-mantle-input-tokens-global-flex": mantle(
        "moonshotai.kimi-k3", "input", route=G, service_tier="flex"
    ),
    # --- Marketplace tokens ----------------------------------------------------------------------
    "USE1-MP:USE1_OutputTokenCount_Global-Units": mp("output", route=G),
    "USE1-MP:USE1_CacheWrite1hInputTokenCount-Units": mp("cache_write", cache_ttl="1h"),
    "USE1-MP:USE1_InputTokenCount_Global_Batch-Units": mp("input", route=G, service_tier="batch"),
    "USE1-MP:USE1_MillionBatchInputTokens-Units": mp("input", service_tier="batch", unit_scale=M),
    "USE1-MP:USE1_MillionBatchOutputTokens-Units": mp("output", service_tier="batch", unit_scale=M),
    "USE1-MP:USE1_input_tokens_global_standard-Units": mp("input", route=G),
    "USE1-MP:USE1_cache_write_tokens_global_standard-Units": mp("cache_write", route=G),
    "USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units": mp("cache_write", cache_ttl="1h", route=G),
    "USE1-MP:USE1_cache_write_tokens_1h_long_ctx_standard-Units": mp("cache_write", cache_ttl="1h", context=LONG),
    "USE1-MP:USE1_input_tokens_long_ctx_standard-Units": mp("input", context=LONG),
    "USE1-MP:USE1_input_tokens_long_ctx_global_standard-Units": mp("input", context=LONG, route=G),
    "USE1-MP:USE1_output_tokens_batch-Units": mp("output", service_tier="batch"),
    "USW2-MP:USW2_InputTokenCount_Global-Units": mp("input", route=G),
    "USW2-MP:USW2_OutputTokenCount-Units": mp("output"),
    "USW2-MP:USW2_CacheWrite1hInputTokenCount-Units": mp("cache_write", cache_ttl="1h"),
    "USW2-MP:USW2_OutputTokenCount_LatencyOptimized-Units": mp("output", service_tier="latency_optimized"),
    "USW2-MP:USW2_input_tokens_standard-Units": mp("input"),
    "USW2-MP:USW2_output_tokens_standard-Units": mp("output"),
    "USW2-MP:USW2_cache_write_tokens_standard-Units": mp("cache_write"),
    "USW2-MP:USW2_cache_write_tokens_1h_standard-Units": mp("cache_write", cache_ttl="1h"),
    "USW2-MP:USW2_input_tokens_long_ctx_global_standard-Units": mp("input", context=LONG, route=G),
    "USW2-MP:USW2_output_tokens_long_ctx_standard-Units": mp("output", context=LONG),
    "EUW2-MP:EUW2_InputTokenCount_Global-Units": mp("input", route=G),
    "EUW2-MP:EUW2_InputTokenCount_Global_Batch-Units": mp("input", route=G, service_tier="batch"),
    "EUW2-MP:EUW2_OutputTokenCount_Global_Batch-Units": mp("output", route=G, service_tier="batch"),
    "EUC1-MP:EUC1_InputTokenCount-Units": mp("input"),
    # --- Marketplace non-token rows --------------------------------------------------------------
    "USE1-MP:USE1_Created_image-Units": mp("image", "image", modality="image", variant="Created_image"),
    "USE1-MP:USE1_created_image_stable_image_core-Units": mp(
        "image", "image", modality="image", variant="created_image_stable_image_core"
    ),
    "USE1-MP:USE1_InputImageCount-Units": mp("image", "image", modality="image", variant="InputImageCount"),
    "USE1-MP:USE1_inputVideoSecond-Units": mp(None, "video", modality="video", variant="inputVideoSecond"),
    "USE1-MP:USE1_Reserved_3Month_OutputTPM_Global-Units": reserved("output", "3m", G),
    "USW2-MP:USW2_Reserved_1Month_InputTPM_Geo-Units": reserved("input", "1m", GEO),
    "APS7-MP:APS7_Reserved_1Month_InputTPM_Geo-Units": reserved("input", "1m", GEO),
    "USE1-MP:USE1_ProvisionedThroughput_NoCommit_ModelUnits_Usage-Units": pt(None, "none", is_marketplace=True),
    # --- provisioned throughput, customization, images, video ----------------------------------
    "USE1-Nova2.0Lite-ProvisionedThroughput-1month-ModelUnits": pt("Nova2.0Lite", "1m"),
    "USE1-NovaCanvas-ProvisionedThroughput-NoCommit-ModelUnits": pt("NovaCanvas", "none"),
    "USE1-Qwen3-32B-ProvisionedThroughput-NoCommit-ModelUnits": pt("Qwen3-32B", "none"),
    "USW2-Llama3-1-70B-ProvisionedThroughput-NoCommit-ModelUnits": pt("Llama3-1-70B", "none"),
    "USE1-TitanImageGeneratorG1-ProvisionedThroughput-NoCommit-ModelUnits": pt("TitanImageGeneratorG1", "none"),
    "USE1-TitanText-Premier-ProvisionedThroughput-Custom-NoCommit-ModelUnits": pt(
        "TitanText-Premier", "none", variant=CUSTOM
    ),
    "USE1-NovaPro-Customization-Training": {"model_token": "NovaPro", "category": "customization"},
    "USE1-NovaCanvas-Customization-Training": {"model_token": "NovaCanvas", "category": "customization"},
    "USE1-Nova2.0Lite-RFT-Training-Hours": {
        "model_token": "Nova2.0Lite",
        "category": "customization",
        "variant": "RFT-Training-Hours",
    },
    "USE1-OSS-CustomModelImport-Inference-v1:0": {
        "model_token": "OSS",
        "category": "customization",
        "variant": "CustomModelImport-Inference-v1:0",
    },
    "USE1-NovaCanvas-I2I-2048-Standard": image("NovaCanvas", "I2I-2048-Standard"),
    "USE1-TitanImageGeneratorG1-T2I-1024-Standard": image("TitanImageGeneratorG1", "T2I-1024-Standard"),
    "USE1-TitanImageGeneratorG1-T2I-1024-Premium": image("TitanImageGeneratorG1", "T2I-1024-Premium"),
    "USE1-TitanImageGeneratorG1-I2I-1024-Standard": image("TitanImageGeneratorG1", "I2I-1024-Standard"),
    "USE1-TitanImageGeneratorG1-Custom-T2I-1024-Standard": image("TitanImageGeneratorG1", "Custom-T2I-1024-Standard"),
    "USE1-TitanEmbeddingsG1-Image-input-image": image("TitanEmbeddingsG1-Image", "input-image", modality="image"),
    "USE1-NovaReel-T2V-Medfps-HDRes": {
        "model_token": "NovaReel",
        "category": "video",
        "modality": "video",
        "variant": "T2V-Medfps-HDRes",
    },
    "USW2-Ray-V2-Medfps-HDRes": {
        "model_token": "Ray-V2",
        "category": "video",
        "modality": "video",
        "variant": "Medfps-HDRes",
    },
    # --- other Bedrock features ------------------------------------------------------------------
    "USE1-NovaMultiModalEmbeddings-input-audio-second": {
        "model_token": "NovaMultiModalEmbeddings",
        "category": "other",
        "modality": "audio",
        "variant": "input-audio-second",
    },
    "USW2-AmazonRerank-v1-searchunits": {
        "model_token": "AmazonRerank-v1",
        "category": "other",
        "variant": "searchunits",
    },
    "APN1-AmazonRerank-v1-searchunits": {
        "model_token": "AmazonRerank-v1",
        "category": "other",
        "variant": "searchunits",
    },
    "USE1-Nova2.0Lite-nova-grounding": {"model_token": "Nova2.0Lite", "category": "other", "variant": "nova-grounding"},
    # --- guardrails, knowledge bases, data automation --------------------------------------------
    "USE1-Guardrail-ContentPolicyUnitsConsumed": feature("guardrail", "ContentPolicyUnitsConsumed"),
    "USE1-Guardrail-TopicPolicyUnitsConsumed": feature("guardrail", "TopicPolicyUnitsConsumed"),
    "USE1-Guardrail-WordPolicyUnitsConsumed": feature("guardrail", "WordPolicyUnitsConsumed"),
    "USE1-Guardrail-SensitiveInformationPolicyPaidUnitsConsumed": feature(
        "guardrail", "SensitiveInformationPolicyPaidUnitsConsumed"
    ),
    "USE1-Guardrail-SensitiveInformationPolicyFreeUnitsConsumed": feature(
        "guardrail", "SensitiveInformationPolicyFreeUnitsConsumed"
    ),
    "USE1-Guardrail-AutomatedReasoningPolicyUnitsConsumed": feature(
        "guardrail", "AutomatedReasoningPolicyUnitsConsumed"
    ),
    "EUW2-Guardrail-SensitiveInformationPolicyPaidUnitsConsumed": feature(
        "guardrail", "SensitiveInformationPolicyPaidUnitsConsumed"
    ),
    "EUW2-Guardrail-ContextualGroundingPolicyUnitsConsumed": feature(
        "guardrail", "ContextualGroundingPolicyUnitsConsumed"
    ),
    "UGW1-Guardrail-ContextualGroundingPolicyUnitsConsumed": feature(
        "guardrail", "ContextualGroundingPolicyUnitsConsumed"
    ),
    "USE1-GuardrailChecks-ContentFilterCheckUnitsConsumed": feature("guardrail", "ContentFilterCheckUnitsConsumed"),
    "USE1-GuardrailChecks-PromptAttackCheckUnitsConsumed": feature("guardrail", "PromptAttackCheckUnitsConsumed"),
    "USE1-GuardrailChecks-SensitiveInformationCheckUnitsConsumed": feature(
        "guardrail", "SensitiveInformationCheckUnitsConsumed"
    ),
    "EUW2-Knowledge-Base:Consumption-based:Storage": feature("knowledge_base", "Consumption-based:Storage"),
    "EUW2-Knowledge-Base:Consumption-based:Retrieval": feature("knowledge_base", "Consumption-based:Retrieval"),
    "USE1-DataAutomation-Standard-ImagesProcessed": feature(
        "data_automation", "Standard-ImagesProcessed", modality="image"
    ),
    "USE1-DataAutomation-Custom-ImagesProcessed": feature(
        "data_automation", "Custom-ImagesProcessed", modality="image"
    ),
}


def expected_dimensions(value: str) -> dict[str, object]:
    """The full expected dimensions of a corpus line: its entry over the defaults, prefix from the string."""
    return {"region_prefix": value.split("-", 1)[0], **DEFAULTS, **EXPECTED[value]}


def parsed_dimensions(value: str) -> dict[str, object]:
    parsed = parse_usage_type(value)
    return {name: getattr(parsed, name) for name in DIMENSIONS}


def test_the_corpus_is_large_and_has_no_duplicates() -> None:
    assert len(CORPUS) >= 100
    assert len(CORPUS) == len(set(CORPUS))


def test_every_corpus_line_has_an_expectation() -> None:
    assert set(CORPUS) - set(EXPECTED) == set()
    assert set(EXPECTED) - set(CORPUS) == set(), "an expectation for a string that is not in the corpus"


@pytest.mark.parametrize("value", CORPUS)
def test_it_parses_every_corpus_line_into_its_dimensions(value: str) -> None:
    assert parsed_dimensions(value) == expected_dimensions(value)


@pytest.mark.parametrize("value", CORPUS)
def test_every_corpus_region_prefix_is_a_known_region(value: str) -> None:
    parsed = parse_usage_type(value)
    assert parsed.region == REGION_PREFIXES[parsed.region_prefix]


def test_no_corpus_line_is_unparsed_except_the_listed_unknown_shapes() -> None:
    unparsed = {value for value in CORPUS if parse_usage_type(value).unparsed}
    assert unparsed == UNKNOWN_SHAPES
    assert {parse_usage_type(value).category for value in CORPUS} <= set(CATEGORIES)


def test_capacity_and_non_token_rows_are_never_counted_as_tokens() -> None:
    for value in CORPUS:
        parsed = parse_usage_type(value)
        if parsed.category != "tokens":
            assert parsed.token_type not in {"input", "output", "cache_read", "cache_write"}, value


FIRST_PARTY_TOKENS = [
    value
    for value in CORPUS
    if EXPECTED[value].get("category") == "tokens" and not EXPECTED[value].get("is_marketplace")
]
ROUND_TRIP = ("region_prefix", "model_token", "token_type", "route", "geo", "service_tier", "context", "cache_ttl")


@pytest.mark.parametrize("value", FIRST_PARTY_TOKENS)
def test_usage_type_for_spells_every_first_party_token_line_back_to_the_same_dimensions(value: str) -> None:
    parsed = parse_usage_type(value)
    spelled = usage_type_for(
        region_prefix=parsed.region_prefix,
        model_token=parsed.model_token,
        token_type=parsed.token_type,
        route=parsed.route,
        service_tier=parsed.service_tier,
        context=parsed.context,
        cache_ttl=parsed.cache_ttl,
        modality=parsed.modality,
        geo=parsed.geo,
    )
    again = parse_usage_type(spelled)
    assert {name: getattr(again, name) for name in (*ROUND_TRIP, "modality", "category")} == {
        name: getattr(parsed, name) for name in (*ROUND_TRIP, "modality", "category")
    }
