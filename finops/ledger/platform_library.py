"""List prices of the platforms beside Bedrock (OpenAI, Anthropic, Azure OpenAI, Vertex AI) from the same
maintained price library (genai-prices), as catalog models and price rows. Pure: the library's snapshot in,
rows out; `platform_apply` writes them.

Which library provider each ledger source reads, and how a model gets its identity:
- openai <- `openai`; anthropic <- `anthropic`; vertex <- `google` (Gemini and Claude on Vertex, the
  library's Vertex prices) with its fallback `anthropic` for Claude models it does not list; azure_openai
  <- `azure` with its fallbacks (`openai` first: Azure sells OpenAI's models at OpenAI's list prices).
- canonical id: the library's id without `-latest` (`claude-3-5-haiku-latest` -> `claude-3-5-haiku`);
  aliases: the library id and the model strings its match clauses name (dated and undated spellings).
- maker (`model_provider`): who made the model (OpenAI, Anthropic, Google ...), never the platform.

The rules the library does not carry, each from the platform's pricing page (like `price_rules` for AWS):
- Batch is 50% of the standard price on all four: OpenAI Batch API (https://openai.com/api/pricing/),
  Anthropic Message Batches (https://docs.anthropic.com/en/docs/about-claude/pricing#batch-processing),
  Azure OpenAI Global Batch (https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/),
  Vertex AI batch prediction (https://cloud.google.com/vertex-ai/generative-ai/pricing).
- Claude prompt caching where the library lists caching but not every cache price: 5-minute write 1.25x
  input, 1-hour write 2x, read 0.1x (https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#pricing;
  Vertex applies the same multipliers to Claude, e.g. its listing lacks the 1-hour write for older models).
Flex and priority processing are not priced here (they vary by model and by commitment): such rows stay
unpriced and are shown, never $0."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from finops.ledger.price_library import PROVIDERS, LibraryModel, LibraryPrice, _match_strings, _price_rows
from finops.ledger.price_rules import cache_rows

# ledger source -> the library provider whose prices it is sold at
PLATFORM_LIBRARY: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure_openai": "azure",
    "vertex": "google",
}
# The library's fallbacks a platform takes (Azure's also names DeepSeek, xAI and Moonshot, whose listed prices
# are their own APIs', with DeepSeek's off-peak hours: not what Azure charges, so those stay unpriced).
FALLBACKS: dict[str, tuple[str, ...]] = {"azure_openai": ("openai", "anthropic"), "vertex": ("anthropic",)}
BATCH_FACTOR = Decimal("0.5")
BATCH_RULE = "rule: batch = 0.5x standard (platform pricing page)"
_LATEST = re.compile(r"-latest$")
# Who made a model, by its id (first match wins); else the library provider it is listed under.
_MAKERS: tuple[tuple[str, str], ...] = (
    (r"claude", "Anthropic"),
    (r"gemini|gemma|imagen|veo|chirp", "Google"),
    (r"phi-|mai-|wizardlm", "Microsoft"),
    (r"llama", "Meta"),
    (r"mistral|mixtral|codestral|ministral|pixtral", "Mistral AI"),
    (r"deepseek", "DeepSeek"),
    (r"grok", "xAI"),
    (r"kimi|moonshot", "Moonshot AI"),
)
_LIBRARY_MAKERS = {"openai": "OpenAI", "azure": "OpenAI", "anthropic": "Anthropic", "google": "Google"}
_LIBRARY_MAKERS |= {"x-ai": "xAI", "deepseek": "DeepSeek", "moonshotai": "Moonshot AI"}
# The Bedrock runtime-id prefix of each maker, to find a model's Bedrock entry (its family and tier).
MAKER_PREFIX = {name: prefix for prefix, name in PROVIDERS.items()}


@dataclass
class PlatformModel:
    source: str
    canonical: str  # the provider's canonical model id, without the `<source>/` namespace
    library: LibraryModel  # runtime_id = canonical; provider = the maker
    spellings: list[str]  # every spelling to alias (canonical first)

    @property
    def model_id(self) -> str:
        return f"{self.source}/{self.canonical}"


def maker_of(model_id: str, library_provider: str) -> str:
    for pattern, maker in _MAKERS:
        if re.search(pattern, model_id, re.IGNORECASE):
            return maker
    return _LIBRARY_MAKERS.get(library_provider, library_provider.capitalize())


def _dated_only(prices: Any) -> bool:
    """Prices the catalog can hold: plain, or changing on dates (not by time of day)."""
    if not isinstance(prices, list):
        return True
    return all(type(p.constraint).__name__ in ("NoneType", "StartDateConstraint") for p in prices)


def _provider(provider_id: str) -> Any:
    from genai_prices import data

    return next(p for p in data.providers if p.id == provider_id)


def _models_of(source: str, provider_id: str) -> list[PlatformModel]:
    found: list[PlatformModel] = []
    for info in _provider(provider_id).models:
        canonical = _LATEST.sub("", info.id)
        prices, threshold = _price_rows(info.prices, "") if _dated_only(info.prices) else ([], None)
        name = info.name if info.name and info.name != info.name.lower() else canonical
        spellings = [canonical]
        for spelling in (info.id, *_match_strings(info.match)):
            spelling = spelling.strip().lower()
            if spelling and spelling not in spellings:
                spellings.append(spelling)
        library = LibraryModel(
            runtime_id=canonical,
            name=name,
            provider=maker_of(canonical, provider_id),
            context_window=info.context_window,
            deprecated=bool(info.deprecated),
            long_context_threshold=threshold,
            prices=prices,
            library_ids=[info.id],
            match_strings=spellings[1:],
        )
        found.append(PlatformModel(source, canonical, library, spellings))
    return found


def platform_models(source: str) -> list[PlatformModel]:
    """Every model the library prices for a platform: its own listing, then the models of the providers it
    falls back to that its own listing does not name (by id or match spelling)."""
    provider_id = PLATFORM_LIBRARY[source]
    models = _models_of(source, provider_id)
    taken = {s for m in models for s in m.spellings}
    offered = _provider(provider_id).fallback_model_providers or ()
    for fallback in (f for f in FALLBACKS.get(source, ()) if f in offered):
        for model in _models_of(source, fallback):
            if model.canonical in taken or any(s in taken for s in model.spellings):
                continue
            models.append(model)
            taken.update(model.spellings)
    return sorted(models, key=lambda m: m.canonical)


def batch_rows(prices: list[LibraryPrice]) -> list[tuple[LibraryPrice, str, str]]:
    return [(replace(p, price_per_mtok=p.price_per_mtok * BATCH_FACTOR), "batch", BATCH_RULE) for p in prices]


def platform_prices(model: PlatformModel) -> list[tuple[LibraryPrice, str, str]]:
    """Every price of a platform's model: (price, service tier, source note), library prices first."""
    prices = list(model.library.prices)
    rows: list[tuple[LibraryPrice, str, str]] = [(p, "standard", "") for p in prices]
    added = cache_rows(model.library, prices)
    prices += [price for price, _ in added]
    rows += [(price, "standard", rule) for price, rule in added]
    return rows + batch_rows(prices)
