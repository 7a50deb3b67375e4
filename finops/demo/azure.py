"""The demo company's second provider: a small Azure OpenAI cost export (Cost Management, actual-cost
schema as an MCA account writes it) over the demo's dates, with the same teams and applications as its
Bedrock traffic, so the explorer grouped by platform shows cross-source totals.

Deterministic (seeded); written once beside the Bedrock data and imported through import_azure_costs like
a customer's export. Prices are Azure's list prices per 1M tokens (global deployments), the unit 1K."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SUBSCRIPTION = "9f1c2d3e-0000-4000-8000-00000000acme"
RESOURCE_GROUP = "rg-openai"
ACCOUNT = "acme-aoai"
COLUMNS = (
    "billingAccountId", "billingAccountName", "billingPeriodStartDate", "billingPeriodEndDate", "date",
    "serviceFamily", "consumedService", "meterId", "meterName", "meterCategory", "meterSubCategory", "ProductName",
    "SubscriptionId", "subscriptionName", "resourceGroupName", "ResourceId", "resourceLocation", "quantity",
    "unitOfMeasure", "effectivePrice", "chargeType", "billingCurrency", "costInBillingCurrency", "costInUsd",
    "tags", "pricingModel",
)  # fmt: skip
# meter prefix -> USD per 1M tokens: input, cached input, output
PRICES = {
    "gpt-4o-0806": (Decimal("2.50"), Decimal("1.25"), Decimal("10.00")),
    "gpt-4o-mini-0718": (Decimal("0.15"), Decimal("0.075"), Decimal("0.60")),
    "gpt 4.1 0414": (Decimal("2.00"), Decimal("0.50"), Decimal("8.00")),
}


@dataclass(frozen=True)
class AzureWorkload:
    team: str
    application: str
    deployment: str
    meter: str  # a key of PRICES
    input_millions: float  # mean uncached input tokens a weekday, in millions
    output_ratio: float
    cached_ratio: float
    region: str = "eastus"


WORKLOADS = (
    AzureWorkload("search", "search-api", "search-4o", "gpt-4o-0806", 6.0, 0.08, 0.3),
    AzureWorkload("support", "helpdesk-bot", "helpdesk-mini", "gpt-4o-mini-0718", 18.0, 0.12, 0.5),
    AzureWorkload("marketing", "campaign-writer", "writer-41", "gpt 4.1 0414", 2.5, 0.35, 0.0, "swedencentral"),
    AzureWorkload("data-science", "eval-harness", "eval-4o", "gpt-4o-0806", 1.5, 0.2, 0.0),
)


def _meter(prefix: str, kind: str) -> str:
    return {
        "input": f"{prefix}-Inp-glbl Tokens",
        "cached": f"{prefix} cached Inp glbl",
        "output": f"{prefix}-Outp-glbl Tokens",
    }[kind]


def _money(thousands: Decimal, per_million: Decimal) -> Decimal:
    return (thousands * per_million / 1000).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_UP)


def write_azure_export(out_dir: Path, *, start_date: date, end_date: date, seed: int = 42) -> Path:
    """One CSV of Azure OpenAI token lines (input, cached input, output per deployment and day) from start_date to
    end_date."""
    rng = random.Random(f"{seed}|azure-openai")
    path = Path(out_dir) / "azure-openai" / "acme-actual-cost.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    day = start_date
    while day <= end_date:
        period = day.replace(day=1)
        period_end = (period + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        weekday = day.weekday() < 5
        for wl in WORKLOADS:
            scale = (1.0 if weekday else 0.35) * rng.uniform(0.8, 1.2)
            inp = Decimal(str(round(wl.input_millions * 1000 * scale, 3)))  # thousands of tokens
            quantities = {
                "input": inp,
                "cached": Decimal(str(round(float(inp) * wl.cached_ratio, 3))),
                "output": Decimal(str(round(float(inp) * wl.output_ratio, 3))),
            }
            prices = dict(zip(("input", "cached", "output"), PRICES[wl.meter], strict=True))
            resource = (
                f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
                f"Microsoft.CognitiveServices/accounts/{ACCOUNT}/deployments/{wl.deployment}"
            )
            for kind, quantity in quantities.items():
                if not quantity:
                    continue
                cost = _money(quantity, prices[kind])
                rows.append(
                    _row(day, period, period_end, _meter(wl.meter, kind), quantity, cost, prices[kind], resource, wl)
                )
        day += timedelta(days=1)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(
    day: date,
    period: date,
    period_end: date,
    meter: str,
    quantity: Decimal,
    cost: Decimal,
    per_million: Decimal,
    resource: str,
    wl: AzureWorkload,
) -> dict[str, str]:
    return {
        "billingAccountId": "1234:5678_2019-05-31",
        "billingAccountName": "Acme Corp",
        "billingPeriodStartDate": f"{period:%m/%d/%Y}",
        "billingPeriodEndDate": f"{period_end:%m/%d/%Y}",
        "date": f"{day:%m/%d/%Y}",
        "serviceFamily": "AI + Machine Learning",
        "consumedService": "Microsoft.CognitiveServices",
        "meterId": hashlib.sha256(meter.encode()).hexdigest()[:32],
        "meterName": meter,
        "meterCategory": "Foundry Models",
        "meterSubCategory": "Azure OpenAI",
        "ProductName": "Azure OpenAI",
        "SubscriptionId": SUBSCRIPTION,
        "subscriptionName": "acme-ai",
        "resourceGroupName": RESOURCE_GROUP,
        "ResourceId": resource,
        "resourceLocation": wl.region,
        "quantity": f"{quantity}",
        "unitOfMeasure": "1K",
        "effectivePrice": f"{per_million / 1000}",
        "chargeType": "Usage",
        "billingCurrency": "USD",
        "costInBillingCurrency": f"{cost}",
        "costInUsd": f"{cost}",
        "tags": json.dumps({"team": wl.team, "application": wl.application, "environment": "prod"}),
        "pricingModel": "OnDemand",
    }
