"""Parsed rows -> ledger fields. Pure: the catalog snapshot and the tenant's tag mapping come in as
arguments, a dict of SpendEvent fields (or a ValueError naming what is wrong) comes out."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any

from finops.ledger.catalog import CatalogModel
from ingestion.parsers.principals import Principal, parse_principal
from ingestion.parsers.usage_types import UsageType, parse_usage_type

TOKEN_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
}
USAGE_LINE_TYPES = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}
DIMENSIONS = ("team", "application", "cost_center", "environment", "user_id", "agent_id", "workflow_id", "session_id")
SCALES = (Decimal(1), Decimal(1000), Decimal(1_000_000))
SCALE_LABELS = {Decimal(1): "tokens", Decimal(1000): "1K tokens", Decimal(1_000_000): "1M tokens"}


@lru_cache(maxsize=8192)
def _norm_key(key: str) -> str:
    return "".join(ch for ch in key.lower() if ch not in "-_ ")


# The same usage types and principals repeat on almost every row: parse each spelling once.
@lru_cache(maxsize=8192)
def _usage_type(value: str) -> UsageType:
    return parse_usage_type(value)


@lru_cache(maxsize=8192)
def _principal(arn: str) -> Principal | None:
    return parse_principal(arn)


def map_dimensions(mapping: Mapping[str, list[str]], *sources: Mapping[str, str]) -> dict[str, str]:
    """Dimension values from tag sources, first source first, keys in the mapping's order.

    The same few tag sets repeat on most rows: each distinct (mapping, tags) is worked out once."""
    try:
        key = (
            tuple((dimension, tuple(keys)) for dimension, keys in mapping.items()),
            tuple(tuple(source.items()) for source in sources),
        )
        return dict(_map_dimensions_cached(key))
    except TypeError:  # a value that cannot be hashed (not text): worked out directly, its error as before
        return _map_dimensions(mapping, *sources)


@lru_cache(maxsize=4096)
def _map_dimensions_cached(
    key: tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[tuple[str, Any], ...], ...]],
) -> tuple[tuple[str, str], ...]:
    mapping = {dimension: list(keys) for dimension, keys in key[0]}
    return tuple(_map_dimensions(mapping, *(dict(items) for items in key[1])).items())


def _map_dimensions(mapping: Mapping[str, list[str]], *sources: Mapping[str, str]) -> dict[str, str]:
    lookups = [{_norm_key(k): v for k, v in source.items() if v not in (None, "")} for source in sources]
    result: dict[str, str] = {}
    for dimension in DIMENSIONS:
        for key in mapping.get(dimension, []):
            wanted = _norm_key(key)
            value = next((lookup[wanted] for lookup in lookups if wanted in lookup), None)
            if value:
                result[dimension] = str(value)
                break
    return result


def _model_fields(model: CatalogModel | None) -> dict[str, str]:
    if model is None:
        return {"model_id": "", "model_family": "", "model_tier": "", "model_provider": ""}
    return {
        "model_id": model.model_id,
        "model_family": model.family,
        "model_tier": model.tier,
        "model_provider": model.provider,
    }


def _model_reference(token: str | None, marketplace: bool, product: Mapping[str, str]) -> str:
    """What names the model on a bill line we could not resolve (blank on tax, credit and fee lines)."""
    if token:
        return token
    if marketplace:
        return product.get("product_name") or product.get("model") or ""
    return ""


def _principal_fields(arn: str) -> dict[str, str]:
    principal = _principal(arn)
    if principal is None:
        return {"iam_principal": arn, "principal_type": "", "principal_name": "", "role_name": ""}
    return {
        "iam_principal": arn,
        "principal_type": principal.principal_type,
        "principal_name": principal.principal_name,
        "role_name": principal.role_name,
    }


def request_dedupe_key(request_id: str) -> str:
    """A request's key: its id as delivered, or a hash of the whole id when it would not fit, so two
    long ids that share a beginning stay two requests."""
    if len(request_id) <= 124:
        return f"req:{request_id}"
    return "reqh:" + hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()


def token_scale(
    *, pricing_unit: str, amount: Decimal | None, cost: Decimal | None, catalog_per_token: Decimal | None
) -> tuple[Decimal | None, str]:
    """How many tokens one unit of `line_item_usage_amount` is, and why.

    The unit text is read first (1K / 1M / tokens). When it says only "Units" or nothing, the
    effective rate (cost / amount) is compared with the catalog's per-token price and the scale
    that brings them closest wins; with no price to compare, the scale stays unknown."""
    text = pricing_unit.strip().lower()
    if "1m" in text or "million" in text:
        return Decimal(1_000_000), pricing_unit
    if "1k" in text or "thousand" in text or text.startswith("k "):
        return Decimal(1000), pricing_unit
    if text in {"token", "tokens"}:
        return Decimal(1), pricing_unit
    if amount and cost and catalog_per_token and amount > 0 and cost > 0 and catalog_per_token > 0:
        try:
            rate = cost / amount
            best = min(SCALES, key=lambda s: abs(math.log(float(rate / s / catalog_per_token))))
            close = abs(math.log(float(rate / best / catalog_per_token))) < math.log(3)
        except (ArithmeticError, ValueError):  # an amount so small the rate has no size: no scale
            return None, pricing_unit or "unknown"
        if close:
            return best, f"{SCALE_LABELS[best]} (derived from rate)"
    return None, pricing_unit or "unknown"
