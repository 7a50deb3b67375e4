"""The AWS pricing rules a price library does not carry, as explicit, tested rules. Pure: a model's
library prices in, the extra price rows out.

- Batch is 50% of on-demand, flex 50%, priority +75% (AWS Bedrock pricing page, service tiers).
- Claude prompt caching: a 5-minute cache write costs 1.25x input, a 1-hour write 2x input, a cache
  read 0.1x input (Anthropic's published multipliers, which Bedrock applies), for the models the
  library shows caching for.
- Nova prompt caching: a cache read costs 0.25x input; cache writes are not charged.
- Claude 4.5 and later: the regional (in-region and geographic-profile) price is 10% above global.
- Claude Sonnet 4 and 4.5 with the 1M-token context: above 200K input tokens the whole request is
  billed at 2x input and 1.5x output (cache reads and writes scale like input)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal

from finops.ledger.price_library import LibraryModel, LibraryPrice

TIER_FACTORS = {"batch": Decimal("0.5"), "flex": Decimal("0.5"), "priority": Decimal("1.75")}
CLAUDE_CACHE = {
    ("cache_write", ""): Decimal("1.25"),
    ("cache_write", "1h"): Decimal(2),
    ("cache_read", ""): Decimal("0.1"),
}
NOVA_CACHE = {("cache_read", ""): Decimal("0.25"), ("cache_write", ""): Decimal(0)}
REGIONAL_PREMIUM = Decimal("1.1")
LONG_CONTEXT_THRESHOLD = 200_000
LONG_CONTEXT_FACTORS = {
    "input": Decimal(2),
    "cache_read": Decimal(2),
    "cache_write": Decimal(2),
    "output": Decimal("1.5"),
}
_CLAUDE_VERSION = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:-(\d))?(?:-[a-z]+)?", re.IGNORECASE)
_LONG_CONTEXT_MODELS = re.compile(r"anthropic\.claude-sonnet-4-(?:5-)?\d{8}", re.IGNORECASE)

RuleRow = tuple[LibraryPrice, str]  # a price and the rule that made it


def _claude_version(runtime_id: str) -> tuple[int, int] | None:
    if "claude" not in runtime_id:
        return None
    match = _CLAUDE_VERSION.search(runtime_id.split(".", 1)[-1])
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return (major, minor) if major < 100 else None


def is_claude_45_or_later(runtime_id: str) -> bool:
    version = _claude_version(runtime_id)
    return version is not None and version >= (4, 5)


def _key(price: LibraryPrice) -> tuple[str, str, str, str, object]:
    return (price.token_type, price.route, price.context, price.cache_ttl, price.effective_from)


def cache_rows(model: LibraryModel, prices: list[LibraryPrice]) -> list[RuleRow]:
    """The cache prices the library leaves out, from the input price, for a model the library shows
    caching for (a model with no cache price at all, e.g. Claude 3 Haiku, has no prompt caching)."""
    if not any(p.token_type in ("cache_read", "cache_write") for p in prices):
        return []
    if model.provider == "Anthropic":
        factors, rule = CLAUDE_CACHE, "rule: Claude cache write 1.25x (1 h: 2x), read 0.1x input"
    elif model.runtime_id.startswith("amazon.nova"):
        factors, rule = NOVA_CACHE, "rule: Nova cache read 0.25x input, writes free"
    else:
        return []
    have = {_key(p) for p in prices}
    rows: list[RuleRow] = []
    for base in (p for p in prices if p.token_type == "input"):
        for (token_type, ttl), factor in factors.items():
            candidate = replace(base, token_type=token_type, cache_ttl=ttl, price_per_mtok=base.price_per_mtok * factor)
            if _key(candidate) not in have:
                rows.append((candidate, rule))
    return rows


def regional_premium_rows(model: LibraryModel, prices: list[LibraryPrice]) -> list[RuleRow]:
    """A regional price 10% above global for Claude 4.5+ where the library lists only global."""
    if not is_claude_45_or_later(model.runtime_id):
        return []
    have = {_key(p) for p in prices}
    rows: list[RuleRow] = []
    for price in prices:
        if price.route != "global":
            continue
        candidate = replace(price, route="", price_per_mtok=price.price_per_mtok * REGIONAL_PREMIUM)
        if _key(candidate) not in have:
            rows.append((candidate, "rule: Claude 4.5+ regional price 10% above global"))
    return rows


def long_context_rows(model: LibraryModel, prices: list[LibraryPrice]) -> list[RuleRow]:
    """Claude Sonnet 4 / 4.5 long-context prices, where the library has none."""
    if not _LONG_CONTEXT_MODELS.search(model.runtime_id) or any(p.context == "long" for p in prices):
        return []
    rows: list[RuleRow] = []
    for price in prices:
        factor = LONG_CONTEXT_FACTORS.get(price.token_type)
        if factor is not None and not price.context:
            rows.append(
                (
                    replace(price, context="long", price_per_mtok=price.price_per_mtok * factor),
                    "rule: Claude Sonnet 4/4.5 above 200K input tokens: 2x input, 1.5x output",
                )
            )
    return rows


def tier_rows(prices: Iterable[LibraryPrice]) -> list[tuple[LibraryPrice, str, str]]:
    """Batch, flex and priority prices from on-demand ones: (price, service tier, rule)."""
    return [
        (replace(price, price_per_mtok=price.price_per_mtok * factor), tier, f"rule: {tier} = {factor}x on-demand")
        for price in prices
        for tier, factor in TIER_FACTORS.items()
    ]


def model_prices(model: LibraryModel) -> list[tuple[LibraryPrice, str, str]]:
    """Every price of a model: (price, service tier, source note), library prices first, then the rules."""
    prices = list(model.prices)
    rows: list[tuple[LibraryPrice, str, str]] = [(p, "standard", "") for p in prices]
    for make in (regional_premium_rows, cache_rows, long_context_rows):
        added = make(model, prices)
        prices += [price for price, _ in added]
        rows += [(price, "standard", rule) for price, rule in added]
    rows += tier_rows(prices)
    return rows


def long_context_threshold(model: LibraryModel) -> int | None:
    if model.long_context_threshold:
        return model.long_context_threshold
    return LONG_CONTEXT_THRESHOLD if _LONG_CONTEXT_MODELS.search(model.runtime_id) else None
