"""Helpers the recommenders share: pricing tokens on a model, scaling a window to a month, naming a
scope. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from finops.ledger.catalog import Catalog, CatalogModel
from recommendations.inputs import Request

CENT = Decimal("0.01")
MONTH_DAYS = 30


def monthly(amount: Decimal, days: int) -> Decimal:
    """An amount seen over `days` days, scaled to 30."""
    return (amount * MONTH_DAYS / max(days, 1)).quantize(CENT)


def price_request(
    catalog: Catalog, model_id: str, request: Request, *, on: date | None = None, cache: bool = True
) -> Decimal | None:
    """What this request's tokens cost on `model_id` (its route, tier and region); None when unpriced."""
    tokens = {"input": request.input_tokens, "output": request.output_tokens}
    if cache:
        tokens.update(cache_read=request.cache_read_tokens, cache_write=request.cache_write_tokens)
    cost, missing = catalog.estimate(
        model_id=model_id,
        tokens=tokens,
        on=on or request.usage_date,
        route=request.route,
        service_tier=request.service_tier,
        region=request.region,
    )
    return None if missing else cost


def per_token(
    catalog: Catalog, model_id: str, token_type: str, request: Request, *, cache_ttl: str = ""
) -> Decimal | None:
    entry = catalog.price(
        model_id=model_id,
        token_type=token_type,
        on=request.usage_date,
        route=request.route,
        service_tier=request.service_tier,
        region=request.region,
        cache_ttl=cache_ttl,
    )
    return entry.per_unit if entry else None


def who(request: Request) -> tuple[str, str]:
    """(dimension, value) naming who sends a request: its application, else its principal."""
    if request.application:
        return "application", request.application
    return "iam_principal", request.iam_principal or "(unknown caller)"


def name(catalog: Catalog, model_id: str) -> str:
    model = catalog.models.get(model_id)
    return model.name if model else model_id


def models_of(catalog: Catalog, *, provider: str, tier: str, platform: str = "bedrock") -> Iterable[CatalogModel]:
    """Active models of a maker and tier bought on one platform (a move never changes platform)."""
    return (
        m
        for m in catalog.models.values()
        if m.provider == provider and m.tier == tier and m.lifecycle == "ACTIVE" and m.platform == platform
    )


def dollars(amount: Decimal) -> str:
    return f"${amount.quantize(CENT):,}"
