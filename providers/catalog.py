"""Model identity and list prices for the providers, through H1's finops.ledger.provider_catalog.

Provider usage comes aggregated per day, so the long-context price cannot be told from token sums (a day of
many short requests passes any threshold, and Catalog.estimate would price all of it as long context): the
context is passed explicitly here (Anthropic says it per row; OpenAI has none), never derived from totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.provider_catalog import TOKEN_KEYS, provider_model


def model_for(catalog: Catalog, source: str, model: str) -> CatalogModel | None:
    return provider_model(catalog, source, model) if model else None


def estimate(
    catalog: Catalog,
    *,
    source: str,
    model_id: str,
    tokens: dict[str, int],
    on: date,
    service_tier: str = "standard",
    context: str = "",
) -> tuple[Decimal | None, list[str]]:
    """The list price of these tokens (keys as provider_catalog.TOKEN_KEYS), or None with the token types
    that have no price. `model_id` comes from model_for(catalog, source, ...)."""
    unknown = set(tokens) - set(TOKEN_KEYS)
    if unknown:
        raise ValueError(f"unknown token type(s) {sorted(unknown)} for {source}")
    total = Decimal(0)
    missing: list[str] = []
    for key, count in tokens.items():
        if not count:
            continue
        token_type, ttl = ("cache_write", "1h") if key == "cache_write_1h" else (key, "")
        entry = catalog.price(
            model_id=model_id,
            token_type=token_type,
            on=on,
            route="",
            service_tier=service_tier,
            region="",
            context=context,
            cache_ttl=ttl,
        )
        if entry is None:
            missing.append(key)
            continue
        total += entry.per_unit * count
    return (None if missing else total), missing
