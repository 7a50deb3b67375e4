"""Seed catalog: every model and pricing rule of section F of reference/aws-formats.md.

Prices are USD per 1M tokens unless a unit says otherwise. Rules applied by `seed_rows()`:
- Claude 4.5+ and Nova 2 Lite: regional/geo is the listed regional rate, `global.` the lower global rate.
- Claude cache write 1.25x input (5-minute TTL) and read 0.1x; Nova read 0.25x, no cache-write charge.
- Batch 50% of on-demand where the model has batch; flex 50% and priority +75% where offered [OBS].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

SEED_EFFECTIVE_FROM = date(2024, 1, 1)
SEED_AS_OF = date(2026, 11, 1)
SRC_GENAI = "genai-prices aws.yml (checked 2026-02-24)"
SRC_PAGE = "AWS Bedrock pricing page snapshot 2025-07-20"
SRC_PL = "AWS Price List via third party"
SRC_PLACEHOLDER = "2024 pricing page from memory, unverified placeholder"


@dataclass(frozen=True)
class SeedModel:
    model_id: str
    name: str
    provider: str
    family: str
    tier: str
    source: str
    input: str | None = None
    output: str | None = None
    global_input: str | None = None  # set for models with a regional premium
    global_output: str | None = None
    cache: str = "none"  # "claude" | "nova" | "none"
    batch: bool = False
    tiers: bool = False  # flex and priority offered
    long_context: bool = False
    lifecycle: str = "ACTIVE"
    runtime_ids: tuple[str, ...] = ()
    usage_tokens: tuple[str, ...] = ()
    product_names: tuple[str, ...] = ()
    explicit: tuple[tuple[str, str, str, str, str], ...] = field(default=())
    # explicit rows: (token_type, service_tier, variant, price, unit)


def _claude(
    model_id: str,
    name: str,
    family: str,
    tier: str,
    tokens: tuple[str, ...],
    runtime: tuple[str, ...],
    inp: str,
    out: str,
    g_in: str | None = None,
    g_out: str | None = None,
    batch: bool = True,
    long_context: bool = False,
    lifecycle: str = "ACTIVE",
    source: str = SRC_GENAI,
) -> SeedModel:
    return SeedModel(
        model_id=model_id,
        name=name,
        provider="Anthropic",
        family=family,
        tier=tier,
        source=source,
        input=inp,
        output=out,
        global_input=g_in,
        global_output=g_out,
        cache="claude",
        batch=batch,
        tiers=g_in is not None,
        long_context=long_context,
        lifecycle=lifecycle,
        runtime_ids=runtime,
        usage_tokens=tokens,
        product_names=(f"{name} (Amazon Bedrock Edition)", name),
    )


SEED_MODELS: tuple[SeedModel, ...] = (
    # Anthropic
    _claude(
        "anthropic.claude-opus-4-8",
        "Claude Opus 4.8",
        "claude-opus",
        "flagship",
        ("Claude4.8Opus",),
        ("anthropic.claude-opus-4-8-v1", "anthropic.claude-opus-4-8-v1:0"),
        "5.50",
        "27.50",
        "5.00",
        "25.00",
    ),
    _claude(
        "anthropic.claude-opus-4-7",
        "Claude Opus 4.7",
        "claude-opus",
        "flagship",
        ("Claude4.7Opus",),
        ("anthropic.claude-opus-4-7-v1", "anthropic.claude-opus-4-7-v1:0"),
        "5.50",
        "27.50",
        "5.00",
        "25.00",
    ),
    _claude(
        "anthropic.claude-opus-4-6-v1",
        "Claude Opus 4.6",
        "claude-opus",
        "flagship",
        ("Claude4.6Opus",),
        ("anthropic.claude-opus-4-6", "anthropic.claude-opus-4-6-v1:0"),
        "5.50",
        "27.50",
        "5.00",
        "25.00",
        long_context=True,
    ),
    _claude(
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "Claude Opus 4.5",
        "claude-opus",
        "flagship",
        ("Claude4.5Opus",),
        ("anthropic.claude-opus-4-5",),
        "5.50",
        "27.50",
        "5.00",
        "25.00",
    ),
    _claude(
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "Claude Opus 4.1",
        "claude-opus",
        "flagship",
        ("Claude4.1Opus",),
        ("anthropic.claude-opus-4-1",),
        "15.00",
        "75.00",
        batch=False,
        source=SRC_PAGE,
    ),
    _claude(
        "anthropic.claude-opus-4-20250514-v1:0",
        "Claude Opus 4",
        "claude-opus",
        "flagship",
        ("Claude4Opus",),
        ("anthropic.claude-opus-4",),
        "15.00",
        "75.00",
        batch=False,
        source=SRC_PAGE,
    ),
    _claude(
        "anthropic.claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        "claude-sonnet",
        "balanced",
        ("Claude4.6Sonnet",),
        ("anthropic.claude-sonnet-4-6-v1", "anthropic.claude-sonnet-4-6-v1:0"),
        "3.30",
        "16.50",
        "3.00",
        "15.00",
        long_context=True,
    ),
    _claude(
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "Claude Sonnet 4.5",
        "claude-sonnet",
        "balanced",
        ("Claude4.5Sonnet",),
        ("anthropic.claude-sonnet-4-5",),
        "3.30",
        "16.50",
        "3.00",
        "15.00",
    ),
    _claude(
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "Claude Sonnet 4",
        "claude-sonnet",
        "balanced",
        ("Claude4Sonnet",),
        ("anthropic.claude-sonnet-4",),
        "3.00",
        "15.00",
        batch=False,
    ),
    _claude(
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "Claude Haiku 4.5",
        "claude-haiku",
        "efficient",
        ("Claude4.5Haiku",),
        ("anthropic.claude-haiku-4-5",),
        "1.10",
        "5.50",
        "1.00",
        "5.00",
    ),
    _claude(
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "Claude 3.5 Haiku",
        "claude-haiku",
        "efficient",
        ("Claude3.5Haiku",),
        ("anthropic.claude-3-5-haiku",),
        "0.80",
        "4.00",
        batch=False,
        lifecycle="LEGACY",
        source=SRC_PAGE,
    ),
    SeedModel(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "Claude 3 Haiku",
        "Anthropic",
        "claude-haiku",
        "efficient",
        SRC_PAGE,
        "0.25",
        "1.25",
        batch=True,
        runtime_ids=("anthropic.claude-3-haiku",),
        usage_tokens=("Claude3Haiku",),
        product_names=("Claude 3 Haiku (Amazon Bedrock Edition)", "Claude 3 Haiku"),
    ),
    SeedModel(
        "anthropic.claude-instant-v1",
        "Claude Instant",
        "Anthropic",
        "claude-instant",
        "efficient",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        usage_tokens=("ClaudeInstant",),
        product_names=("Claude Instant (Amazon Bedrock Edition)",),
        explicit=(
            ("model_unit_hour", "provisioned", "1m", "39.60", "hour"),
            ("model_unit_hour", "provisioned", "6m", "22.00", "hour"),
        ),
    ),
    SeedModel(
        "anthropic.claude-v2:1",
        "Claude 2.1",
        "Anthropic",
        "claude-2",
        "balanced",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        runtime_ids=("anthropic.claude-v2",),
        usage_tokens=("Claude2.1", "Claude2"),
        product_names=("Claude (Amazon Bedrock Edition)", "Claude 2.1 (Amazon Bedrock Edition)"),
        explicit=(
            ("model_unit_hour", "provisioned", "1m", "63.00", "hour"),
            ("model_unit_hour", "provisioned", "6m", "35.00", "hour"),
        ),
    ),
    # Amazon
    SeedModel(
        "amazon.nova-premier-v1:0",
        "Nova Premier",
        "Amazon",
        "nova",
        "flagship",
        SRC_PAGE,
        "2.50",
        "12.50",
        cache="nova",
        batch=True,
        tiers=True,
        usage_tokens=("NovaPremier",),
    ),
    SeedModel(
        "amazon.nova-pro-v1:0",
        "Nova Pro",
        "Amazon",
        "nova",
        "balanced",
        SRC_PAGE,
        "0.80",
        "3.20",
        cache="nova",
        batch=True,
        tiers=True,
        usage_tokens=("NovaPro",),
    ),
    SeedModel(
        "amazon.nova-lite-v1:0",
        "Nova Lite",
        "Amazon",
        "nova",
        "efficient",
        SRC_PAGE,
        "0.06",
        "0.24",
        cache="nova",
        batch=True,
        tiers=True,
        usage_tokens=("NovaLite",),
    ),
    SeedModel(
        "amazon.nova-micro-v1:0",
        "Nova Micro",
        "Amazon",
        "nova",
        "efficient",
        SRC_PAGE,
        "0.035",
        "0.14",
        cache="nova",
        batch=True,
        tiers=True,
        usage_tokens=("NovaMicro",),
    ),
    SeedModel(
        "amazon.nova-2-lite-v1:0",
        "Nova 2 Lite",
        "Amazon",
        "nova",
        "efficient",
        SRC_PL,
        "0.33",
        "2.75",
        global_input="0.30",
        global_output="2.50",
        cache="nova",
        tiers=True,
        usage_tokens=("Nova2.0Lite", "Nova2Lite"),
        explicit=(("model_unit_hour", "provisioned", "none", "60.50", "hour"),),
    ),
    SeedModel(
        "amazon.nova-canvas-v1:0",
        "Nova Canvas",
        "Amazon",
        "nova-canvas",
        "balanced",
        SRC_PL,
        usage_tokens=("NovaCanvas",),
        explicit=(
            ("image", "standard", "t2i-1024-standard", "0.04", "image"),
            ("image", "standard", "t2i-1024-premium", "0.06", "image"),
            ("image", "standard", "t2i-2048-standard", "0.06", "image"),
            ("image", "standard", "t2i-2048-premium", "0.08", "image"),
        ),
    ),
    SeedModel(
        "amazon.titan-text-express-v1",
        "Titan Text Express",
        "Amazon",
        "titan",
        "efficient",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        usage_tokens=("TitanTextExpress", "TitanTextG1-Express"),
        explicit=(
            ("model_unit_hour", "provisioned", "none", "20.50", "hour"),
            ("model_unit_hour", "provisioned", "1m", "18.40", "hour"),
            ("model_unit_hour", "provisioned", "6m", "14.80", "hour"),
        ),
    ),
    SeedModel(
        "amazon.titan-text-lite-v1",
        "Titan Text Lite",
        "Amazon",
        "titan",
        "efficient",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        usage_tokens=("TitanTextLite", "TitanTextG1-Lite"),
        explicit=(
            ("model_unit_hour", "provisioned", "none", "7.10", "hour"),
            ("model_unit_hour", "provisioned", "1m", "6.40", "hour"),
            ("model_unit_hour", "provisioned", "6m", "5.10", "hour"),
        ),
    ),
    # Meta
    SeedModel(
        "meta.llama4-maverick-17b-instruct-v1:0",
        "Llama 4 Maverick 17B",
        "Meta",
        "llama",
        "balanced",
        SRC_PAGE,
        "0.24",
        "0.97",
        batch=True,
        usage_tokens=("Llama4-Maverick-17B", "Llama4Maverick17B"),
    ),
    SeedModel(
        "meta.llama4-scout-17b-instruct-v1:0",
        "Llama 4 Scout 17B",
        "Meta",
        "llama",
        "efficient",
        SRC_PAGE,
        "0.17",
        "0.66",
        batch=True,
        usage_tokens=("Llama4-Scout-17B", "Llama4Scout17B"),
    ),
    SeedModel(
        "meta.llama3-3-70b-instruct-v1:0",
        "Llama 3.3 70B Instruct",
        "Meta",
        "llama",
        "balanced",
        SRC_PAGE,
        "0.72",
        "0.72",
        batch=True,
        usage_tokens=("Llama3.3-70B", "Llama3.3-70B-Instruct"),
    ),
    SeedModel(
        "meta.llama3-1-405b-instruct-v1:0",
        "Llama 3.1 405B Instruct",
        "Meta",
        "llama",
        "flagship",
        SRC_PAGE,
        "2.40",
        "2.40",
        batch=True,
        usage_tokens=("Llama3.1-405B",),
    ),
    SeedModel(
        "meta.llama3-1-70b-instruct-v1:0",
        "Llama 3.1 70B Instruct",
        "Meta",
        "llama",
        "balanced",
        SRC_PAGE,
        "0.72",
        "0.72",
        batch=True,
        usage_tokens=("Llama3.1-70B",),
    ),
    SeedModel(
        "meta.llama3-1-8b-instruct-v1:0",
        "Llama 3.1 8B Instruct",
        "Meta",
        "llama",
        "efficient",
        SRC_PAGE,
        "0.22",
        "0.22",
        batch=True,
        usage_tokens=("Llama3.1-8B",),
    ),
    SeedModel(
        "meta.llama2-70b-chat-v1",
        "Llama 2 Chat 70B",
        "Meta",
        "llama",
        "balanced",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        usage_tokens=("Llama2-70B", "Llama2Chat70B"),
        explicit=(
            ("model_unit_hour", "provisioned", "1m", "21.18", "hour"),
            ("model_unit_hour", "provisioned", "6m", "13.08", "hour"),
        ),
    ),
    SeedModel(
        "meta.llama2-13b-chat-v1",
        "Llama 2 Chat 13B",
        "Meta",
        "llama",
        "efficient",
        SRC_PLACEHOLDER,
        lifecycle="LEGACY",
        usage_tokens=("Llama2-13B", "Llama2Chat13B"),
        explicit=(
            ("model_unit_hour", "provisioned", "1m", "21.18", "hour"),
            ("model_unit_hour", "provisioned", "6m", "13.08", "hour"),
        ),
    ),
    # Mistral
    SeedModel(
        "mistral.mistral-large-3-675b-instruct",
        "Mistral Large 3",
        "Mistral AI",
        "mistral",
        "flagship",
        "genai-prices (checked 2026-06-03)",
        "0.50",
        "1.50",
        usage_tokens=("MistralLarge3",),
    ),
    SeedModel(
        "mistral.mistral-large-2402-v1:0",
        "Mistral Large (24.02)",
        "Mistral AI",
        "mistral",
        "flagship",
        SRC_GENAI,
        "4.00",
        "12.00",
        usage_tokens=("MistralLarge", "Mistral-Large"),
    ),
    SeedModel(
        "mistral.pixtral-large-2502-v1:0",
        "Pixtral Large 25.02",
        "Mistral AI",
        "mistral",
        "flagship",
        SRC_PAGE,
        "2.00",
        "6.00",
        usage_tokens=("PixtralLarge", "Pixtral-Large", "PixtralLarge2502"),
    ),
    SeedModel(
        "mistral.mixtral-8x7b-instruct-v0:1",
        "Mixtral 8x7B",
        "Mistral AI",
        "mistral",
        "balanced",
        SRC_GENAI,
        "0.45",
        "0.70",
        usage_tokens=("Mixtral8x7B", "Mixtral-8x7B"),
    ),
    SeedModel(
        "mistral.mistral-7b-instruct-v0:2",
        "Mistral 7B",
        "Mistral AI",
        "mistral",
        "efficient",
        SRC_GENAI,
        "0.15",
        "0.20",
        usage_tokens=("Mistral7B", "Mistral-7B"),
    ),
    # OpenAI open-weight
    SeedModel(
        "openai.gpt-oss-120b-1:0",
        "gpt-oss-120b",
        "OpenAI",
        "gpt-oss",
        "balanced",
        SRC_GENAI,
        "0.15",
        "0.60",
        usage_tokens=("gpt-oss-120b", "GptOss120B"),
    ),
    SeedModel(
        "openai.gpt-oss-20b-1:0",
        "gpt-oss-20b",
        "OpenAI",
        "gpt-oss",
        "efficient",
        SRC_GENAI,
        "0.07",
        "0.30",
        usage_tokens=("gpt-oss-20b", "GptOss20B"),
    ),
)

TIER_FACTORS = {"batch": Decimal("0.5"), "flex": Decimal("0.5"), "priority": Decimal("1.75")}
CACHE_FACTORS = {
    "claude": {"cache_write": Decimal("1.25"), "cache_read": Decimal("0.1")},
    "nova": {"cache_write": Decimal("0"), "cache_read": Decimal("0.25")},
}


@dataclass(frozen=True)
class SeedPrice:
    model_id: str
    token_type: str
    route: str
    service_tier: str
    variant: str
    price_usd: Decimal
    unit: str
    source: str


def _token_prices(m: SeedModel, inp: Decimal, out: Decimal, route: str, source: str) -> list[SeedPrice]:
    base: dict[tuple[str, str], Decimal] = {("input", ""): inp, ("output", ""): out}
    if m.cache in CACHE_FACTORS:
        for token_type, factor in CACHE_FACTORS[m.cache].items():
            base[(token_type, "")] = inp * factor
        if m.cache == "claude":
            # 1-hour cache writes cost 2x input (Anthropic's published TTL rule), not the 5-minute 1.25x.
            base[("cache_write", "1h")] = inp * 2
    if m.long_context:
        base[("input", "long-context")] = inp * 2
        base[("output", "long-context")] = out * Decimal("1.5")
    rows = [
        SeedPrice(m.model_id, tt, route, "standard", variant, price, "1M tokens", source)
        for (tt, variant), price in base.items()
    ]
    tiers = (["batch"] if m.batch else []) + (["flex", "priority"] if m.tiers else [])
    for tier in tiers:
        tier_source = f"{source}; {tier} = {TIER_FACTORS[tier]}x on-demand rule"
        for (tt, variant), price in base.items():
            if variant:
                continue
            rows.append(
                SeedPrice(m.model_id, tt, route, tier, "", price * TIER_FACTORS[tier], "1M tokens", tier_source)
            )
    return rows


def seed_prices() -> list[SeedPrice]:
    rows: list[SeedPrice] = []
    for m in SEED_MODELS:
        if m.input is not None and m.output is not None:
            # Regional/geo rate on the "any route" row; the global rate, when lower, on its own row.
            rows += _token_prices(m, Decimal(m.input), Decimal(m.output), "", m.source)
            if m.global_input is not None and m.global_output is not None:
                rows += _token_prices(
                    m,
                    Decimal(m.global_input),
                    Decimal(m.global_output),
                    "global",
                    f"{m.source}; global route",
                )
        for token_type, tier, variant, price, unit in m.explicit:
            rows.append(SeedPrice(m.model_id, token_type, "", tier, variant, Decimal(price), unit, m.source))
    return rows
