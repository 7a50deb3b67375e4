"""Cloud Billing export (standard usage cost) -> Vertex AI bill lines and credits. Pure: a file in, provider
rows out (the shape ingestion.provider_normalize takes); other services counted as skipped; broken rows
rejected with file and line while the rest of the file loads.

The BigQuery table's fields (Google Cloud, "Structure of Standard data export"): `billing_account_id`,
`service.id`, `service.description`, `sku.id`, `sku.description`, `usage_start_time`, `usage_end_time`,
`project.id`, `project.name`, `labels` [{key, value}], `location.location`, `location.region`, `cost`,
`currency`, `currency_conversion_rate`, `usage.amount`, `usage.unit`, `usage.amount_in_pricing_units`,
`usage.pricing_unit`, `credits` [{name, amount, full_name, id, type}], `invoice.month` (YYYYMM),
`cost_type` (regular, tax, adjustment, rounding error). Read as exported:
* newline-delimited JSON and Parquet: nested records (`service: {description: ...}`);
* CSV: BigQuery cannot write repeated fields to CSV, so a CSV export comes from a query that selects the
  flattened names (`service.description` or `service_description`) with `labels` and `credits` as JSON text
  (`TO_JSON_STRING(labels)`).

Credits: the usage line keeps its gross `cost`; each credit becomes its own line (`Credit`, negative), so the
lines of a period sum to the invoice. Currency: `cost` is in the billing currency; a non-USD row is converted
with its `currency_conversion_rate` (USD = cost / rate, as Google defines it); a file billed in another
currency without that column is refused with an error naming it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ingestion.parsers.azure_meters import UnitOfMeasure, parse_unit
from ingestion.parsers.common import FileUnreadable, Rejected, month_start, parse_decimal, parse_map, parse_timestamp
from ingestion.parsers.gcp_skus import is_vertex_sku, parse_sku
from ingestion.parsers.provider_files import flatten, iter_records, read_columns

SOURCE = "vertex"
MAX_LINE_DOLLARS = Decimal(10**9)
MAX_QUANTITY = Decimal(10**15)
COST_TYPES = {"regular": "Usage", "tax": "Tax", "adjustment": "Adjustment", "rounding error": "Rounding"}
TOKEN_UNITS = {"count", "tokens", "token"}
REQUIRED = ("service.description", "sku.description", "usage_start_time", "cost", "currency")


def _key(name: str) -> str:
    """`service.description`, `service_description` and `Service.Description` are one column."""
    return name.strip().lower().replace("_", ".").replace("..", ".")


KEYS = {
    _key(n): n
    for n in (
        "billing_account_id", "service.id", "service.description", "sku.id", "sku.description", "usage_start_time",
        "usage_end_time", "project.id", "project.name", "labels", "location.location", "location.region", "cost",
        "currency", "currency_conversion_rate", "usage.amount", "usage.unit", "usage.amount_in_pricing_units",
        "usage.pricing_unit", "credits", "invoice.month", "cost_type",
    )
}  # fmt: skip


def _canonical(record: dict[str, Any]) -> dict[str, Any]:
    flat = flatten(record)
    return {KEYS.get(_key(name), name): value for name, value in flat.items()}


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{name} is not text: {type(value).__name__}")


def _json_list(value: Any, *, column: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{column} is not JSON: {getattr(exc, 'msg', exc)}") from exc
    if isinstance(value, dict):
        return [{"key": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise ValueError(f"{column} is not a list")
    return value


def _time(record: dict[str, Any], name: str) -> datetime:
    """BigQuery writes TIMESTAMP as `2026-06-03 00:00:00 UTC` in JSON and CSV; Parquet gives a datetime."""
    value = record.get(name)
    if isinstance(value, str) and value.strip().upper().endswith(" UTC"):
        value = value.strip()[:-4] + "+00:00"
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def _period(record: dict[str, Any], usage_start: date) -> date:
    month = _text(record, "invoice.month")
    if month:
        if len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
            raise ValueError(f"invoice.month={month!r} is not YYYYMM")
        return date(int(month[:4]), int(month[4:]), 1)
    return month_start(usage_start)


class GcpFile:
    """One billing export file, read row by row."""

    def __init__(self, path: Path) -> None:
        self.path = path
        columns = {KEYS.get(_key(c), c) for c in read_columns(path)}
        nested = {c.split(".")[0] for c in REQUIRED}
        missing = [c for c in REQUIRED if c not in columns and c.split(".")[0] not in columns & nested]
        if missing:
            raise FileUnreadable(
                f"{path}: not a Cloud Billing export: no {', '.join(missing)} column(s) (export the standard usage "
                "cost table, or select those fields)"
            )
        self.has_rate = "currency_conversion_rate" in columns
        self.skipped: Counter[str] = Counter()
        self.rejected: list[Rejected] = []
        self.read = 0

    def rows(self) -> Iterator[dict[str, Any]]:
        for line, record in iter_records(self.path):
            self.read += 1
            if "__error__" in record:
                self.rejected.append(Rejected(str(self.path), line, record["__error__"]))
                continue
            try:
                rows = self.parse(_canonical(record), line=line)
            except ValueError as exc:
                self.rejected.append(Rejected(str(self.path), line, str(exc)))
                continue
            yield from rows

    def _usd(self, amount: Decimal, record: dict[str, Any], line: int, column: str) -> Decimal:
        currency = _text(record, "currency").upper()
        if currency == "USD":
            return amount
        if not self.has_rate:
            raise FileUnreadable(
                f"{self.path}:{line}: the row is billed in {currency or 'an unnamed currency'} and the file has no "
                "currency_conversion_rate column; add it to the export (costs are never converted without it)"
            )
        rate = parse_decimal(record.get("currency_conversion_rate"), field_name="currency_conversion_rate")
        if rate is None or rate <= 0:
            raise ValueError(f"currency_conversion_rate is empty or not positive, so {column} cannot be read in USD")
        return amount / rate

    def _unit(self, record: dict[str, Any]) -> tuple[Decimal | None, UnitOfMeasure]:
        amount = parse_decimal(record.get("usage.amount"), field_name="usage.amount", bound=MAX_QUANTITY)
        unit = _text(record, "usage.unit")
        if unit.lower() in TOKEN_UNITS:
            return amount, UnitOfMeasure(Decimal(1), "tokens", unit)
        pricing = _text(record, "usage.pricing_unit")
        in_pricing = parse_decimal(
            record.get("usage.amount_in_pricing_units"), field_name="usage.amount_in_pricing_units", bound=MAX_QUANTITY
        )
        parsed = parse_unit(pricing.replace("count", "tokens")) if pricing else None
        if in_pricing is not None and parsed is not None and parsed.kind == "tokens":
            return in_pricing, UnitOfMeasure(parsed.per_quantity, "tokens", pricing)
        return amount, UnitOfMeasure(None, "unknown", unit or pricing)

    def parse(self, record: dict[str, Any], *, line: int) -> list[dict[str, Any]]:
        service = _text(record, "service.description")
        sku_text = _text(record, "sku.description")
        if not is_vertex_sku(service=service, sku_description=sku_text):
            why = (
                "Vertex AI, not a generative-model SKU" if "vertex" in service.lower() else f"not Vertex AI ({service})"
            )
            self.skipped[why] += 1
            return []
        if record.get("usage_start_time") in (None, ""):
            raise ValueError("usage_start_time is empty")
        start = _time(record, "usage_start_time")
        end_raw = record.get("usage_end_time")
        end = _time(record, "usage_end_time") if end_raw not in (None, "") else start + timedelta(hours=1)
        if end < start:
            raise ValueError("usage_end_time is before usage_start_time")
        cost = parse_decimal(record.get("cost"), field_name="cost", blank_ok=False, bound=MAX_LINE_DOLLARS)
        cost_usd = self._usd(cost, record, line, "cost")
        quantity, unit = self._unit(record)
        sku = parse_sku(sku_text)
        labels = parse_map(_json_list(record.get("labels"), column="labels"), field_name="labels")
        project_id, project_name = _text(record, "project.id"), _text(record, "project.name")
        extra = {
            "gcp/billing_account_id": _text(record, "billing_account_id"),
            "gcp/project_id": project_id,
            "gcp/project_name": project_name,
            "gcp/sku_id": _text(record, "sku.id"),
            "gcp/service": service,
        }
        identity = sorted((k, json.dumps(v, default=str, sort_keys=True)) for k, v in record.items())
        line_type = COST_TYPES.get(_text(record, "cost_type").lower() or "regular", _text(record, "cost_type"))
        base = {
            "file": str(self.path),
            "line": line,
            "source": SOURCE,
            "billing_period": _period(record, start.date()),
            "usage_start": start,
            "usage_end": end,
            "usage_type": sku_text,
            "model_name": sku.model,
            "route": "",
            "region": (_text(record, "location.region") or _text(record, "location.location")).lower(),
            "tags": labels,
            "extra_tags": {k: v for k, v in extra.items() if v},
            "application_fallback": project_name or project_id,
        }
        rows = [
            {
                **base,
                "line_item_type": line_type,
                "token_type": sku.token_type,
                "service_tier": sku.service_tier,
                "context": sku.context,
                "usage_category": sku.category,
                "quantity": quantity,
                "unit": unit,
                "cost_usd": cost_usd,
                "identity": identity,
            }
        ]
        for index, credit in enumerate(_json_list(record.get("credits"), column="credits")):
            if not isinstance(credit, dict):
                raise ValueError(f"credits[{index}] is not a record")
            amount = parse_decimal(
                credit.get("amount"), field_name=f"credits[{index}].amount", blank_ok=False, bound=MAX_LINE_DOLLARS
            )
            name = str(credit.get("full_name") or credit.get("name") or "")
            rows.append(
                {
                    **base,
                    "line_item_type": "Credit",
                    "operation": f"{credit.get('type') or 'credit'}: {name}"[:128],
                    "token_type": "",
                    "service_tier": sku.service_tier,
                    "usage_category": "",
                    "quantity": None,
                    "unit": None,
                    "cost_usd": self._usd(amount, record, line, f"credits[{index}].amount"),
                    "identity": [identity, "credit", index],
                }
            )
        return rows
