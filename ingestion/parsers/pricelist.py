"""The AWS Price List for Amazon Bedrock, read into price rows in the catalog's dimensions. Pure:
Price List documents in (a `get_products` dump: its `PriceList` of JSON strings; or a bulk offer file:
`products` + `terms.OnDemand`), rows out.

Every SKU with an on-demand USD price becomes a row: its usage type is parsed into the dimensions AWS
bills by (region, token type, price class, tier, context, cache TTL), the same parser the CUR importer
uses, so a bill line and a price meet on the same key. The unit is read, never assumed: `1K tokens`,
`Units` whose description says "Million ... Tokens", `hour`, `image`. See reference/aws-pricelist.md."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ingestion.parsers.usage_types import UsageType, parse_usage_type

SERVICE_CODES = ("AmazonBedrock", "AmazonBedrockFoundationModels", "AmazonBedrockService")
MODEL_ATTRIBUTES = ("model", "servicename", "titanModel", "modelName")
_MILLION = re.compile(r"\bmillion\b|\b1m\b", re.IGNORECASE)
_THOUSAND = re.compile(r"\bthousand\b|\b1k\b|\bper 1,000\b", re.IGNORECASE)
_EDITION = re.compile(r"\s*\(amazon bedrock edition\)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class PriceListRow:
    sku: str
    usage_type: str
    region: str
    model_token: str | None  # first-party usage types name the model
    model_name: str  # the product's model attribute (Marketplace models are named only here)
    provider: str
    token_type: str
    route: str  # "global" or "in_region" (the regional price class)
    service_tier: str
    context: str
    cache_ttl: str
    variant: str  # image size/quality, provisioned-throughput commitment
    price_usd: Decimal
    unit: str  # "1K tokens", "1M tokens", "hour", "image", ...
    effective_from: date
    version: str
    published: date


@dataclass(frozen=True)
class Skipped:
    sku: str
    usage_type: str
    reason: str


def _date(text: Any) -> date | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _unit(unit: str, description: str, usage: UsageType) -> str | None:
    """Our unit for a price dimension's unit, or None when it cannot be told."""
    text = unit.strip().lower()
    if text in {"1k tokens", "1k token"}:
        return "1K tokens"
    if text in {"1m tokens", "1m token"}:
        return "1M tokens"
    if text in {"hour", "hours", "hrs", "hr"}:
        return "hour"
    if text in {"image", "images"}:
        return "image"
    if text in {"units", "unit"}:
        scale = getattr(usage, "unit_scale", None)
        if _MILLION.search(description) or scale == 1_000_000:
            return "1M tokens"
        if _THOUSAND.search(description) or scale == 1000:
            return "1K tokens"
        if usage.token_type == "model_unit_hour" or "hour" in description.lower():
            return "hour"
        return None
    return None


def documents(data: Any) -> Iterator[dict[str, Any]]:
    """Product documents (each with `product` and `terms`) from a get_products dump (one response, a
    list of responses, or a bare PriceList list of JSON strings) or from a bulk offer file."""
    if isinstance(data, list):
        for item in data:
            if isinstance(item, str):
                yield json.loads(item)
            elif isinstance(item, dict) and "PriceList" in item:
                yield from documents(item)
            elif isinstance(item, dict):
                yield item
        return
    if not isinstance(data, dict):
        raise ValueError("not a Price List document: expected get_products output or an offer file")
    if "PriceList" in data:
        yield from documents(data["PriceList"])
        return
    if "products" in data and "terms" in data:
        on_demand = (data.get("terms") or {}).get("OnDemand") or {}
        for sku, product in data["products"].items():
            yield {
                "product": product,
                "serviceCode": product.get("attributes", {}).get("servicecode", ""),
                "terms": {"OnDemand": on_demand.get(sku, {})},
                "version": data.get("version", ""),
                "publicationDate": data.get("publicationDate", ""),
            }
        return
    raise ValueError("not a Price List document: no PriceList array and no products/terms")


def rows_from_document(document: dict[str, Any]) -> tuple[list[PriceListRow], list[Skipped]]:
    product = document.get("product") or {}
    attributes = product.get("attributes") or {}
    sku = str(product.get("sku") or "")
    usage_type = str(attributes.get("usagetype") or "")
    if not usage_type:
        return [], [Skipped(sku, "", "no usagetype attribute")]
    usage = parse_usage_type(usage_type)
    if usage.token_type is None:
        return [], [Skipped(sku, usage_type, f"not a model price ({usage.category})")]
    region = str(attributes.get("regionCode") or usage.region or "")
    model_name = next((str(attributes[a]) for a in MODEL_ATTRIBUTES if attributes.get(a)), "")
    version = str(document.get("version") or "")
    published = _date(document.get("publicationDate")) or date.today()
    rows: list[PriceListRow] = []
    skipped: list[Skipped] = []
    for term in ((document.get("terms") or {}).get("OnDemand") or {}).values():
        effective = _date(term.get("effectiveDate")) or published
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            try:
                price = Decimal(str(usd))
            except (InvalidOperation, TypeError):
                skipped.append(Skipped(sku, usage_type, f"no USD price ({usd!r})"))
                continue
            if not price.is_finite() or price < 0 or str(dimension.get("beginRange", "0")) not in ("0", ""):
                skipped.append(Skipped(sku, usage_type, "not a first-range on-demand USD price"))
                continue
            unit = _unit(str(dimension.get("unit") or ""), str(dimension.get("description") or ""), usage)
            if unit is None:
                skipped.append(Skipped(sku, usage_type, f"unit {dimension.get('unit')!r} cannot be read"))
                continue
            modality = getattr(usage, "modality", None)
            token_type = f"{usage.token_type}_{modality}" if modality and modality != "text" else usage.token_type
            context = getattr(usage, "context", "standard")
            rows.append(
                PriceListRow(
                    sku=sku,
                    usage_type=usage_type,
                    region=region,
                    model_token=usage.model_token,
                    model_name=_EDITION.sub("", model_name),
                    provider=str(attributes.get("provider") or ""),
                    token_type=token_type,
                    route="global" if usage.route == "global" else "in_region",
                    service_tier=usage.service_tier,
                    context="long" if context == "long" else "",
                    cache_ttl="1h" if usage.cache_ttl == "1h" else "",
                    variant=usage.variant or usage.commitment or "",
                    price_usd=price,
                    unit=unit,
                    effective_from=effective,
                    version=version,
                    published=published,
                )
            )
    return rows, skipped


def price_list_rows(data: Any) -> tuple[list[PriceListRow], list[Skipped]]:
    rows: list[PriceListRow] = []
    skipped: list[Skipped] = []
    for document in documents(data):
        found, passed = rows_from_document(document)
        rows += found
        skipped += passed
    return rows, skipped


def merge_pages(pages: Iterable[dict[str, Any]]) -> list[str]:
    """The PriceList strings of every get_products page."""
    return [item for page in pages for item in page.get("PriceList", [])]
