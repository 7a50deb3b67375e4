"""Parse Bedrock ``line_item_usage_type`` strings from CUR 2.0 into their parts.

Pure functions only: no Django, no I/O. The spellings handled here are listed in
``reference/aws-formats.md`` section A.7. AWS adds new spellings without notice, so the
parser is tolerant: anything it cannot place comes back as ``None`` / ``"other"`` rather
than raising, and the raw string is always kept.
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

TOKEN_TYPES = ("input", "output", "cache_read", "cache_write", "image", "model_unit_hour")
ROUTES = ("in_region", "geo", "global")
SERVICE_TIERS = ("standard", "batch", "flex", "priority", "provisioned", "reserved")
CATEGORIES = (
    "tokens",
    "image",
    "provisioned_throughput",
    "customization",
    "storage",
    "guardrail",
    "other",
)

# A region code AWS has not told us about yet still has the USE1 shape; recognising it
# keeps the model name clean even though the region stays unknown. Uppercase only, so
# a model name that happens to be short ("Nova1") is not mistaken for a prefix.
_UNKNOWN_PREFIX_RE = re.compile(r"^[A-Z]{3}[0-9]{1,2}$")

# --- first-party / AmazonBedrockService spellings ------------------------------------

# Suffixes are peeled from the end one at a time because AWS combines them in either
# order (`-input-tokens-batch-cross-region-global`, `...-cross-region-global-batch`).
_TIER_SUFFIX_RE = re.compile(r"-(?P<tier>batch|flex|priority|standard)$", re.IGNORECASE)
_CUSTOM_MODEL_SUFFIX_RE = re.compile(r"-custom-model$", re.IGNORECASE)
# The word after `cross-region` is taken as-is (lower-cased) so a new geography such as
# `-cross-region-me` still parses as a geo route instead of leaking into the model name.
_ROUTE_SUFFIX_RE = re.compile(r"-cross-region(?:-(?P<geo>[a-z]+))?$", re.IGNORECASE)

# The model name may itself hold dots and hyphens (`Llama3.3-70B`,
# `anthropic.claude-opus-4-8`), so it is the lazy part and the token type is anchored to
# the end. `-mantle` marks the OpenAI/Anthropic-compatible endpoint and sits between the
# model id and the token type.
_TOKEN_RE = re.compile(
    r"^(?P<model>.+?)(?P<mantle>-mantle)?"
    r"-(?P<kind>cache-read|cache-write|input|output)"
    r"(?:-(?P<ttl>1h))?"
    r"(?:-input)?-tokens?(?:-count)?$",
    re.IGNORECASE,
)

# `-ProvisionedThroughput` optionally followed by a commitment and a unit word.
_PROVISIONED_RE = re.compile(r"^(?P<model>.+?)-ProvisionedThroughput(?:-(?P<rest>.*))?$", re.IGNORECASE)
_NO_COMMIT_RE = re.compile(r"no-?commit", re.IGNORECASE)
_MONTHS_RE = re.compile(r"(?P<n>[0-9]+)-?months?", re.IGNORECASE)

_CUSTOMIZATION_RE = re.compile(r"^(?P<model>.+?)-Customization(?:-(?P<what>.*))?$", re.IGNORECASE)

# Image SKUs: task, resolution, quality (`T2I-1024-Standard`). "Standard" here is an image
# quality, not the service tier, so images are recognised before tier suffixes are peeled.
_IMAGE_RE = re.compile(
    r"^(?P<model>.+?)-(?P<variant>(?:T2I|I2I)-[0-9]{3,4}(?:x[0-9]{3,4})?"
    r"(?:-(?:standard|premium))?)(?P<tail>-.+)?$",
    re.IGNORECASE,
)

_GUARDRAIL_RE = re.compile(r"^guardrails?(?:[-_:]|$)", re.IGNORECASE)

# --- Marketplace ("Bedrock Edition") spellings ----------------------------------------

# `MP:USE1_InputTokenCount_Global-Units`: an inner region code, then `_`-separated words.
_MARKETPLACE_RE = re.compile(r"^MP:(?P<body>.*?)(?:-Units?)?$", re.IGNORECASE)
_MP_CACHE_WRITE_RE = re.compile(r"cachewrite(?P<ttl>1h)?")


@dataclass(frozen=True)
class UsageType:
    """The parts of one Bedrock usage type; see ``parse_usage_type``."""

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
    category: str = "other"


@dataclass(frozen=True)
class _Suffixes:
    route: str = "in_region"
    geo: str | None = None
    tier: str = "standard"
    custom_model: bool = False


def parse_usage_type(value: str) -> UsageType:
    """Split a CUR usage type into region, model, token type, route and tier.

    Never raises: unknown parts come back as ``None`` or ``"other"``.
    """
    # `raw` keeps the stripped text: stray whitespace from CSV exports must not make two
    # spellings of the same usage type look different downstream.
    raw = value.strip() if isinstance(value, str) else ""
    if not raw:
        return UsageType(raw=raw)

    prefix, rest = _split_region_prefix(raw)
    if rest[:3].upper() == "MP:":
        return _parse_marketplace(raw, prefix, rest)
    return _parse_first_party(raw, prefix, rest)


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
    route, geo, tier, custom = "in_region", None, "standard", False
    while True:
        if match := _TIER_SUFFIX_RE.search(core):
            tier = match["tier"].lower()
        elif match := _CUSTOM_MODEL_SUFFIX_RE.search(core):
            custom = True
        elif match := _ROUTE_SUFFIX_RE.search(core):
            word = (match["geo"] or "").lower()
            if word == "global":
                route, geo = "global", None
            else:
                route, geo = "geo", word or None
        else:
            return core, _Suffixes(route=route, geo=geo, tier=tier, custom_model=custom)
        core = core[: match.start()]


def _commitment(text: str | None) -> str | None:
    if not text:
        return None
    if _NO_COMMIT_RE.search(text):
        return "none"
    if match := _MONTHS_RE.search(text):
        return f"{int(match['n'])}m"
    return None


def _parse_first_party(raw: str, prefix: str | None, rest: str) -> UsageType:
    region = _region_for(prefix)
    base = UsageType(raw=raw, region_prefix=prefix, region=region)

    if _GUARDRAIL_RE.match(rest):
        return replace(base, category="guardrail")

    if image := _IMAGE_RE.match(rest):
        _, suffixes = _peel_suffixes(image["tail"] or "")
        return replace(
            base,
            model_token=image["model"],
            token_type="image",
            category="image",
            variant=image["variant"],
            route=suffixes.route,
            geo=suffixes.geo,
            service_tier=suffixes.tier,
        )

    core, suffixes = _peel_suffixes(rest)
    routed = replace(
        base,
        route=suffixes.route,
        geo=suffixes.geo,
        service_tier=suffixes.tier,
        variant="custom-model" if suffixes.custom_model else None,
    )

    if provisioned := _PROVISIONED_RE.match(core):
        # The bare `-ProvisionedThroughput` form says nothing about the term, so the
        # commitment stays unknown (None) rather than being guessed as "none".
        return replace(
            routed,
            model_token=provisioned["model"],
            token_type="model_unit_hour",
            service_tier="provisioned",
            commitment=_commitment(provisioned["rest"]),
            category="provisioned_throughput",
        )

    if customization := _CUSTOMIZATION_RE.match(core):
        what = (customization["what"] or "").lower()
        return replace(
            routed,
            model_token=customization["model"],
            category="storage" if "storage" in what else "customization",
        )

    if token := _TOKEN_RE.match(core):
        return replace(
            routed,
            model_token=token["model"],
            token_type=token["kind"].lower().replace("-", "_"),
            cache_ttl=token["ttl"].lower() if token["ttl"] else None,
            category="tokens",
        )

    return routed


def _parse_marketplace(raw: str, prefix: str | None, rest: str) -> UsageType:
    match = _MARKETPLACE_RE.match(rest)
    body = match["body"] if match else rest[3:]
    words = [word for word in body.split("_") if word]

    # The inner code repeats the outer one (`USE1-MP:USE1_...`); it is the only region
    # hint when the outer prefix is missing.
    if words and (inner := _as_region_prefix(words[0])) is not None:
        prefix = prefix or inner
        words = words[1:]
    lowered = [word.lower() for word in words]
    compact = "".join(lowered)

    token_type: str | None = None
    cache_ttl: str | None = None
    if "cacheread" in compact:
        token_type = "cache_read"
    elif cache_write := _MP_CACHE_WRITE_RE.search(compact):
        token_type = "cache_write"
        cache_ttl = cache_write["ttl"]
    elif "output" in compact:
        token_type = "output"
    elif "input" in compact:
        token_type = "input"

    route, geo = "in_region", None
    if "global" in lowered:
        route = "global"
    elif "geo" in lowered:
        route = "geo"

    tier = "standard"
    for word in ("reserved", "batch", "flex", "priority"):
        if word in lowered:
            tier = word
            break

    # Reserved capacity is billed per tokens-per-minute of capacity held, not per token
    # consumed, so it is grouped with provisioned throughput to keep token sums honest.
    if tier == "reserved":
        category = "provisioned_throughput"
    elif token_type is not None:
        category = "tokens"
    else:
        category = "other"

    return UsageType(
        raw=raw,
        region_prefix=prefix,
        region=_region_for(prefix),
        model_token=None,
        token_type=token_type,
        cache_ttl=cache_ttl,
        route=route,
        geo=geo,
        service_tier=tier,
        commitment=_commitment("_".join(words)) if tier == "reserved" else None,
        is_marketplace=True,
        variant=None,
        category=category,
    )
