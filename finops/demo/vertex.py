"""The demo company's third platform: a small Vertex AI billing export (Cloud Billing standard usage cost,
exported from BigQuery as newline-delimited JSON) over the demo's dates, on the same teams and applications
as its Bedrock traffic, so the explorer grouped by platform shows three platforms side by side.

Deterministic (seeded); written once beside the Bedrock data and imported through import_gcp_billing like a
customer's export. Google writes one line per SKU per hourly window; the demo puts each day's usage of a SKU
in one window (10:00-11:00 UTC) to keep the file small. Prices are Vertex AI's list prices per 1M tokens
(text, prompts up to 200K tokens); one Cloud Storage line a day is there for the importer to skip."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

BILLING_ACCOUNT = "01ACME-5D3C2B-1A0F9E"
PROJECT = {
    "id": "acme-ai-prod",
    "number": "840217365511",
    "name": "Acme AI prod",
    "labels": [],
    "ancestry_numbers": "/52016384412/840217365511/",
}
VERTEX = {"id": "C7E2-9256-1C43", "description": "Vertex AI"}
# model -> (service, SKU name prefix, USD per 1M tokens: input, cached input, output)
MODELS = {
    "gemini-2.5-flash": (VERTEX, "Gemini 2.5 Flash", Decimal("0.30"), Decimal("0.03"), Decimal("2.50")),
    "gemini-2.5-pro": (VERTEX, "Gemini 2.5 Pro", Decimal("1.25"), Decimal("0.125"), Decimal("10.00")),
    # Partner models bill under their own service, not "Vertex AI".
    "claude-sonnet-4-5": (
        {"id": "5D1F-7A3B-C2E0", "description": "Claude Sonnet 4.5"},
        "Claude Sonnet 4.5",
        Decimal("3.00"),
        Decimal("0.30"),
        Decimal("15.00"),
    ),
}
SKU_KINDS = {"input": "Input Text Tokens", "cached": "Cached Input Text Tokens", "output": "Output Text Tokens"}
CLAUDE_SKU_KINDS = {"input": "Input Tokens", "cached": "Cache Hit Input Tokens", "output": "Output Tokens"}


@dataclass(frozen=True)
class VertexWorkload:
    team: str
    application: str
    model: str  # a key of MODELS
    input_millions: float  # mean uncached input tokens a weekday, in millions
    output_ratio: float
    cached_ratio: float
    region: str = "us-central1"


WORKLOADS = (
    VertexWorkload("search", "search-reranker", "gemini-2.5-flash", 40.0, 0.02, 0.0),
    VertexWorkload("data-science", "doc-insights", "gemini-2.5-pro", 3.0, 0.15, 0.4, "europe-west4"),
    VertexWorkload("support", "ticket-triage-agent", "claude-sonnet-4-5", 1.2, 0.1, 0.6, "global"),
)


def _sku(model: str, kind: str) -> str:
    kinds = CLAUDE_SKU_KINDS if model.startswith("claude") else SKU_KINDS
    return f"{MODELS[model][1]} {kinds[kind]}"


def _sku_id(description: str) -> str:
    digest = hashlib.sha256(description.encode()).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _money(tokens: int, per_million: Decimal) -> Decimal:
    return (Decimal(tokens) * per_million / 1_000_000).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _location(region: str) -> dict[str, str | None]:
    if region == "global":
        return {"location": "global", "country": None, "region": None, "zone": None}
    country = "US" if region.startswith("us-") else "NL" if region == "europe-west4" else None
    return {"location": region, "country": country, "region": region, "zone": None}


def _line(
    day: date,
    service: dict[str, str],
    sku: str,
    *,
    cost: Decimal,
    usage: dict[str, object],
    labels: list[dict[str, str]],
    region: str,
) -> dict[str, object]:
    start = f"{day:%Y-%m-%d} 10:00:00 UTC"
    return {
        "billing_account_id": BILLING_ACCOUNT,
        "service": service,
        "sku": {"id": _sku_id(sku), "description": sku},
        "usage_start_time": start,
        "usage_end_time": f"{day:%Y-%m-%d} 11:00:00 UTC",
        "project": PROJECT,
        "labels": labels,
        "system_labels": [],
        "location": _location(region),
        "export_time": f"{day + timedelta(days=1):%Y-%m-%d} 06:14:02.481210 UTC",
        "cost": float(cost),
        "currency": "USD",
        "currency_conversion_rate": 1.0,
        "usage": usage,
        "credits": [],
        "invoice": {"month": f"{day:%Y%m}"},
        "cost_type": "regular",
        "adjustment_info": None,
    }


def write_vertex_export(out_dir: Path, *, start_date: date, end_date: date, seed: int = 42) -> Path:
    """One JSON-lines file of Vertex AI token lines (and a Cloud Storage line a day) from start_date to end_date."""
    rng = random.Random(f"{seed}|vertex-ai")
    path = Path(out_dir) / "vertex-ai" / "acme-billing-export.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[dict[str, object]] = []
    day = start_date
    while day <= end_date:
        weekday = day.weekday() < 5
        for wl in WORKLOADS:
            service, _, *prices = MODELS[wl.model]
            scale = (1.0 if weekday else 0.3) * rng.uniform(0.85, 1.15)
            uncached = round(wl.input_millions * 1_000_000 * scale)
            tokens = {
                "input": uncached,
                "cached": round(uncached * wl.cached_ratio),
                "output": round(uncached * wl.output_ratio),
            }
            labels = [
                {"key": "team", "value": wl.team},
                {"key": "application", "value": wl.application},
                {"key": "environment", "value": "prod"},
            ]
            for kind, price in zip(("input", "cached", "output"), prices, strict=True):
                if not tokens[kind]:
                    continue
                usage = {
                    "amount": tokens[kind],
                    "unit": "count",
                    "amount_in_pricing_units": tokens[kind] / 1_000_000,
                    "pricing_unit": "1000000 count",
                }
                cost = _money(tokens[kind], price)
                lines.append(
                    _line(day, service, _sku(wl.model, kind), cost=cost, usage=usage, labels=labels, region=wl.region)
                )
        storage_gib = round(rng.uniform(900, 1100), 1)
        lines.append(
            _line(
                day,
                {"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"},
                "Standard Storage US Multi-region",
                cost=(Decimal(str(storage_gib)) * Decimal("0.026") / 30).quantize(Decimal("0.000001")),
                usage={
                    "amount": storage_gib * 2**30 * 86400,
                    "unit": "byte-seconds",
                    "amount_in_pricing_units": storage_gib / 30,
                    "pricing_unit": "gibibyte month",
                },
                labels=[],
                region="us",
            )
        )
        day += timedelta(days=1)
    with open(path, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line) + "\n")
    return path
