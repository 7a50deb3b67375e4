"""Model identity and prices for the platforms beside Amazon Bedrock (the contract importers code against).

Every platform's catalog entries live in the same catalog as Bedrock's, namespaced so they never collide:
the model id is `"<source>/<canonical id>"` (`openai/gpt-4o`, `anthropic/claude-sonnet-4-5`,
`azure_openai/gpt-4o`, `vertex/gemini-2.5-pro`) and so is every alias (`vertex/claude-sonnet-4-5`). A
provider's model string is resolved only among its own platform's aliases: Claude bought from Anthropic is
not Claude bought on Bedrock (the prices differ), though both share a family and a tier. Pure: a `Catalog`
snapshot in, answers out."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from finops.ledger.catalog import Catalog, CatalogModel

BEDROCK = "bedrock"
PLATFORMS: dict[str, str] = {
    "bedrock": "Amazon Bedrock",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "azure_openai": "Azure OpenAI",
    "vertex": "Vertex AI",
}
TOKEN_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "image")

# Spellings a provider delivers beyond the catalog's aliases, tried in this order (each on the result of the
# one before) until an alias answers. Catalog.lookup itself also drops an 8-digit date (`-20250929`).
_RESOURCE_PREFIX = re.compile(r"^.*/")  # Vertex `publishers/google/models/gemini-2.5-pro`, Gemini `models/…`
_AT_VERSION = re.compile(r"@.*$")  # Vertex `claude-sonnet-4-5@20250929`, `gemini-2.0-flash@001`
_LATEST = re.compile(r"-latest$")  # `claude-3-5-haiku-latest`
_ISO_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # OpenAI snapshots `gpt-4o-mini-2024-07-18`
_SHORT_VERSION = re.compile(r"-\d{3}$")  # Vertex stable versions `gemini-2.0-flash-001`
_STEPS = (_AT_VERSION, _LATEST, _ISO_DATE, _SHORT_VERSION)


class UnknownPlatform(ValueError):
    pass


def _check(source: str) -> None:
    if source not in PLATFORMS:
        raise UnknownPlatform(f"Unknown platform {source!r}: a ledger source is one of {', '.join(PLATFORMS)}.")


def platform_model_id(source: str, canonical: str) -> str:
    """The catalog id (and alias spelling) of a provider's model: `openai/gpt-4o`; Bedrock ids as they are."""
    _check(source)
    canonical = canonical.strip()
    return canonical if source == BEDROCK else f"{source}/{canonical}"


def platform_of(model_id: str) -> str:
    """The platform a catalog model id belongs to (Bedrock ids carry no `<source>/` namespace)."""
    head, slash, _ = (model_id or "").partition("/")
    return head if slash and head in PLATFORMS and head != BEDROCK else BEDROCK


def provider_spellings(model: str) -> list[str]:
    """The spellings of a provider's model string to look up, most exact first."""
    text = _RESOURCE_PREFIX.sub("", (model or "").strip().lower())
    spellings = [text] if text else []
    for step in _STEPS:
        text = step.sub("", text)
        if text and text not in spellings:
            spellings.append(text)
    return spellings


def provider_model(catalog: Catalog, source: str, model: str) -> CatalogModel | None:
    """A provider's model string resolved to that platform's catalog entry, or None when unknown.

    Accepts OpenAI `gpt-4o-2024-08-06`, Anthropic `claude-sonnet-4-5-20250929`, Azure `gpt-4.1`, Vertex
    `gemini-2.0-flash-001` / `claude-sonnet-4-5@20250929` and the like. Never answers with another
    platform's entry; for `bedrock` it resolves a Bedrock model id, profile id or ARN."""
    _check(source)
    if not model or not model.strip():
        return None
    if source == BEDROCK:
        found = catalog.resolve_model_id(model).model
        return found if found is not None and platform_of(found.model_id) == BEDROCK else None
    for spelling in provider_spellings(model):
        found = catalog.lookup(platform_model_id(source, spelling))
        if found is not None and platform_of(found.model_id) == source:
            return found
    return None


def provider_estimate(
    catalog: Catalog,
    *,
    source: str,
    model_id: str,
    tokens: dict[str, int],
    on: date,
    service_tier: str = "standard",
) -> tuple[Decimal | None, list[str]]:
    """Cost of tokens at that platform's list prices, like `Catalog.estimate`, or None with the token
    types that have no price (an unknown model: every token type it used). Never $0 for lack of a price.

    `tokens` keys: input (uncached), output, cache_read, cache_write (5-minute), cache_write_1h, image."""
    _check(source)
    unknown = sorted(set(tokens) - set(TOKEN_KEYS))
    if unknown:
        raise ValueError(f"Unknown token type(s) {', '.join(unknown)}: use {', '.join(TOKEN_KEYS)}.")
    used = [key for key in TOKEN_KEYS if tokens.get(key)]
    if not model_id or model_id not in catalog.models:
        return None, used
    if platform_of(model_id) != source:
        raise ValueError(
            f"Model {model_id!r} is priced on {PLATFORMS[platform_of(model_id)]}, not {PLATFORMS[source]}: "
            f"resolve the provider's model string with provider_model(catalog, {source!r}, …) first."
        )
    return catalog.estimate(model_id=model_id, tokens=tokens, on=on, service_tier=service_tier)
