"""OpenAI usage and costs into the ledger: every number below is worked out by hand from the fixtures and
the test catalog's prices (tests/providers/conftest.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from finops.ledger.models import SpendEvent
from providers.models import ProviderSyncRun, ProviderSyncState
from providers.sync import provider_sync

from .conftest import OPENAI, mock_openai

M = Decimal("1e-6")  # one token at $1 per million
SINCE, UNTIL = date(2026, 11, 1), date(2026, 11, 2)


def _sync(connection, **kwargs):  # noqa: ANN001, ANN003, ANN202
    return provider_sync(connection=connection, since=SINCE, until=UNTIL, today=date(2026, 11, 26), **kwargs)


def _rows(**filters):  # noqa: ANN003, ANN202
    return SpendEvent.objects.filter(source="openai", **filters)


def test_usage_rows_are_requests_priced_from_the_catalog(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    result = _sync(openai_connection)
    assert result.status == "succeeded"
    usage = _rows(record_kind="request")
    assert usage.count() == 5  # 2 + 2 completions (two pages), 1 embeddings
    first = usage.get(user_id="user-a")
    # 1,000 input of which 200 cached: 800 uncached at 2.50, 200 cached at 1.25, 500 output at 10.00.
    assert first.input_tokens == 800 and first.cache_read_tokens == 200 and first.output_tokens == 500
    assert first.requests == 5
    assert first.cost_usd == 800 * Decimal("2.50") * M + 200 * Decimal("1.25") * M + 500 * 10 * M
    assert first.cost_basis == "estimated" and first.model_id == "openai/gpt-4o"
    assert first.model_family == "gpt-4o" and first.model_tier == "balanced"
    assert first.iam_principal == "openai:org-acme:key/key_aaa1" and first.principal_type == "api_key"
    assert first.application == "Search backend" and first.tags["project_id"] == "proj_alpha"
    assert first.principal_name == "prod-indexer" and first.tags["api_key_name"] == "prod-indexer"
    assert first.account_id == "" and first.connection_id is None
    batch = usage.get(model_id="openai/gpt-4o-mini")
    assert batch.service_tier == "batch" and batch.usage_date == date(2026, 11, 2)
    assert batch.cost_usd == 2000 * Decimal("0.075") * M + 400 * Decimal("0.30") * M
    unknown = usage.filter(unpriced=True)
    assert {r.model_ref for r in unknown} == {"ft:gpt-4o-mini-2024-07-18:acme::abc123", "text-embedding-3-small"}
    assert all(r.cost_usd is None for r in unknown)  # never $0
    assert sum(r.requests for r in usage) == 5 + 10 + 2 + 1 + 3


def test_costs_are_billed_lines_with_model_and_token_type_from_the_line_item(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _sync(openai_connection)
    bills = _rows(record_kind="billed_line")
    total = sum(b.cost_usd for b in bills)
    assert total == Decimal("0.0102") + Decimal("0.00025") + Decimal("0.02") + Decimal("0.05") + Decimal(
        "0.00015"
    ) + Decimal("0.00012")
    cached = bills.get(usage_type="gpt-4o-2024-08-06, cached input")
    assert (cached.token_type, cached.model_id, cached.cost_basis) == ("cache_read", "openai/gpt-4o", "billed")
    batch_in = bills.get(usage_type="gpt-4o-mini-2024-07-18, batch input")
    assert (batch_in.token_type, batch_in.service_tier) == ("input", "batch")
    tool = bills.get(usage_type="web search tool calls")
    assert tool.token_type == "" and tool.usage_category == "other" and tool.cost_usd == Decimal("0.05")
    assert all(b.iam_principal == "" for b in bills)  # costs have no API key or user


def test_pagination_follows_next_page(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _sync(openai_connection)
    calls = [c.request.url for c in rsps.calls if "/usage/completions" in c.request.url]
    assert len(calls) == 2
    assert parse_qs(urlparse(calls[1]).query)["page"] == ["page_AAAAAGdGxdEiJdKOAAAAAGcqsYA="]
    first = parse_qs(urlparse(calls[0]).query)
    assert first["bucket_width"] == ["1d"]
    assert first["group_by"] == ["project_id", "user_id", "api_key_id", "model", "batch"]
    assert rsps.calls[0].request.headers["Authorization"].startswith("Bearer sk-admin-")


def test_reconciliation_allocates_each_days_costs_to_that_projects_usage(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    result = _sync(openai_connection)
    usage = _rows(record_kind="request")
    day1 = usage.filter(usage_date=date(2026, 11, 1), model_id="openai/gpt-4o")
    # The token lines of proj_alpha on day 1 (input, cached input, output) are allocated in full.
    assert sum(r.allocated_cost_usd for r in day1) == Decimal("0.0102") + Decimal("0.00025") + Decimal("0.02")
    a, b = day1.get(user_id="user-a"), day1.get(user_id="user-b")
    # Output: 0.02 split by estimate 500*10 : 1500*10 -> 0.005 / 0.015; cached input only user-a (0.00025);
    # input 0.0102 split by estimate 800*2.5 : 3000*2.5.
    input_a = Decimal("0.0102") * 800 / 3800
    assert abs(a.allocated_cost_usd - (Decimal("0.005") + Decimal("0.00025") + input_a)) < Decimal("1e-9")
    assert abs(b.allocated_cost_usd - (Decimal("0.015") + Decimal("0.0102") - input_a)) < Decimal("1e-9")
    batch = usage.get(model_id="openai/gpt-4o-mini")
    assert batch.allocated_cost_usd == Decimal("0.00015") + Decimal("0.00012")
    # The tool line has no tokens: billed, in totals, never allocated, never dropped.
    tool = _rows(record_kind="billed_line", usage_type="web search tool calls").get()
    assert tool.allocated_cost_usd == 0
    assert result.reconciled[0]["period"] == "2026-11"


def test_bedrock_bills_never_pay_for_openai_usage(openai_connection, rsps, tenant) -> None:  # noqa: ANN001
    from tests.factories import billed_line

    billed_line(tenant, cost="9.00", day=date(2026, 11, 1), model_id="openai/gpt-4o", token_type="input",
                line_item_type="Usage", usage_category="tokens")  # fmt: skip
    mock_openai(rsps)
    _sync(openai_connection)
    day1 = _rows(record_kind="request", usage_date=date(2026, 11, 1), model_id="openai/gpt-4o")
    assert sum(r.allocated_cost_usd for r in day1) == Decimal("0.0102") + Decimal("0.00025") + Decimal("0.02")


def test_sync_again_changes_nothing(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _sync(openai_connection)
    before = sorted(_rows().values_list("dedupe_key", "cost_usd", "allocated_cost_usd"))
    mock_openai(rsps)
    again = _sync(openai_connection)
    assert sorted(_rows().values_list("dedupe_key", "cost_usd", "allocated_cost_usd")) == before
    totals = again.as_dict()["totals"]
    assert totals["loaded"] == 0 and totals["replaced"] == 0 and totals["skipped"] == len(before)


def test_late_data_replaces_the_re_read_days_rows(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _sync(openai_connection)
    later = _load_with(output=700)  # user-a's day grew: 700 output tokens instead of 500
    rsps.reset()
    mock_openai(rsps)
    rsps.replace(responses.GET, f"{OPENAI}/usage/completions", json=later)
    result = _sync(openai_connection)
    completions = next(e for e in result.endpoints if e.endpoint == "usage.completions")
    assert completions.replaced == 3  # user-a's old row and page 2's two rows (page 1 is now the last one)
    a = _rows(record_kind="request", user_id="user-a").get()
    assert a.output_tokens == 700


def _load_with(*, output: int) -> dict:
    from .conftest import load

    page = load("openai/usage_completions_page1.json")
    page["data"][0]["results"][0]["output_tokens"] = output
    page["has_more"], page["next_page"] = False, None
    return page


def test_watermark_and_runs_are_recorded(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    _sync(openai_connection)
    openai_connection.refresh_from_db()
    assert openai_connection.status == "valid"  # a sync that read data proves the key
    state = ProviderSyncState.objects.get(connection=openai_connection, endpoint="usage.completions")
    assert state.watermark == {"next_day": "2026-11-03"}
    run = ProviderSyncRun.objects.get(connection=openai_connection, endpoint="usage.completions")
    assert (run.status, run.items_fetched, run.rows_loaded, run.errors) == ("succeeded", 4, 4, 0)


def test_next_sync_starts_before_the_watermark(openai_connection, rsps) -> None:  # noqa: ANN001
    ProviderSyncState.objects.create(
        connection=openai_connection, endpoint="costs", watermark={"next_day": "2026-11-20"}
    )
    mock_openai(rsps)
    provider_sync(connection=openai_connection, today=date(2026, 11, 26))
    call = next(c for c in rsps.calls if "/costs" in c.request.url)
    query = parse_qs(urlparse(call.request.url).query)
    assert int(query["start_time"][0]) == 1793491200 + 16 * 86400  # 2026-11-17 00:00 UTC: three days of overlap
    assert int(query["end_time"][0]) == 1793491200 + 26 * 86400  # 2026-11-27 00:00 UTC: today included


@pytest.mark.parametrize("retry_after", ["7", "0"])
def test_429_is_retried_after_the_time_the_provider_asks(openai_connection, rsps, retry_after: str) -> None:  # noqa: ANN001
    slept: list[float] = []
    rsps.get(f"{OPENAI}/costs", status=429, headers={"retry-after": retry_after}, json={"error": {"message": "slow"}})
    mock_openai(rsps)
    result = _sync(openai_connection, sleep=slept.append)
    assert slept == [float(retry_after)]
    assert result.status == "succeeded"
    assert _rows(record_kind="billed_line").count() == 6


def test_5xx_is_retried_then_reported_with_a_remedy(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    rsps.replace(responses.GET, f"{OPENAI}/costs", status=503, json={"error": {"message": "down"}})
    slept: list[float] = []
    result = _sync(openai_connection, sleep=slept.append)
    costs = next(e for e in result.endpoints if e.endpoint == "costs")
    assert costs.status == "failed" and "503" in costs.error and "sync again later" in costs.remedy
    assert len(slept) == 4  # five tries
    assert result.status == "partial"  # the usage endpoints loaded
