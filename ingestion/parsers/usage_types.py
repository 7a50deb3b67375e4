"""Parse Bedrock ``line_item_usage_type`` strings from CUR 2.0 into the dimensions AWS bills by.

Pure functions only: no Django, no I/O. A usage type is the natural key of a price: source region,
model, token type, route (in-region / geo / global), service tier, context (standard / long) and
cache-write TTL. ``parse_usage_type`` reads those dimensions out of a usage type, and
``usage_type_for`` spells the first-party usage type a request with given dimensions is billed
under, so a CUR row, a Price List SKU and a log record all meet on the same dimensions.

The spellings handled here are listed in ``reference/aws-formats.md`` section A.7, and a corpus of
real strings (``tests/fixtures/pricelist/usage_types.txt``) is parsed by the tests. AWS adds new
spellings without notice, so the parser never raises: a shape it cannot place comes back with
``category == "unparsed"`` (``UsageType.unparsed``), with whatever it did understand (region, a
token type) filled in, so the row keeps its cost and quantity and can be counted, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# AWS billing region codes (the prefix before the first "-" of a usage type).
# Source: "AWS Region billing codes" in the AWS global-infrastructure docs, cross-checked
# against several public price-list tools. eu-west-1 is the odd one out: its billing code
# is plain "EU"; "EUW1" is accepted too because people (and some tools) write it.
REGION_PREFIXES: dict[str, str] = {
    "USE1": "us-east-1",
    "USE2": "us-east-2",
    "USW1": "us-west-1",
    "USW2": "us-west-2",
    "CAN1": "ca-central-1",
    "CAN2": "ca-west-1",
    "MXC1": "mx-central-1",
    "SAE1": "sa-east-1",
    "EU": "eu-west-1",
    "EUW1": "eu-west-1",
    "EUW2": "eu-west-2",
    "EUW3": "eu-west-3",
    "EUC1": "eu-central-1",
    "EUC2": "eu-central-2",
    "EUN1": "eu-north-1",
    "EUS1": "eu-south-1",
    "EUS2": "eu-south-2",
    "APN1": "ap-northeast-1",
    "APN2": "ap-northeast-2",
    "APN3": "ap-northeast-3",
    "APS1": "ap-southeast-1",
    "APS2": "ap-southeast-2",
    "APS3": "ap-south-1",
    "APS4": "ap-southeast-3",
    "APS5": "ap-south-2",
    "APS6": "ap-southeast-4",
    "APS7": "ap-southeast-5",
    "APS8": "ap-southeast-6",
    "APS9": "ap-southeast-7",
    "APE1": "ap-east-1",
    "APE2": "ap-east-2",
    "MES1": "me-south-1",
    "MEC1": "me-central-1",
    "ILC1": "il-central-1",
    "AFS1": "af-south-1",
    "UGW1": "us-gov-west-1",
    "UGE1": "us-gov-east-1",
    "CNN1": "cn-north-1",
    "CNW1": "cn-northwest-1",
}

# Region -> the billing prefix AWS writes (eu-west-1 -> "EU", never the "EUW1" alias).
REGION_CODES: dict[str, str] = {region: prefix for prefix, region in REGION_PREFIXES.items() if prefix != "EUW1"}

# `model_unit_hour` is provisioned throughput; `image` is one generated (or embedded) image.
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "image", "model_unit_hour")
ROUTES = ("in_region", "geo", "global")
SERVICE_TIERS = ("standard", "batch", "flex", "priority", "provisioned", "reserved", "latency_optimized")
# None is text. Tokens of every modality stay input / output tokens; the modality only prices them.
MODALITIES = ("image", "video", "audio", "speech")
CONTEXTS = ("standard", "long")
# Cache-write TTLs. "5m" is the default a cache write without a TTL word is billed at; "30m" is
# spelled by some mantle SKUs (`-cache-write-tokens-30m-standard`).
CACHE_TTLS = ("5m", "30m", "1h")
CATEGORIES = (
    "tokens",
    "image",
    "video",
    "provisioned_throughput",
    "reserved_capacity",
    "customization",
    "storage",
    "guardrail",
    "knowledge_base",
    "agent",
    "data_automation",
    "evaluation",
    "flows",
    "prompt_optimization",
    "other",
    "unparsed",
)

# A region code AWS has not told us about yet still has the USE1 shape; recognising it
# keeps the model name clean even though the region stays unknown. Uppercase only, so
# a model name that happens to be short ("Nova1") is not mistaken for a prefix.
_UNKNOWN_PREFIX_RE = re.compile(r"^[A-Z]{3}[0-9]{1,2}$")

# --- non-model Bedrock features (`USE1-Guardrail-...`, `EUW2-Knowledge-Base:...`) ----------------
# Only Guardrail(Checks), Knowledge-Base and DataAutomation were seen in real usage types; the other
# heads are the feature names of the Bedrock price list and keep such rows out of "unparsed".
_FEATURES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern + r"(?:[-_:](?P<what>.*))?$", re.IGNORECASE), category)
    for pattern, category in (
        (r"^Guardrail(?:s|Checks?)?", "guardrail"),
        (r"^(?:Bedrock)?Knowledge-?Bases?", "knowledge_base"),
        (r"^(?:Bedrock)?DataAutomation", "data_automation"),
        (r"^(?:Bedrock)?Agents?", "agent"),
        (r"^(?:Bedrock)?(?:Prompt)?Flows?", "flows"),
        (r"^(?:Model)?Evaluations?", "evaluation"),
        (r"^(?:PromptOptimi[sz]ation|OptimizePrompt)", "prompt_optimization"),
    )
)
_MODALITY_WORD_RE = re.compile(r"(image|video|audio|speech)", re.IGNORECASE)

# --- first-party / AmazonBedrockService spellings ------------------------------------------------

# Suffixes are peeled from the end one at a time because AWS combines them in either
# order (`-input-tokens-batch-cross-region-global`, `...-cross-region-global-batch`).
_CUSTOM_MODEL_SUFFIX_RE = re.compile(r"-custom-model$", re.IGNORECASE)
# The word after `cross-region` is taken as-is (lower-cased) so a new geography such as
# `-cross-region-me` still parses as a geo route instead of leaking into the model name.
_ROUTE_SUFFIX_RE = re.compile(r"-cross-region(?:-(?P<geo>[a-z]+))?$", re.IGNORECASE)
_TIER_SUFFIX_RE = re.compile(r"-(?P<tier>batch|flex|priority|standard)$", re.IGNORECASE)
_LATENCY_SUFFIX_RE = re.compile(r"-latency-optimized$", re.IGNORECASE)
_LONG_CONTEXT_SUFFIX_RE = re.compile(r"-long-(?:context|ctx)$", re.IGNORECASE)
# Mantle SKUs spell the global route as a bare word before the tier (`-tokens-global-standard`).
# Tried after `-cross-region-global`, which must win for `-cross-region-global` rows.
_GLOBAL_SUFFIX_RE = re.compile(r"-global$", re.IGNORECASE)

# The token part, anchored to the end of what is left after the suffixes. The model name may
# hold dots and hyphens (`Llama3.3-70B`, `anthropic.claude-opus-4-8`), so it is the lazy part.
# `-mantle` marks the OpenAI/Anthropic-compatible endpoint. A modality word may come before the
# direction (`-speech-input-tokens`, `-text-output-tokens`) or after it (`-input-video-token-count`);
# the one before is lowercase only, so `TitanEmbeddingV2-Text-input-tokens` keeps `-Text` in its name.
# A cache-write TTL sits after `cache-write` or after `tokens` (`-cache-write-tokens-5m-...`).
_TOKEN_RE = re.compile(
    r"^(?P<model>.+?)(?P<mantle>-mantle)?"
    r"-(?:(?-i:(?P<pre>text|speech-understanding|speech|audio|image|video))-)?"
    r"(?P<kind>cache-read|cache-write|input|output)"
    r"(?:-(?P<ttl>[0-9]+[mh]))?"
    r"(?:-(?P<post>text|image|audio|video))?"
    r"(?:-input)?-tokens?(?:-count)?"
    r"(?:-(?P<ttl2>[0-9]+[mh]))?$",
    re.IGNORECASE,
)
# A token word anywhere: used only to keep the token type of a row whose shape is otherwise unknown.
_TOKEN_SEARCH_RE = re.compile(
    r"(?:^|-)(?P<kind>cache-read|cache-write|input|output)(?:-[a-z0-9]+)?(?:-input)?-tokens?(?:-|$)",
    re.IGNORECASE,
)
# `Llama3-1-70B-LatencyOptimized-input-tokens` puts the tier inside the model name.
_MODEL_LATENCY_RE = re.compile(r"-?LatencyOptimized$", re.IGNORECASE)

# `-ProvisionedThroughput` optionally followed by `Custom`, a commitment and a unit word.
_PROVISIONED_RE = re.compile(r"^(?P<model>.+?)-ProvisionedThroughput(?:-(?P<rest>.*))?$", re.IGNORECASE)
_NO_COMMIT_RE = re.compile(r"no-?commit", re.IGNORECASE)
_MONTHS_RE = re.compile(r"(?P<n>[0-9]+)[-_]?months?", re.IGNORECASE)
_CUSTOM_WORD_RE = re.compile(r"(?:^|-)custom(?:-|$)", re.IGNORECASE)
# First-party reserved capacity, seen only as a suffix list in public code (never a whole string).
_RESERVED_RE = re.compile(
    r"^(?P<model>.+?)-reserved-(?P<n>[0-9]+)-months?-(?P<dir>input|output)-tokens-per-minute$", re.IGNORECASE
)

_CUSTOMIZATION_RE = re.compile(r"^(?P<model>.+?)-(?:Model-)?Customization(?:-(?P<what>.*))?$", re.IGNORECASE)
_RFT_RE = re.compile(r"^(?P<model>.+?)-(?P<what>RFT-Training(?:-Hours)?)$", re.IGNORECASE)
_CUSTOM_IMPORT_RE = re.compile(r"^(?P<model>.+?)-(?P<what>CustomModelImport(?:-.+)?)$", re.IGNORECASE)

# Image SKUs: task, resolution, quality (`T2I-1024-Standard`, `Custom-T2I-1024-Standard`). "Standard"
# here is an image quality, not the service tier, so images are recognised before tiers are peeled.
_IMAGE_RE = re.compile(
    r"^(?P<model>.+?)-(?P<variant>(?:Custom-)?(?:T2I|I2I)-[0-9]{3,4}(?:x[0-9]{3,4})?"
    r"(?:-(?:standard|premium))?)(?P<tail>-.+)?$",
    re.IGNORECASE,
)
# Video generation, per second: `NovaReel-T2V-Medfps-HDRes`, `Ray-V2-Medfps-HDRes`.
_VIDEO_RE = re.compile(
    r"^(?P<model>.+?)-(?P<variant>(?:(?:T2V|I2V)-)?(?:Low|Med|High)fps-(?:SD|HD)Res)$", re.IGNORECASE
)
# Priced per second of media (`NovaMultiModalEmbeddings-input-audio-second`) or per image
# (`TitanEmbeddingsG1-Image-input-image`).
_MEDIA_SECONDS_RE = re.compile(
    r"^(?P<model>.+?)-(?P<variant>(?:input|output)-(?P<mod>audio|video|image)-seconds?)$", re.IGNORECASE
)
_MEDIA_IMAGES_RE = re.compile(r"^(?P<model>.+?)-(?P<variant>(?:input|output)-images?)$", re.IGNORECASE)
_OTHER_RE = re.compile(r"^(?P<model>.+?)-(?P<variant>search-?units?|nova-grounding)$", re.IGNORECASE)

# --- Marketplace ("Bedrock Edition") spellings ----------------------------------------------------

# `MP:USE1_InputTokenCount_Global-Units`: an inner region code, then `_`-separated words, each
# either CamelCase (`CacheWrite1hInputTokenCount`), lowercase (`cache_write_tokens_1h`) or glued
# lowercase (`cachewrite1hinputtokencount`). Words are cut into this vocabulary, longest first.
_MARKETPLACE_RE = re.compile(r"^MP:(?P<body>.*?)(?:-Units?)?$", re.IGNORECASE)
_MP_VOCABULARY = sorted(
    {
        "million", "batch", "cache", "cached", "read", "write", "input", "output", "token", "tokens",
        "count", "global", "geo", "flex", "priority", "standard", "long", "ctx", "context", "lctx",
        "latency", "optimized", "reserved", "tpm", "month", "months", "commit", "no", "provisioned",
        "throughput", "model", "units", "unit", "usage", "custom", "image", "images", "created", "video",
        "second", "seconds", "audio", "speech", "text", "search",
    },
    key=len,
    reverse=True,
)  # fmt: skip
_MP_TOKEN_WORDS = {
    "cache", "cached", "read", "write", "input", "output", "token", "tokens", "count", "million",
    "global", "geo", "batch", "flex", "priority", "standard", "lctx", "long", "ctx", "context",
    "latency", "optimized", "image", "audio", "video", "speech", "text",
}  # fmt: skip
_MP_RESERVED_WORDS = {"reserved", "input", "output", "tpm", "month", "months", "global", "geo", "no", "commit"}
_MP_PROVISIONED_WORDS = {
    "provisioned", "throughput", "custom", "model", "units", "unit", "usage", "no", "commit", "month", "months",
}  # fmt: skip
_TTL_RE = re.compile(r"^[0-9]+[mh]$")


@dataclass(frozen=True)
class UsageType:
    """The dimensions of one Bedrock usage type; see ``parse_usage_type``.

    ``token_type`` is one of ``TOKEN_TYPES`` or None (not billed per token, image or model unit);
    ``modality`` one of ``MODALITIES`` or None for text; ``context`` "standard" or "long";
    ``cache_ttl`` one of ``CACHE_TTLS`` for cache writes, else None; ``route`` one of ``ROUTES``
    (``geo`` names the geography when the usage type does); ``service_tier`` one of
    ``SERVICE_TIERS``; ``commitment`` "none" or "<n>m" for provisioned throughput and reserved
    capacity, None when not stated; ``unit_scale`` the tokens per unit when the usage type says it
    (`MillionBatchInputTokens`), else None; ``category`` one of ``CATEGORIES``; ``model_token`` the
    model as spelled in the usage type (None for Marketplace rows, whose model is the product name);
    ``mantle`` True for the OpenAI/Anthropic-compatible endpoint; ``variant`` what else identifies
    the SKU (an image size, "custom-model", a guardrail policy, ...).
    """

    raw: str
    region_prefix: str | None = None
    region: str | None = None
    model_token: str | None = None
    token_type: str | None = None
    cache_ttl: str | None = None
    route: str = "in_region"
    geo: str | None = None
    service_tier: str = "standard"
    commitment: str | None = None
    is_marketplace: bool = False
    variant: str | None = None
    category: str = "unparsed"
    modality: str | None = None
    context: str = "standard"
    unit_scale: int | None = None
    mantle: bool = False

    @property
    def unparsed(self) -> bool:
        """True when the shape was not recognised: keep the row's cost and count it as unparsed."""
        return self.category == "unparsed"


@dataclass(frozen=True)
class _Suffixes:
    route: str = "in_region"
    geo: str | None = None
    tier: str = "standard"
    context: str = "standard"
    custom_model: bool = False


def parse_usage_type(value: str) -> UsageType:
    """Split a CUR usage type into its billing dimensions.

    Never raises: a shape it does not recognise comes back with ``category="unparsed"``.
    """
    # `raw` keeps the stripped text: stray whitespace from CSV exports must not make two
    # spellings of the same usage type look different downstream.
    raw = value.strip() if isinstance(value, str) else ""
    if not raw:
        return UsageType(raw=raw)
    try:
        prefix, rest = _split_region_prefix(raw)
        if rest[:3].upper() == "MP:":
            return _parse_marketplace(raw, prefix, rest)
        return _parse_first_party(raw, prefix, rest)
    except Exception:  # pragma: no cover - a bug here must not stop an import; the row stays counted
        return UsageType(raw=raw)


def normalise_model_token(token: str) -> str:
    """A canonical lookup spelling of a usage-type model token, for comparing spellings.

    Rules, applied in order (deliberately few, so two different models never compare equal):
    1. surrounding whitespace is dropped and the text is case-folded (``NovaLite`` == ``novalite``);
    2. a ``-`` or ``_`` between two digits is a version dot (``Llama3-3-70B`` == ``Llama3.3-70B``,
       both ``llama3.3.70b``);
    3. a whole-number version glued between letters gets ``.0`` (``Nova2Lite`` == ``Nova2.0Lite``).
    Provider prefixes, display names (``Nova 2 Lite``) and model ids are left to the catalog.
    """
    text = token.strip().casefold() if isinstance(token, str) else ""
    text = re.sub(r"(?<=[0-9])[-_](?=[0-9])", ".", text)
    return re.sub(r"(?<=[a-z])([0-9]+)(?=[a-z])", r"\1.0", text)


def usage_type_for(
    *,
    region_prefix: str,
    model_token: str,
    token_type: str,
    route: str,
    service_tier: str = "standard",
    context: str = "standard",
    cache_ttl: str | None = None,
    modality: str | None = None,
    geo: str | None = None,
) -> str:
    """The first-party usage type a request with these dimensions is billed under.

    Spelled the way the Price List spells Nova / Claude / Llama SKUs (`USE1-Claude4Sonnet-input-
    tokens-long-context-cross-region-global`), so ``parse_usage_type`` of the result gives back the
    same dimensions. ``route="geo"`` is spelled ``-cross-region-<geo>`` (bare ``-cross-region`` when
    ``geo`` is None). Raises ValueError for dimensions that have no token usage type (images,
    provisioned throughput, reserved capacity) or that would not read back the same.
    """
    prefix = region_prefix.strip().upper() if isinstance(region_prefix, str) else ""
    if not re.fullmatch(r"[A-Z]{2,4}[0-9]{0,2}", prefix):
        raise ValueError(f"not a billing region prefix: {region_prefix!r}")
    if not isinstance(model_token, str) or not model_token.strip():
        raise ValueError("a model token is required")
    if modality == "text":
        modality = None
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, not {route!r}")
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, not {context!r}")
    if service_tier not in ("standard", "batch", "flex", "priority", "latency_optimized"):
        raise ValueError(f"service tier {service_tier!r} has no per-token usage type")
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES} or None, not {modality!r}")
    if geo is not None and route != "geo":
        raise ValueError("geo is only meaningful with route='geo'")
    kind = _token_spelling(token_type, cache_ttl, modality)
    parts = [f"{prefix}-{model_token.strip()}-{kind}"]
    if context == "long":
        parts.append("-long-context")
    if service_tier in ("flex", "priority"):
        parts.append(f"-{service_tier}")
    elif service_tier == "latency_optimized":
        parts.append("-latency-optimized")
    bare_geo = route == "geo" and not geo
    if service_tier == "batch" and bare_geo:
        # Before a bare route: `-cross-region-batch` would read as a geography named "batch".
        parts.append("-batch")
    if route == "global":
        parts.append("-cross-region-global")
    elif route == "geo":
        parts.append(f"-cross-region-{geo.lower()}" if geo else "-cross-region")
    if service_tier == "batch" and not bare_geo:
        parts.append("-batch")  # the Price List's order: `...-cross-region-global-batch`
    spelled = "".join(parts)
    back = parse_usage_type(spelled)
    wanted = (prefix, model_token.strip(), token_type, route, geo.lower() if geo else None, service_tier, context)
    got = (back.region_prefix, back.model_token, back.token_type, back.route, back.geo, back.service_tier, back.context)
    if wanted != got or back.modality != modality or back.category != "tokens":
        raise ValueError(f"{spelled!r} would not read back as the same dimensions")
    return spelled


def _token_spelling(token_type: str, cache_ttl: str | None, modality: str | None) -> str:
    if token_type == "cache_read":
        if modality is not None or cache_ttl is not None:
            raise ValueError("a cache read has no modality or TTL")
        return "cache-read-input-token-count"
    if token_type == "cache_write":
        if modality is not None:
            raise ValueError("a cache write has no modality")
        if cache_ttl in (None, "5m"):
            return "cache-write-input-token-count"
        if cache_ttl in CACHE_TTLS:
            return f"cache-write-{cache_ttl}-input-token-count"
        raise ValueError(f"cache TTL must be one of {CACHE_TTLS} or None, not {cache_ttl!r}")
    if token_type in ("input", "output"):
        if cache_ttl is not None:
            raise ValueError("only cache writes have a TTL")
        if modality is None:
            return f"{token_type}-tokens"
        if modality == "speech":
            return f"speech-{token_type}-tokens"
        return f"{token_type}-{modality}-token-count"
    raise ValueError(f"token type {token_type!r} has no per-token usage type")


def _region_for(prefix: str | None) -> str | None:
    return REGION_PREFIXES.get(prefix) if prefix else None


def _as_region_prefix(word: str) -> str | None:
    upper = word.upper()
    if upper in REGION_PREFIXES or _UNKNOWN_PREFIX_RE.match(word):
        return upper
    return None


def _split_region_prefix(text: str) -> tuple[str | None, str]:
    head, sep, tail = text.partition("-")
    if sep and tail:
        prefix = _as_region_prefix(head)
        if prefix is not None:
            return prefix, tail
    return None, text


def _peel_suffixes(core: str) -> tuple[str, _Suffixes]:
    route, geo, tier, context, custom = "in_region", None, "standard", "standard", False
    while True:
        if match := _CUSTOM_MODEL_SUFFIX_RE.search(core):
            custom = True
        elif match := _ROUTE_SUFFIX_RE.search(core):
            word = (match["geo"] or "").lower()
            if word == "global":
                route, geo = "global", None
            else:
                route, geo = "geo", (word if word not in ("", "geo") else None)
        elif match := _TIER_SUFFIX_RE.search(core):
            tier = match["tier"].lower()
        elif match := _LATENCY_SUFFIX_RE.search(core):
            tier = "latency_optimized"
        elif match := _LONG_CONTEXT_SUFFIX_RE.search(core):
            context = "long"
        elif match := _GLOBAL_SUFFIX_RE.search(core):
            route, geo = "global", None
        else:
            return core, _Suffixes(route=route, geo=geo, tier=tier, context=context, custom_model=custom)
        core = core[: match.start()]


def _commitment(text: str | None) -> str | None:
    if not text:
        return None
    if _NO_COMMIT_RE.search(text):
        return "none"
    if match := _MONTHS_RE.search(text):
        return f"{int(match['n'])}m"
    return None


def _modality_in(text: str | None) -> str | None:
    match = _MODALITY_WORD_RE.search(text or "")
    return match[1].lower() if match else None


def _modality(word: str | None) -> str | None:
    if not word:
        return None
    word = word.lower()
    if word == "text":
        return None
    return "speech" if word.startswith("speech") else word


def _parse_first_party(raw: str, prefix: str | None, rest: str) -> UsageType:
    base = UsageType(raw=raw, region_prefix=prefix, region=_region_for(prefix))

    for pattern, category in _FEATURES:
        if feature := pattern.match(rest):
            what = feature["what"] or None
            return replace(base, category=category, variant=what, modality=_modality_in(what))

    if image := _IMAGE_RE.match(rest):
        left, suffixes = _peel_suffixes(image["tail"] or "")
        return replace(
            base,
            model_token=image["model"],
            token_type="image",
            category="unparsed" if left else "image",
            variant=image["variant"],
            route=suffixes.route,
            geo=suffixes.geo,
            service_tier=suffixes.tier,
        )
    if video := _VIDEO_RE.match(rest):
        return replace(base, model_token=video["model"], category="video", modality="video", variant=video["variant"])

    core, suffixes = _peel_suffixes(rest)
    routed = replace(
        base,
        route=suffixes.route,
        geo=suffixes.geo,
        service_tier=suffixes.tier,
        context=suffixes.context,
        variant="custom-model" if suffixes.custom_model else None,
    )

    if provisioned := _PROVISIONED_RE.match(core):
        # The bare `-ProvisionedThroughput` form says nothing about the term, so the
        # commitment stays unknown (None) rather than being guessed as "none".
        custom = suffixes.custom_model or bool(_CUSTOM_WORD_RE.search(provisioned["rest"] or ""))
        return replace(
            routed,
            model_token=provisioned["model"],
            token_type="model_unit_hour",
            service_tier="provisioned",
            commitment=_commitment(provisioned["rest"]),
            category="provisioned_throughput",
            variant="custom-model" if custom else None,
        )
    if reserved := _RESERVED_RE.match(core):
        return replace(
            routed,
            model_token=reserved["model"],
            service_tier="reserved",
            commitment=f"{int(reserved['n'])}m",
            category="reserved_capacity",
            variant=f"{reserved['dir'].lower()}_tpm",
        )
    if customization := _CUSTOMIZATION_RE.match(core):
        what = (customization["what"] or "").lower()
        return replace(
            routed,
            model_token=customization["model"],
            category="storage" if "storage" in what else "customization",
        )
    if training := _RFT_RE.match(core) or _CUSTOM_IMPORT_RE.match(core):
        return replace(routed, model_token=training["model"], category="customization", variant=training["what"])
    if media := _MEDIA_SECONDS_RE.match(core):
        modality = media["mod"].lower()
        return replace(
            routed,
            model_token=media["model"],
            modality=modality,
            category="video" if modality == "video" else "other",
            variant=media["variant"],
        )
    if media := _MEDIA_IMAGES_RE.match(core):
        return replace(
            routed,
            model_token=media["model"],
            token_type="image",
            modality="image",
            category="image",
            variant=media["variant"],
        )
    if other := _OTHER_RE.match(core):
        return replace(routed, model_token=other["model"], category="other", variant=other["variant"])

    if token := _TOKEN_RE.match(core):
        model, tier = token["model"], routed.service_tier
        if latency := _MODEL_LATENCY_RE.search(model):
            model, tier = model[: latency.start()], "latency_optimized"
        kind = token["kind"].lower().replace("-", "_")
        ttl = (token["ttl"] or token["ttl2"] or "").lower() or None
        if kind == "cache_write":
            ttl = ttl or "5m"
        elif ttl is not None:  # a TTL on anything but a cache write is a shape we do not know
            return replace(routed, token_type=kind, category="unparsed")
        return replace(
            routed,
            model_token=model,
            token_type=kind,
            cache_ttl=ttl,
            service_tier=tier,
            modality=_modality(token["pre"] or token["post"]),
            mantle=bool(token["mantle"]),
            category="tokens" if model else "unparsed",
        )

    # Unknown shape. A token word anywhere still says what was counted, so the tokens are kept;
    # the model is not guessed (a wrong model would be priced with confidence).
    found = _TOKEN_SEARCH_RE.search(rest)
    return replace(
        base,
        token_type=found["kind"].lower().replace("-", "_") if found else None,
        category="unparsed",
    )


def _split_words(word: str) -> list[str]:
    """Cut one `_`-separated word into vocabulary words, longest match first, case-insensitively."""
    text = word.lower()
    out: list[str] = []
    i = 0
    while i < len(text):
        if "0" <= text[i] <= "9":
            j = i
            while j < len(text) and "0" <= text[j] <= "9":
                j += 1
            # `1h`, `5m`, `30m` are cache TTLs; `1Month` is a number followed by a word.
            if j < len(text) and text[j] in "mh" and not text.startswith("month", j):
                j += 1
            out.append(text[i:j])
            i = j
            continue
        for vocab in _MP_VOCABULARY:
            if text.startswith(vocab, i):
                out.append(vocab)
                i += len(vocab)
                break
        else:  # not in the vocabulary: keep the rest as one unknown word
            out.append(text[i:])
            break
    return out


def _is_number(word: str) -> bool:
    return word.isascii() and word.isdigit()


def _months(words: list[str]) -> str | None:
    for number, word in zip(words, words[1:], strict=False):
        if _is_number(number) and word in ("month", "months"):
            return f"{int(number)}m"
    if "no" in words and "commit" in words:
        return "none"
    return None


def _parse_marketplace(raw: str, prefix: str | None, rest: str) -> UsageType:
    match = _MARKETPLACE_RE.match(rest)
    body = match["body"] if match else rest[3:]
    parts = [word for word in body.split("_") if word]

    # The inner code repeats the outer one (`USE1-MP:USE1_...`); it is the only region
    # hint when the outer prefix is missing.
    if parts and (inner := _as_region_prefix(parts[0])) is not None:
        prefix = prefix or inner
        parts = parts[1:]
    words = [piece for part in parts for piece in _split_words(part)]
    seen = set(words)
    base = UsageType(raw=raw, region_prefix=prefix, region=_region_for(prefix), is_marketplace=True)
    route = "global" if "global" in seen else "geo" if "geo" in seen else "in_region"
    direction = next((word for word in words if word in ("input", "output")), None)
    dimension = "_".join(parts) or None

    if "reserved" in seen:
        # Reserved capacity is billed per hour of tokens-per-minute held, not per token consumed:
        # it has no token type, so it can never be added to token counts.
        known = all(word in _MP_RESERVED_WORDS or _is_number(word) for word in words)
        return replace(
            base,
            route=route,
            service_tier="reserved",
            commitment=_months(words),
            category="reserved_capacity" if known else "unparsed",
            variant=f"{direction}_tpm" if direction else dimension,
        )
    if "provisioned" in seen and "throughput" in seen:
        known = all(word in _MP_PROVISIONED_WORDS or _is_number(word) for word in words)
        return replace(
            base,
            route=route,
            token_type="model_unit_hour",
            service_tier="provisioned",
            commitment=_months(words),
            category="provisioned_throughput" if known else "unparsed",
            variant="custom-model" if "custom" in seen else None,
        )
    if "created" in seen and ("image" in seen or "images" in seen):
        # One generated image; the words after `created_image` name the model's SKU.
        return replace(base, route=route, token_type="image", category="image", modality="image", variant=dimension)
    if "video" in seen and ("second" in seen or "seconds" in seen):
        return replace(base, route=route, modality="video", category="video", variant=dimension)
    if "search" in seen:
        return replace(base, route=route, category="other", variant=dimension)
    if "token" not in seen and "tokens" not in seen:
        if "image" in seen and "count" in seen and direction == "input":
            return replace(base, route=route, token_type="image", modality="image", category="image", variant=dimension)
        return replace(base, route=route, token_type=direction, category="unparsed")

    token_type = direction
    if "cached" in seen:
        token_type = "cache_read"
    elif "cache" in seen:
        after = words[words.index("cache") + 1 : words.index("cache") + 2]
        token_type = {"read": "cache_read", "write": "cache_write"}.get(after[0] if after else "", None)
    ttls = [word for word in words if _TTL_RE.match(word)]
    cache_ttl = (ttls[0] if ttls else "5m") if token_type == "cache_write" else None
    tier = "standard"
    for word in ("batch", "flex", "priority"):
        if word in seen:
            tier = word
            break
    if "latency" in seen and "optimized" in seen:
        tier = "latency_optimized"
    long_context = "lctx" in seen or ("long" in seen and ("ctx" in seen or "context" in seen))
    modality = next((word for word in words if word in MODALITIES), None)
    known = all(word in _MP_TOKEN_WORDS or _TTL_RE.match(word) for word in words)
    if ttls and token_type != "cache_write":
        known = False
    return replace(
        base,
        token_type=token_type,
        cache_ttl=cache_ttl,
        route=route,
        service_tier=tier,
        context="long" if long_context else "standard",
        modality=modality,
        unit_scale=1_000_000 if "million" in seen else None,
        category="tokens" if known and token_type else "unparsed",
    )
