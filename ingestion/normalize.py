"""Parsed rows -> ledger fields. Pure: the catalog snapshot and the tenant's tag mapping come in as
arguments, a dict of SpendEvent fields (or a ValueError naming what is wrong) comes out."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from finops.ledger.catalog import Catalog, CatalogModel
from ingestion.parsers.principals import Principal, parse_principal
from ingestion.parsers.usage_types import UsageType, normalise_model_token, parse_usage_type
from ingestion.validation import MAX_TOKENS, validate_event

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


def _stable_key(prefix: str, parts: Iterable[Any]) -> str:
    text = json.dumps(list(parts), default=str, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}:{digest[:48]}"


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


# Ledger field -> the name it has in the delivered file, so a rejection names what the user can find.
CUR_LABELS = {
    "account_id": "line_item_usage_account_id",
    "region": "product_region_code",
    "model_ref": "line_item_usage_type (model)",
    "operation": "line_item_operation",
    "usage_type": "line_item_usage_type",
    "line_item_type": "line_item_line_item_type",
    "inference_profile_arn": "line_item_resource_id",
    "cost_usd": "line_item_unblended_cost",
    "list_cost_usd": "pricing_public_on_demand_cost",
    "units": "line_item_usage_amount",
    "unit": "pricing_unit",
    "iam_principal": "line_item_iam_principal",
    "principal_name": "line_item_iam_principal (name)",
    "role_name": "line_item_iam_principal (role)",
    "user_id": "line_item_user_identifier",
    "tags": "tags",
    "usage_start": "line_item_usage_start_date",
    "usage_end": "line_item_usage_end_date",
    **{f: f"tags ({f} tag value)" for f in DIMENSIONS if f != "user_id"},
    **{f: f"line_item_usage_amount as {f.replace('_', ' ')}" for f in TOKEN_FIELDS.values()},
}
RESOURCE_ARN = re.compile(r":(?:application-)?inference-profile/|:provisioned-model/")
NEGATIVE_USAGE = "negative usage amount on a usage line: cost kept, tokens not counted"
UNPARSED = "usage type not understood: cost and quantity kept, no tokens counted"
MODALITY_TOKEN_TYPES = {"speech": "audio"}


def _price_token_type(usage: UsageType) -> str:
    """The token type a price is looked up by: input / output / cache_read / cache_write, or with the
    modality when it is not text (input_video, output_audio ...)."""
    if not usage.token_type:
        return ""
    if usage.modality and usage.token_type in {"input", "output"}:
        return f"{usage.token_type}_{MODALITY_TOKEN_TYPES.get(usage.modality, usage.modality)}"
    return usage.token_type


def normalize_cur_row(
    raw: dict[str, Any], *, catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool = False
) -> dict[str, Any]:
    usage = _usage_type(raw["usage_type"])
    product: dict[str, str] = raw.get("product") or {}
    model = None
    if usage.model_token:
        model = catalog.lookup_spelling(usage.model_token, normalise_model_token)
    if model is None:
        model = catalog.resolve_product_name(product.get("product_name") or product.get("servicename"))
    if model is None and product.get("model"):
        model = catalog.resolve_product_name(product["model"])
    line_type = raw["line_item_type"]
    amount: Decimal | None = raw.get("usage_amount")
    cost: Decimal = raw["unblended_cost"]
    region = usage.region or raw.get("region_code") or ""
    resource_id = raw.get("resource_id", "")
    context = "long" if usage.context == "long" else ""
    price_token_type = _price_token_type(usage)
    fields: dict[str, Any] = {
        "record_kind": "billed_line",
        "cost_basis": "billed",
        "usage_start": raw["usage_start"],
        "usage_end": raw["usage_end"],
        "usage_date": raw["usage_start"].date(),
        "billing_period": raw["billing_period"],
        "account_id": raw.get("usage_account_id", ""),
        "region": region,
        "inference_region": "",
        "route": usage.route if usage.category == "tokens" else "",
        "model_ref": "" if model else _model_reference(usage.model_token, usage.is_marketplace, product),
        "operation": raw.get("operation", ""),
        "usage_type": raw["usage_type"],
        "usage_category": usage.category if raw["usage_type"] else "",
        "token_type": price_token_type,
        "context": context,
        "line_item_type": line_type,
        "service_tier": usage.service_tier,
        # The inference profile or provisioned model the line is for (what a request names as modelId).
        "inference_profile_arn": resource_id if RESOURCE_ARN.search(resource_id) else "",
        "cost_usd": cost,
        "list_cost_usd": raw.get("public_on_demand_cost"),
        "units": amount,
        "unit": raw.get("pricing_unit", ""),
        "requests": 0,
        "tags": {**{f"resource_tags/{k}": v for k, v in raw.get("resource_tags", {}).items()}, **raw.get("tags", {})},
        **_model_fields(model),
        **_principal_fields(raw.get("iam_principal", "")),
    }
    if raw.get("user_identifier"):
        fields["user_id"] = raw["user_identifier"]
    token_field = TOKEN_FIELDS.get(usage.token_type or "")
    if token_field and line_type in USAGE_LINE_TYPES and amount is not None and amount < 0:
        # Usage cannot be negative; the dollars are AWS's to state, so they stay, flagged.
        fields["data_issue"] = NEGATIVE_USAGE
    elif token_field and line_type in USAGE_LINE_TYPES and amount is not None:
        price = None
        if model is not None:
            price = catalog.price(
                model_id=model.model_id,
                token_type=price_token_type,
                on=fields["usage_date"],
                route=usage.route,
                service_tier=usage.service_tier,
                region=region,
                context=context,
                cache_ttl=usage.cache_ttl or "",
            )
        pricing_unit = raw.get("pricing_unit", "")
        if usage.unit_scale and pricing_unit.strip().lower() in {"", "units", "unit"}:
            pricing_unit = SCALE_LABELS.get(Decimal(usage.unit_scale), pricing_unit)  # MillionBatchInputTokens
        scale, unit_label = token_scale(
            pricing_unit=pricing_unit, amount=amount, cost=cost, catalog_per_token=price.per_unit if price else None
        )
        fields["unit"] = unit_label
        if scale is not None:
            tokens = (amount * scale).to_integral_value(rounding=ROUND_HALF_UP)
            if tokens > MAX_TOKENS:
                raise ValueError(
                    f"line_item_usage_amount={amount} {SCALE_LABELS[scale]} is {tokens:,} tokens, out of range "
                    f"(at most {MAX_TOKENS:,} per line)"
                )
            fields[token_field] = int(tokens)
            if usage.token_type == "cache_write" and usage.cache_ttl == "1h":
                fields["cache_write_1h_tokens"] = int(tokens)
            if price is not None:
                fields["catalog_cost_usd"] = price.per_unit * int(tokens)
    elif usage.token_type == "model_unit_hour":
        fields["unit"] = "model-unit hours"
    elif usage.token_type == "image":
        fields["unit"] = "images"
    if usage.unparsed and raw["usage_type"] and not fields.get("data_issue"):
        fields["data_issue"] = UNPARSED
    dims = map_dimensions(mapping, raw.get("tags", {}), raw.get("resource_tags", {}))
    fields.update({k: v for k, v in dims.items() if not fields.get(k)})
    validate_event(fields, labels=CUR_LABELS, float_storage=float_storage)
    identity = {k: v for k, v in raw.items() if k not in {"file", "line"}}
    # Every delivered value and every stored one: a re-delivery that changes anything (a cost, a
    # tag, the tenant's tag mapping) is a different row; an identical one is the same row.
    fields["dedupe_key"] = _stable_key("cur", [sorted(identity.items()), sorted(fields.items())])
    # What reconciliation gives a bill line no request explains (set after the key, which it is not part
    # of): an import with nothing to allocate then rewrites no row.
    fields["allocated_cost_usd"] = Decimal(0)
    return fields
