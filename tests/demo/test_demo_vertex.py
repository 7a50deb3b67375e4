"""The demo's Vertex AI billing export: the Cloud Billing export's shape, Vertex list prices, the demo's dates."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from finops.demo.vertex import write_vertex_export

# Vertex AI list prices, USD per 1M tokens (text, prompts up to 200K tokens), from Google's pricing page.
LIST_PRICES = {
    "Gemini 2.5 Flash Input Text Tokens": Decimal("0.30"),
    "Gemini 2.5 Flash Output Text Tokens": Decimal("2.50"),
    "Gemini 2.5 Pro Input Text Tokens": Decimal("1.25"),
    "Gemini 2.5 Pro Cached Input Text Tokens": Decimal("0.125"),
    "Gemini 2.5 Pro Output Text Tokens": Decimal("10"),
    "Claude Sonnet 4.5 Input Tokens": Decimal("3"),
    "Claude Sonnet 4.5 Cache Hit Input Tokens": Decimal("0.30"),
    "Claude Sonnet 4.5 Output Tokens": Decimal("15"),
}


def _lines(tmp_path: Path) -> list[dict]:
    path = write_vertex_export(tmp_path, start_date=date(2026, 10, 30), end_date=date(2026, 11, 2))
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_token_line_costs_its_tokens_at_the_list_price(tmp_path: Path) -> None:
    lines = [line for line in _lines(tmp_path) if line["service"]["description"] != "Cloud Storage"]
    assert {line["sku"]["description"] for line in lines} == set(LIST_PRICES)
    for line in lines:
        expected = Decimal(line["usage"]["amount"]) * LIST_PRICES[line["sku"]["description"]] / 1_000_000
        assert abs(Decimal(str(line["cost"])) - expected) <= Decimal("0.000001")
        assert line["usage"]["unit"] == "count" and line["currency"] == "USD"


def test_it_covers_every_day_with_the_same_teams_and_months_as_invoices(tmp_path: Path) -> None:
    lines = _lines(tmp_path)
    days = {line["usage_start_time"][:10] for line in lines}
    assert days == {"2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02"}
    # Per day: Flash input and output (no cached input), Pro and Claude three SKUs each, one storage line.
    assert len(lines) == 4 * (2 + 3 + 3 + 1)
    assert {line["invoice"]["month"] for line in lines} == {"202610", "202611"}
    teams = {label["value"] for line in lines for label in line["labels"] if label["key"] == "team"}
    assert teams == {"search", "data-science", "support"}


def test_it_is_the_same_file_every_time(tmp_path: Path) -> None:
    assert _lines(tmp_path / "a") == _lines(tmp_path / "b")
