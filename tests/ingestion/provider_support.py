"""Shared helpers of the Azure OpenAI and Vertex AI import tests: platform catalog entries with list prices,
and the fixture files rewritten as gzip CSV / Parquet / JSON lines."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from finops.ledger.models import ModelCatalog, ModelPrice

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AZURE = FIXTURES / "azure"
GCP = FIXTURES / "gcp"

# (catalog id, family, tier, {token_type: USD per 1M tokens}, service tier)
PLATFORM_PRICES = (
    ("azure_openai/gpt-4o", "gpt-4o", "flagship", {"input": "2.50", "output": "10", "cache_read": "1.25"}, "standard"),
    ("azure_openai/gpt-4o-mini", "gpt-4o", "efficient", {"input": "0.075"}, "batch"),
    ("azure_openai/gpt-4o-mini", "gpt-4o", "efficient", {"input": "0.15", "output": "0.60"}, "standard"),
    ("vertex/gemini-2.5-pro", "gemini", "flagship", {"input": "1.25", "output": "10", "cache_read": ".125"}, "standard"),  # noqa: E501
    ("vertex/claude-sonnet-4-5", "claude", "balanced", {"input": "3.00", "output": "15.00"}, "standard"),
)  # fmt: skip


def add_platform_prices() -> None:
    """These models with exactly these prices, whatever the seeded catalog holds for them."""
    ModelPrice.objects.filter(model__model_id__in={p[0] for p in PLATFORM_PRICES}).delete()
    for model_id, family, tier, prices, service_tier in PLATFORM_PRICES:
        model, _ = ModelCatalog.objects.update_or_create(
            model_id=model_id,
            defaults={"name": model_id, "provider": model_id.split("/")[0], "family": family, "tier": tier},
        )
        for token_type, price in prices.items():
            ModelPrice.objects.create(
                model=model,
                token_type=token_type,
                service_tier=service_tier,
                price_usd=Decimal(price),
                unit="1M tokens",
                effective_from=date(2024, 1, 1),
                source="test",
                as_of=date(2026, 1, 1),
            )


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def csv_as_parquet(source: Path, target: Path) -> Path:
    columns, rows = read_csv(source)
    table = pa.table({name: [row[name] for row in rows] for name in columns})
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return target


def jsonl_as_parquet(source: Path, target: Path) -> Path:
    records = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records), target)
    return target
