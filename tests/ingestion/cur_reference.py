"""The CUR normaliser as it was before it worked out each distinct set of text values once (commit 67b1f8f,
ingestion/normalize.py), frozen here so tests/ingestion/test_cur_fast_path.py can hold the new one to it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from finops.ledger.catalog import Catalog
from ingestion.normalize import (
    SCALE_LABELS,
    TOKEN_FIELDS,
    USAGE_LINE_TYPES,
    _model_fields,
    _model_reference,
    _principal_fields,
    _usage_type,
    map_dimensions,
    token_scale,
)
from ingestion.normalize_cur import (  # the labels, messages and token types are the same data as before
    CUR_LABELS,
    NEGATIVE_USAGE,
    RESOURCE_ARN,
    UNPARSED,
    _price_token_type,
)
from ingestion.parsers.usage_types import normalise_model_token
from ingestion.validation import MAX_TOKENS, validate_event


def _stable_key(prefix: str, parts: Iterable[Any]) -> str:
    text = json.dumps(list(parts), default=str, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}:{digest[:48]}"


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
