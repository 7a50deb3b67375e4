"""Bill lines of the other platforms' billing files (Azure OpenAI cost exports, Vertex AI billing exports)
-> ledger fields. Pure: the parsers' provider rows, the catalog snapshot and the tenant's tag mapping in, a
dict of SpendEvent fields (or a ValueError naming the delivered column) out.

Every line is billed (`record_kind=billed_line`, `cost_basis=billed`, `cost_usd` = the USD cost as
delivered). Tokens are counted only where the unit says what one unit of quantity is (1K, 1M, tokens, a
count of tokens); a line whose model the catalog does not know or price keeps its billed dollars, shows the
delivered model in `model_ref` and is marked `unpriced` (no list-price estimate), never $0."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from finops.ledger.catalog import Catalog, CatalogModel
from finops.ledger.provider_catalog import provider_model
from ingestion.normalize import map_dimensions
from ingestion.validation import MAX_TAG_VALUE, MAX_TOKENS, REGION_RULES, check_text, validate_event

TOKEN_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
}
USAGE_LINE_TYPES = {"usage", "usage (correction)"}
LABELS = {
    "azure_openai": {
        "usage_type": "MeterName",
        "model_ref": "MeterName (model)",
        "cost_usd": "CostInUSD / x_BilledCostInUsd",
        "units": "Quantity",
        "unit": "UnitOfMeasure",
        "tags": "Tags",
        "region": "ResourceLocation",
        "usage_start": "Date / ChargePeriodStart",
        "usage_end": "ChargePeriodEnd",
        "line_item_type": "ChargeType / ChargeCategory",
        "inference_profile_arn": "ResourceId",
    },
    "vertex": {
        "usage_type": "sku.description",
        "model_ref": "sku.description (model)",
        "cost_usd": "cost",
        "units": "usage.amount",
        "unit": "usage.unit",
        "tags": "labels",
        "region": "location.region",
        "usage_start": "usage_start_time",
        "usage_end": "usage_end_time",
        "line_item_type": "cost_type / credits.type",
    },
}
NEGATIVE_USAGE = "negative quantity on a usage line: cost kept, tokens not counted"


def unit_issue(unit_text: str, column: str) -> str:
    return f"{column} {unit_text!r} is not a unit of tokens this importer reads: cost kept, tokens not counted"


def _model_fields(model: CatalogModel | None) -> dict[str, str]:
    if model is None:
        return {"model_id": "", "model_family": "", "model_tier": "", "model_provider": ""}
    return {
        "model_id": model.model_id,
        "model_family": model.family,
        "model_tier": model.tier,
        "model_provider": model.provider,
    }


def stable_key(source: str, parts: Any) -> str:
    text = json.dumps(parts, default=str, separators=(",", ":"), sort_keys=True)
    return f"{source}:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:48]


def normalize_provider_row(
    raw: dict[str, Any], *, catalog: Catalog, mapping: Mapping[str, list[str]], float_storage: bool = False
) -> dict[str, Any]:
    source: str = raw["source"]
    labels = LABELS[source]
    model = provider_model(catalog, source, raw["model_name"]) if raw.get("model_name") else None
    line_type: str = raw["line_item_type"]
    quantity: Decimal | None = raw.get("quantity")
    unit = raw["unit"]  # UnitOfMeasure-like: per_quantity, kind, label, text
    token_type: str = raw.get("token_type", "")
    usage_line = line_type.lower() in USAGE_LINE_TYPES
    fields: dict[str, Any] = {
        "source": source,
        "record_kind": "billed_line",
        "cost_basis": "billed",
        "usage_start": raw["usage_start"],
        "usage_end": raw["usage_end"],
        "usage_date": raw["usage_start"].date(),
        "billing_period": raw["billing_period"],
        "account_id": "",
        "region": raw.get("region", ""),
        "inference_region": "",
        "route": raw.get("route", "") if usage_line else "",
        "model_ref": "" if model else (raw.get("model_name") or ""),
        "operation": raw.get("operation", ""),
        "usage_type": raw.get("usage_type", ""),
        "usage_category": raw.get("usage_category", "") if usage_line else "",
        "token_type": token_type if usage_line else "",
        "line_item_type": line_type,
        "service_tier": raw.get("service_tier") or "standard",
        "context": raw.get("context", "") if usage_line else "",
        "inference_profile_arn": raw.get("resource_id", ""),
        "cost_usd": raw["cost_usd"],
        "list_cost_usd": None,
        "units": quantity,
        "unit": unit.text if unit is not None else "",
        "requests": 0,
        "tags": {**raw.get("tags", {}), **raw.get("extra_tags", {})},
        "unpriced": False,
        **_model_fields(model),
    }
    token_field = TOKEN_FIELDS.get(token_type)
    if usage_line and raw.get("usage_category") == "tokens" and quantity is not None:
        if quantity < 0:
            fields["data_issue"] = NEGATIVE_USAGE
        elif unit is None or unit.kind != "tokens" or unit.per_quantity is None:
            fields["data_issue"] = unit_issue(unit.text if unit else "", labels["unit"])
        else:
            tokens = (quantity * unit.per_quantity).to_integral_value(rounding=ROUND_HALF_UP)
            if tokens > MAX_TOKENS:
                raise ValueError(
                    f"{labels['units']}={quantity} ({unit.label}) is {tokens:,} tokens, out of range "
                    f"(at most {MAX_TOKENS:,} per line)"
                )
            fields["unit"] = unit.label
            estimate = None
            if token_field:
                fields[token_field] = int(tokens)
            if model is not None:
                # A bill line is a day's tokens of one type, not one request: priced by the line's own context
                # (a long-context SKU) and deployment type, as CUR lines are (provider_estimate would take the
                # day's total for one prompt and call it long-context).
                price = catalog.price(
                    model_id=model.model_id,
                    token_type=token_type,
                    on=fields["usage_date"],
                    route=fields["route"] or "in_region",
                    service_tier=fields["service_tier"],
                    context=fields["context"],
                )
                estimate = price.per_unit * int(tokens) if price is not None else None
            fields["catalog_cost_usd"] = estimate
            # Billed dollars are kept; the flag says no list price explains them (unknown model or token type).
            fields["unpriced"] = estimate is None
    elif usage_line and raw.get("usage_category") == "provisioned_throughput" and quantity is not None:
        if unit is not None and unit.kind == "hours" and unit.per_quantity is not None:
            fields["units"] = quantity * unit.per_quantity
            fields["unit"] = "PTU hours"
        else:
            fields["data_issue"] = (
                f"{labels['unit']} {unit.text if unit else ''!r} is not hours: cost and quantity kept as delivered"
            )
    dims = map_dimensions(mapping, raw.get("tags", {}))
    if not dims.get("application") and raw.get("application_fallback"):
        dims["application"] = raw["application_fallback"]
    fields.update({k: v for k, v in dims.items() if v})
    for key, value in fields["tags"].items():
        if len(value) > MAX_TAG_VALUE:
            check_text(value, label=f"{labels['tags']}[{key[:60]!r}]", limit=MAX_TAG_VALUE)
    validate_event(fields, labels=labels, float_storage=float_storage, regions=REGION_RULES[source])
    fields["dedupe_key"] = stable_key(source, [raw["identity"], sorted(fields.items())])
    fields["allocated_cost_usd"] = Decimal(0)
    return fields
