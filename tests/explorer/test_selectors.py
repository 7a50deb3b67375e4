"""The explorer's numbers against the raw ledger rows, summed here independently (plain Python over
SpendEvent values), for group-bys, filters, bases, the chart and unit economics."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connections.models import Tenant
from finops.explorer.query import parse_query
from finops.explorer.selectors import daily_costs, dimension_values, explore, percentile, totals
from finops.ledger.models import SpendEvent
from ingestion.services import import_cur, import_invocation_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZERO = Decimal(0)


@pytest.fixture
def tenant(db: None) -> Tenant:
    tenant = Tenant.objects.create(slug="t", name="T")
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])
    return tenant


def _events(tenant: Tenant) -> list[dict]:
    return list(SpendEvent.objects.filter(tenant=tenant).values())


def _cost(e: dict, basis: str) -> Decimal:
    if basis == "allocated":
        if e["record_kind"] == "request":
            return e["allocated_cost_usd"] or ZERO
        if e["record_kind"] == "billed_line":
            return (e["cost_usd"] or ZERO) - (e["allocated_cost_usd"] or ZERO)
        return ZERO
    return (e["cost_usd"] or ZERO) if e["cost_basis"] == basis else ZERO


def _params(**extra: object) -> dict:
    return {"start": "2026-05-01", "end": "2026-09-30", **extra}


@pytest.mark.parametrize("basis", ["billed", "estimated", "allocated"])
@pytest.mark.parametrize("group", ["team", "model", "principal", "token_type", "region"])
def test_groups_and_totals_match_the_raw_rows(tenant: Tenant, basis: str, group: str) -> None:
    column = {"model": "model_id", "principal": "iam_principal"}.get(group, group)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for e in _events(tenant):
        key = e[column] or (e["model_ref"] if group == "model" else "")
        expected[key] += _cost(e, basis)
    result = explore(tenant, parse_query(_params(g=group, basis=basis, page_size=1000), latest=None))
    got = {r.keys[group]: r.cost for r in result.rows}
    assert got == dict(expected)
    assert result.total.cost == sum(expected.values(), ZERO)
    costs = [r.cost for r in result.rows]
    assert costs == sorted(costs, reverse=True)


def test_the_allocated_basis_shares_out_exactly_the_billed_dollars(tenant: Tenant) -> None:
    billed = explore(tenant, parse_query(_params(basis="billed"), latest=None)).total.cost
    allocated = explore(tenant, parse_query(_params(basis="allocated", g="team"), latest=None))
    assert allocated.total.cost == billed
    assert any(r.keys["team"] for r in allocated.rows)  # requests' teams carry billed dollars


def test_include_and_exclude_filters(tenant: Tenant) -> None:
    events = _events(tenant)
    teams = sorted({e["team"] for e in events if e["team"]})
    assert len(teams) >= 2
    keep = teams[0]
    want = sum((_cost(e, "estimated") for e in events if e["team"] == keep), ZERO)
    inc = explore(tenant, parse_query(_params(**{"f.team": keep, "basis": "estimated"}), latest=None))
    assert inc.total.cost == want
    not_want = sum((_cost(e, "estimated") for e in events if e["team"] != keep), ZERO)
    exc = explore(tenant, parse_query(_params(**{"x.team": keep, "basis": "estimated"}), latest=None))
    assert exc.total.cost == not_want
    untagged = explore(tenant, parse_query(_params(**{"f.team": "", "basis": "estimated"}), latest=None))
    assert untagged.total.cost == sum((_cost(e, "estimated") for e in events if e["team"] == ""), ZERO)


def test_the_chart_stacks_the_first_group_per_period_and_adds_up(tenant: Tenant) -> None:
    q = parse_query(_params(g="model", gran="month", basis="estimated"), latest=None)
    result = explore(tenant, q)
    assert result.series.periods == ["2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01"]
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for e in _events(tenant):
        by_month[e["usage_date"].replace(day=1).isoformat()] += _cost(e, "estimated")
    stacked = [sum((g["values"][i] for g in result.series.groups), ZERO) for i in range(5)]
    assert stacked == [by_month.get(p, ZERO) for p in result.series.periods]


def test_token_counts_and_unit_economics(tenant: Tenant) -> None:
    events = [e for e in _events(tenant) if e["record_kind"] == "request"]
    sums = totals(tenant, parse_query(_params(**{"f.record_kind": "request", "basis": "estimated"}), latest=None))
    inp = sum(e["input_tokens"] for e in events)
    read = sum(e["cache_read_tokens"] for e in events)
    assert sums.tokens["input"] == inp and sums.tokens["cache_read"] == read
    assert sums.requests == sum(e["requests"] for e in events)
    errors = sum(e["requests"] for e in events if e["error_code"])
    assert sums.error_requests == errors
    row = explore(
        tenant, parse_query(_params(**{"f.record_kind": "request", "basis": "estimated", "g": ""}), latest=None)
    ).total
    unit = row.unit
    cost = sum((e["cost_usd"] or ZERO for e in events), ZERO)
    total_tokens = inp + read + sum(e["output_tokens"] + e["cache_write_tokens"] for e in events)
    assert unit.cost_per_1k_tokens == cost * 1000 / total_tokens
    assert unit.cache_hit_rate == Decimal(read) / Decimal(inp + read)
    latencies = [e["latency_ms"] for e in events if e["latency_ms"] is not None and not e["error_code"]]
    assert unit.latency_mean_ms == Decimal(sum(latencies)) / len(latencies)


def test_daily_costs_and_dimension_values(tenant: Tenant) -> None:
    q = parse_query(_params(basis="estimated"), latest=None)
    got = daily_costs(tenant, q, start=date(2026, 5, 1), end=date(2026, 9, 30))
    want: dict[date, Decimal] = defaultdict(Decimal)
    for e in _events(tenant):
        if e["cost_basis"] == "estimated":
            want[e["usage_date"]] += e["cost_usd"] or ZERO
    # days with data on another basis only are there as $0
    assert {d: v for d, v in got.items() if v} == {d: v for d, v in want.items() if v}
    assert set(got) == {e["usage_date"] for e in _events(tenant)}
    values = dimension_values(tenant, q, "team")
    assert set(values) == {e["team"] for e in _events(tenant)}


def test_percentiles_interpolate_inside_buckets() -> None:
    # 10 calls below 250 ms, 10 between 250 and 500 ms
    buckets = [10, 10] + [0] * 10
    assert percentile(buckets, 0.5) == Decimal(250)
    assert percentile(buckets, 0.75) == Decimal(375)
    assert percentile([0] * 12, 0.5) is None


def test_past_the_top_groups_the_chart_folds_the_rest_into_other_per_period(tenant: Tenant) -> None:
    from finops.explorer.selectors import series

    q = parse_query(_params(g="model", gran="month", basis="billed"), latest=None)
    events = [e for e in _events(tenant) if e["cost_basis"] == "billed"]
    per_model: dict[str, Decimal] = defaultdict(Decimal)
    for e in events:
        per_model[e["model_id"] or e["model_ref"]] += e["cost_usd"] or ZERO
    assert len(per_model) >= 4  # enough models to fold some into Other with top=2
    result = series(tenant, q, top=2)
    top = sorted(per_model, key=lambda k: (-per_model[k], k))[:2]
    assert [g["key"] for g in result.groups] == [*top, "__other__"]
    for index, period in enumerate(result.periods):
        month = [e for e in events if e["usage_date"].replace(day=1).isoformat() == period]
        other = sum((e["cost_usd"] or ZERO for e in month if (e["model_id"] or e["model_ref"]) not in top), ZERO)
        assert result.groups[2]["values"][index] == other
    # ranking totals handed in (as the explorer does from its table) give the same chart
    assert series(tenant, q, top=2, totals=dict(per_model)).groups == result.groups


@pytest.mark.parametrize("detail", [False, True])
def test_grouping_sets_equal_one_aggregate_per_grouping(tenant: Tenant, detail: bool) -> None:
    from django.db.models import F

    from finops.explorer.grouping import aggregate_sets
    from finops.explorer.selectors import aggregate
    from finops.ledger.models import SpendDaily

    cells = SpendDaily.objects.filter(tenant=tenant)
    sets = {
        "day": ("usage_date",),
        "model": ("model_id", "model_ref"),
        "team": ("team",),
        "kinds": ("record_kind", "unpriced", "usage_category"),
    }
    together = aggregate_sets(cells, sets, detail=detail)
    for name, columns in sets.items():
        alone = aggregate(cells, {c: F(c) for c in columns}, detail=detail)
        assert together[name] == alone, name
    assert sum((s.billed for s in together["day"].values()), ZERO) == sum(
        (e["cost_usd"] for e in _events(tenant) if e["cost_basis"] == "billed"), ZERO
    )
