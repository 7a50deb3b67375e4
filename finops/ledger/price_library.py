"""List prices of Amazon Bedrock models from a maintained price library (genai-prices, Decimal-based,
offline), as price rows in this catalog's dimensions. Pure: the library's snapshot in, rows out.

The library lists Bedrock models by runtime id, with `regional.` and `global.` entries for models
priced per price class (Claude 4.5+ and Nova 2 regional prices are 10% above global), per-million
token prices for input, output, cache read, 5-minute and 1-hour cache writes and audio tokens,
context tiers (a long-context price above a threshold) and dated price changes. What AWS adds on top
(batch, flex and priority, cache multipliers the library lacks, Claude's long-context rule) is in
`price_rules`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from importlib.metadata import version
from typing import Any

LIBRARY = "genai-prices"
SINCE = date(2023, 1, 1)  # prices the library gives without a start date: in force since before Bedrock
ROUTE_PREFIXES = {"global.": "global", "regional.": ""}
PRICE_FIELDS: dict[str, tuple[str, str]] = {
    # library field -> (token type, cache ttl)
    "input_mtok": ("input", ""),
    "output_mtok": ("output", ""),
    "cache_read_mtok": ("cache_read", ""),
    "cache_write_mtok": ("cache_write", ""),
    "cache_write_1h_mtok": ("cache_write", "1h"),
    "input_audio_mtok": ("input_audio", ""),
    "output_audio_mtok": ("output_audio", ""),
}
PROVIDERS = {
    "anthropic": "Anthropic",
    "amazon": "Amazon",
    "meta": "Meta",
    "mistral": "Mistral AI",
    "cohere": "Cohere",
    "ai21": "AI21 Labs",
    "deepseek": "DeepSeek",
    "qwen": "Qwen",
    "google": "Google",
    "openai": "OpenAI",
    "nvidia": "NVIDIA",
    "writer": "Writer",
    "moonshotai": "Moonshot AI",
    "zai": "Z.ai",
    "minimax": "MiniMax",
    "stability": "Stability AI",
    "twelvelabs": "TwelveLabs",
    "luma": "Luma AI",
}
_VERSION_TAIL = re.compile(r"(-v\d+)?(:\d+)?$")
_DATE_TAIL = re.compile(r"-\d{8}$")


@dataclass(frozen=True)
class LibraryPrice:
    token_type: str
    route: str  # "" (regional, or the only price) or "global"
    price_per_mtok: Decimal
    effective_from: date
    effective_to: date | None = None
    context: str = ""  # "" or "long"
    cache_ttl: str = ""  # "" (5 minutes) or "1h"


@dataclass
class LibraryModel:
    runtime_id: str  # the library's id without its price-class prefix, e.g. anthropic.claude-sonnet-4-6-v1:0
    name: str
    provider: str
    context_window: int | None
    deprecated: bool
    long_context_threshold: int | None = None
    prices: list[LibraryPrice] = field(default_factory=list)
    library_ids: list[str] = field(default_factory=list)
    match_strings: list[str] = field(default_factory=list)


def library_source() -> str:
    return f"{LIBRARY} {version('genai-prices')}"


def _strip_route(library_id: str) -> tuple[str, str]:
    for prefix, route in ROUTE_PREFIXES.items():
        if library_id.startswith(prefix):
            return library_id[len(prefix) :], route
    return library_id, ""


def provider_of(runtime_id: str) -> str:
    prefix = runtime_id.split(".", 1)[0].lower()
    return PROVIDERS.get(prefix, prefix.capitalize())


def name_from_id(runtime_id: str) -> str:
    """A readable name from a runtime id: anthropic.claude-3-5-sonnet-20241022-v2:0 -> Claude 3.5 Sonnet."""
    core = runtime_id.split(".", 1)[-1]
    version = re.search(r"-v(\d+)(?::\d+)?$", core)
    core = _DATE_TAIL.sub("", _VERSION_TAIL.sub("", core))
    words: list[str] = []
    for part in core.split("-"):
        if part.isdigit() and words and words[-1].replace(".", "").isdigit():
            words[-1] = f"{words[-1]}.{part}"
        else:
            words.append(part if part.isdigit() else part.capitalize())
    if version and int(version.group(1)) > 1:  # Claude 3.5 Sonnet v2 is not Claude 3.5 Sonnet
        words.append(f"v{version.group(1)}")
    return " ".join(words)


def _match_strings(clause: Any) -> list[str]:
    """The model-id fragments a library match clause names (starts_with / contains / equals)."""
    found: list[str] = []
    for attribute in ("starts_with", "contains", "equals"):
        value = getattr(clause, attribute, None)
        if isinstance(value, str):
            found.append(value)
    for attribute in ("or_", "and_"):
        for inner in getattr(clause, attribute, None) or []:
            found += _match_strings(inner)
    return found


def _dated(prices: Any) -> list[tuple[date, Any]]:
    """(effective from, ModelPrice) for a plain price or a list of date-constrained ones."""
    if not isinstance(prices, list):
        return [(SINCE, prices)]
    dated = []
    for conditional in prices:
        constraint = getattr(conditional, "constraint", None)
        start = getattr(constraint, "start_date", None) or SINCE
        dated.append((start, conditional.prices))
    return sorted(dated, key=lambda item: item[0])


def _price_rows(prices: Any, route: str) -> tuple[list[LibraryPrice], int | None]:
    rows: list[LibraryPrice] = []
    threshold: int | None = None
    dated = _dated(prices)
    for number, (start, model_price) in enumerate(dated):
        end = dated[number + 1][0] if number + 1 < len(dated) else None
        for attribute, (token_type, ttl) in PRICE_FIELDS.items():
            value = getattr(model_price, attribute, None)
            if value is None:
                continue
            if isinstance(value, Decimal | int | float):
                rows.append(LibraryPrice(token_type, route, Decimal(value), start, end, "", ttl))
                continue
            base, tiers = getattr(value, "base", None), getattr(value, "tiers", None) or []
            if base is not None:
                rows.append(LibraryPrice(token_type, route, Decimal(base), start, end, "", ttl))
            if tiers:
                # The library's first tier is the long-context price (all tokens of a bigger request).
                threshold = int(tiers[0].start)
                rows.append(LibraryPrice(token_type, route, Decimal(tiers[0].price), start, end, "long", ttl))
    return rows, threshold


def library_models(provider_id: str = "aws") -> list[LibraryModel]:
    """Every model the library prices for Bedrock, one per runtime id (regional and global prices merged)."""
    from genai_prices import data

    provider = next(p for p in data.providers if p.id == provider_id)
    models: dict[str, LibraryModel] = {}
    for info in provider.models:
        runtime_id, route = _strip_route(info.id)
        model = models.get(runtime_id)
        if model is None:
            model = models[runtime_id] = LibraryModel(
                runtime_id=runtime_id,
                name=(info.name or "").replace(" (global)", "").replace(" (regional)", "") or name_from_id(runtime_id),
                provider=provider_of(runtime_id),
                context_window=info.context_window,
                deprecated=bool(info.deprecated),
            )
        model.library_ids.append(info.id)
        model.match_strings += [m for m in _match_strings(info.match) if m not in model.match_strings]
        rows, threshold = _price_rows(info.prices, route)
        model.prices += rows
        if threshold and not model.long_context_threshold:
            model.long_context_threshold = threshold
    return sorted(models.values(), key=lambda m: m.runtime_id)
