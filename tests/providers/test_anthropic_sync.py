"""Anthropic usage report and cost report into the ledger: dollars worked out by hand from the fixtures (the
cost report's amount is in cents, as a decimal string) and the test catalog's prices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from finops.ledger.models import SpendEvent
from providers.anthropic_api import dollars
from providers.sync import provider_sync

from .conftest import ANTHROPIC, load, mock_anthropic, mock_anthropic_names

M = Decimal("1e-6")
DAY = date(2026, 11, 3)


def _sync(connection, **kwargs):  # noqa: ANN001, ANN003, ANN202
    return provider_sync(connection=connection, since=DAY, until=DAY, today=date(2026, 11, 26), **kwargs)


def _rows(**filters):  # noqa: ANN003, ANN202
    return SpendEvent.objects.filter(source="anthropic", **filters)


def test_amount_is_cents_as_a_decimal_string() -> None:
    # The docs' own example: "123.45" in USD represents $1.2345.
    assert dollars("123.45", what="x") == Decimal("1.2345")
    assert dollars("180", what="x") == Decimal("1.80")


def test_usage_rows_carry_every_token_type_priced_by_tier_and_context(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic(rsps)
    result = _sync(anthropic_connection)
    assert result.status == "succeeded"
    usage = _rows(record_kind="request")
    assert usage.count() == 3
    a1 = usage.get(iam_principal__endswith="key/apikey_01abc")
    assert (a1.input_tokens, a1.cache_read_tokens, a1.cache_write_tokens, a1.cache_write_1h_tokens,
            a1.output_tokens) == (10000, 50000, 3000, 1000, 3000)  # fmt: skip
    # 10,000 x 3.00 + 50,000 x 0.30 + 2,000 x 3.75 (5 min) + 1,000 x 6.00 (1 h) + 3,000 x 15.00, per million.
    assert a1.cost_usd == (10000 * 3 + 50000 * Decimal("0.30") + 2000 * Decimal("3.75") + 1000 * 6 + 3000 * 15) * M
    assert a1.application == "Customer support" and a1.principal_type == "api_key"
    assert a1.iam_principal == f"anthropic:connection-{anthropic_connection.pk}:key/apikey_01abc"
    assert a1.model_id == "anthropic/claude-sonnet-4-5" and a1.model_family == "claude-sonnet"
    a2 = usage.get(iam_principal__endswith="key/apikey_02def")
    assert a2.service_tier == "batch" and a2.cost_usd == (4000 * Decimal("1.50") + 1000 * Decimal("7.50")) * M
    a3 = usage.get(iam_principal="")  # Workbench use: no API key, default workspace
    assert a3.context == "long" and a3.cost_usd == (300000 * 6 + 2000 * Decimal("22.50")) * M
    assert a3.application == "Default Workspace" and a3.tags["workspace_id"] == ""


def test_cost_report_total_equals_the_hand_sum_in_dollars(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic(rsps)
    _sync(anthropic_connection)
    bills = _rows(record_kind="billed_line")
    cents = ["3.0", "1.5", "0.75", "0.6", "4.5", "0.6", "0.75", "180", "4.5", "1.0"]
    assert sum(b.cost_usd for b in bills) == sum(Decimal(c) for c in cents) / 100 == Decimal("1.9720")
    one_hour = bills.get(usage_type__contains="ephemeral_1h")
    assert (one_hour.token_type, one_hour.tags["cache_ttl"]) == ("cache_write", "1h")
    assert one_hour.cost_usd == Decimal("0.006")
    web = bills.get(usage_type="Web Search")
    assert web.usage_category == "web_search" and web.token_type == "" and web.cost_usd == Decimal("0.01")
    long_input = bills.get(usage_type__contains="uncached", service_tier="standard", context="long")
    assert long_input.cost_usd == Decimal("1.8")


def test_reconciliation_makes_usage_allocations_sum_to_the_token_costs(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic(rsps)
    _sync(anthropic_connection)
    usage = _rows(record_kind="request")
    token_bills = _rows(record_kind="billed_line", usage_category="tokens")
    assert sum(r.allocated_cost_usd for r in usage) == sum(b.cost_usd for b in token_bills) == Decimal("1.962")
    a1 = usage.get(iam_principal__endswith="key/apikey_01abc")
    # a1 is alone in its standard buckets of workspace 1: 0.03 + 0.015 + 0.0075 + 0.006 + 0.045.
    assert a1.allocated_cost_usd == Decimal("0.1035")
    assert usage.get(iam_principal="").allocated_cost_usd == Decimal("1.845")


def test_usage_is_asked_grouped_and_paginated(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic_names(rsps)
    rsps.get(f"{ANTHROPIC}/usage_report/messages", json=load("anthropic/usage_messages_page1.json"),
             match=[lambda r: ("page=" not in r.url, "page")])  # fmt: skip
    rsps.get(f"{ANTHROPIC}/usage_report/messages", json=load("anthropic/usage_messages_page2.json"))
    rsps.get(f"{ANTHROPIC}/cost_report", json=load("anthropic/cost_report.json"))
    _sync(anthropic_connection)
    calls = [parse_qs(urlparse(c.request.url).query) for c in rsps.calls if "usage_report" in c.request.url]
    assert len(calls) == 2 and calls[1]["page"] == ["page_MjAyNi0xMS0wNFQwMDowMDowMFo="]
    assert calls[0]["group_by[]"] == ["api_key_id", "workspace_id", "model", "service_tier", "context_window"]
    assert calls[0]["starting_at"] == ["2026-11-03T00:00:00Z"] and calls[0]["ending_at"] == ["2026-11-04T00:00:00Z"]
    assert _rows(record_kind="request").count() == 3


def test_sync_again_changes_nothing(anthropic_connection, rsps) -> None:  # noqa: ANN001
    mock_anthropic(rsps)
    _sync(anthropic_connection)
    before = sorted(_rows().values_list("dedupe_key", "cost_usd", "allocated_cost_usd"))
    again = _sync(anthropic_connection)
    assert sorted(_rows().values_list("dedupe_key", "cost_usd", "allocated_cost_usd")) == before
    assert again.as_dict()["totals"]["loaded"] == 0


def test_a_connection_mapping_names_the_workspace(anthropic_connection, rsps) -> None:  # noqa: ANN001
    anthropic_connection.mapping = {"wrkspc_01xyz": {"application": "support-bot", "team": "cx"}}
    anthropic_connection.save()
    mock_anthropic(rsps)
    _sync(anthropic_connection)
    a1 = _rows(record_kind="request", iam_principal__endswith="key/apikey_01abc").get()
    assert (a1.application, a1.team) == ("support-bot", "cx")
