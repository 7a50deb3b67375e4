"""spend_report (the selector): grouping, billed vs estimated, token sources, unpriced requests,
date filters, exact money and tenant isolation, over ledger rows written by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.selectors import GROUP_FIELDS, ReportError, ReportFilter, spend_report

SONNET = "anthropic.claude-sonnet-4-6"
NOVA = "amazon.nova-lite-v1:0"
_keys = itertools.count()


def billed(tenant: Tenant, cost: str, *, day: int = 3, **fields: object) -> SpendEvent:
    start = datetime(2026, 6, day, tzinfo=UTC)
    return SpendEvent.objects.create(
        tenant=tenant,
        record_kind="billed_line",
        cost_basis="billed",
        dedupe_key=f"cur:{next(_keys)}",
        usage_start=start,
        usage_end=start,
        usage_date=start.date(),
        billing_period=date(2026, 6, 1),
        cost_usd=Decimal(cost),
        **fields,
    )


def request(tenant: Tenant, cost: str | None, *, day: int = 3, **fields: object) -> SpendEvent:
    start = datetime(2026, 6, day, 14, tzinfo=UTC)
    return SpendEvent.objects.create(
        tenant=tenant,
        record_kind="request",
        cost_basis="estimated",
        dedupe_key=f"req:{next(_keys)}",
        usage_start=start,
        usage_end=start,
        usage_date=start.date(),
        billing_period=date(2026, 6, 1),
        cost_usd=None if cost is None else Decimal(cost),
        unpriced=cost is None,
        requests=1,
        **fields,
    )


def by(rows: list[dict], field: str) -> dict:
    return {row[field]: row for row in rows}


def test_billed_and_estimated_dollars_are_summed_separately_per_group(tenant: Tenant) -> None:
    billed(tenant, "0.0572", model_id=SONNET, input_tokens=17_330)
    billed(tenant, "1.131", model_id=SONNET, output_tokens=68_579)
    request(tenant, "0.01386", model_id=SONNET, input_tokens=1000, output_tokens=500)
    billed(tenant, "0.03", model_id=NOVA, input_tokens=1_000_000)

    rows = by(spend_report(tenant=tenant, group_by=["model_id"]), "model_id")

    assert rows[SONNET]["billed_cost_usd"] == Decimal("0.0572") + Decimal("1.131")
    assert rows[SONNET]["estimated_cost_usd"] == Decimal("0.01386")
    assert rows[NOVA]["billed_cost_usd"] == Decimal("0.03")
    assert rows[NOVA]["estimated_cost_usd"] == Decimal(0)


def test_a_group_with_requests_takes_its_tokens_from_the_requests_only(tenant: Tenant) -> None:
    billed(tenant, "0.0572", model_id=SONNET, input_tokens=17_330)
    request(tenant, "0.0033", model_id=SONNET, input_tokens=1000)
    request(tenant, "0.0066", model_id=SONNET, input_tokens=2000, cache_read_tokens=300)
    billed(tenant, "0.03", model_id=NOVA, input_tokens=1_000_000, cache_read_tokens=7)

    rows = by(spend_report(tenant=tenant, group_by=["model_id"]), "model_id")

    assert (rows[SONNET]["input_tokens"], rows[SONNET]["cache_read_tokens"]) == (3000, 300)
    assert rows[SONNET]["token_source"] == "requests"
    assert (rows[NOVA]["input_tokens"], rows[NOVA]["cache_read_tokens"]) == (1_000_000, 7)
    assert rows[NOVA]["token_source"] == "billed"


def test_unpriced_requests_are_counted_and_never_become_dollars(tenant: Tenant) -> None:
    request(tenant, None, model_ref="acme.mystery-v1:0", input_tokens=10)
    request(tenant, None, model_ref="acme.mystery-v1:0", input_tokens=20)
    request(tenant, "0.001", model_id=NOVA, input_tokens=10)

    rows = by(spend_report(tenant=tenant, group_by=["model_ref"]), "model_ref")

    mystery = rows["acme.mystery-v1:0"]
    assert (mystery["requests"], mystery["unpriced_requests"], mystery["input_tokens"]) == (2, 2, 30)
    assert mystery["estimated_cost_usd"] == Decimal(0)
    assert rows[""]["unpriced_requests"] == 0


def test_money_is_summed_exactly(tenant: Tenant) -> None:
    # Kept under 15 significant digits: SQLite stores a DecimalField as REAL, so more would be lost on write.
    for cost in ("1452.0033", "0.0000000001", "0.1", "0.2", "1.77297747"):
        billed(tenant, cost, model_id=SONNET)

    (row,) = spend_report(tenant=tenant, group_by=["model_id"])

    assert row["billed_cost_usd"] == Decimal("1454.0762774701")
    assert isinstance(row["billed_cost_usd"], Decimal)


def test_no_group_by_gives_one_total_row(tenant: Tenant) -> None:
    billed(tenant, "1.5", model_id=SONNET)
    request(tenant, "0.25", model_id=NOVA)

    (total,) = spend_report(tenant=tenant, group_by=[])

    assert (total["billed_cost_usd"], total["estimated_cost_usd"], total["requests"]) == (
        Decimal("1.5"),
        Decimal("0.25"),
        1,
    )


def test_an_empty_ledger_gives_no_rows(tenant: Tenant) -> None:
    assert spend_report(tenant=tenant, group_by=[]) == []
    assert spend_report(tenant=tenant, group_by=["team"]) == []


def test_rows_are_sorted_by_billed_then_estimated_dollars(tenant: Tenant) -> None:
    billed(tenant, "1", team="a")
    billed(tenant, "5", team="b")
    request(tenant, "9", team="c")
    request(tenant, "2", team="d")

    rows = spend_report(tenant=tenant, group_by=["team"])

    assert [r["team"] for r in rows] == ["b", "a", "c", "d"]


def test_start_and_end_dates_are_inclusive(tenant: Tenant) -> None:
    for day in (2, 3, 4, 5):
        billed(tenant, str(day), day=day, model_id=SONNET)

    (row,) = spend_report(
        tenant=tenant, group_by=["model_id"], filters=ReportFilter(start=date(2026, 6, 3), end=date(2026, 6, 4))
    )

    assert row["billed_cost_usd"] == Decimal(3 + 4)


def test_grouping_by_dates_returns_dates(tenant: Tenant) -> None:
    billed(tenant, "1", day=3)
    billed(tenant, "2", day=4)
    request(tenant, "0.5", day=4)

    rows = by(spend_report(tenant=tenant, group_by=["usage_date", "billing_period"]), "usage_date")

    assert set(rows) == {date(2026, 6, 3), date(2026, 6, 4)}
    assert rows[date(2026, 6, 4)]["billing_period"] == date(2026, 6, 1)
    assert (rows[date(2026, 6, 4)]["billed_cost_usd"], rows[date(2026, 6, 4)]["estimated_cost_usd"]) == (
        Decimal(2),
        Decimal("0.5"),
    )


def test_a_tenant_never_sees_another_tenants_rows(tenant: Tenant, other_tenant: Tenant) -> None:
    billed(tenant, "1", team="search")
    billed(other_tenant, "100", team="search")
    request(other_tenant, "7", team="intruder")

    rows = spend_report(tenant=tenant, group_by=["team"])

    assert [(r["team"], r["billed_cost_usd"], r["estimated_cost_usd"]) for r in rows] == [
        ("search", Decimal(1), Decimal(0))
    ]


def test_an_unknown_group_by_field_is_refused_with_the_valid_fields(tenant: Tenant) -> None:
    with pytest.raises(ReportError) as caught:
        spend_report(tenant=tenant, group_by=["team", "prompt_hash"])

    assert "prompt_hash" in str(caught.value)
    assert all(field in str(caught.value) for field in GROUP_FIELDS)


def test_the_report_runs_a_fixed_number_of_queries(tenant: Tenant, django_assert_max_num_queries) -> None:  # noqa: ANN001
    for number in range(30):
        billed(tenant, "1", team=f"team-{number % 5}", model_id=SONNET)
        request(tenant, "0.5", team=f"team-{number % 5}", model_id=NOVA)

    with django_assert_max_num_queries(2):
        rows = spend_report(tenant=tenant, group_by=["team", "model_id"])

    assert len(rows) == 10
