"""Reads behind the explorer, the entity pages, budgets and the API: the daily rollup (SpendDaily)
grouped and filtered as an ExplorerQuery says, always scoped by tenant.

The machinery lives in sums.py (what a group adds up to), cells.py (querying and summing the rollup) and
results.py (the table, the chart and the page); this module keeps the public names importable from here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import F

from connections.models import Tenant
from finops.explorer.cells import (
    aggregate,
    aggregate_cost,
    cells,
    cost_expression,
    data_dates,
    first_dates,
    group_expression,
    latest_usage_date,
    period_expression,
    query_rollup,
    range_cells,
    rollup_for,
    spend_cells,
)
from finops.explorer.query import ExplorerQuery
from finops.explorer.results import (
    CHART_GROUPS,
    OTHER,
    TAG_DIMENSIONS,
    UNTAGGED,
    Explored,
    Row,
    Series,
    explore,
    label,
    model_names,
    series,
    table,
)
from finops.explorer.sums import (
    BILL_LINE,
    BILLED,
    ESTIMATED,
    METRIC,
    REQUEST,
    TOKEN_TYPES,
    ZERO,
    Sums,
    UnitEconomics,
    percentile,
    unit_economics,
)


def daily_costs(tenant: Tenant, query: ExplorerQuery, *, start: date, end: date) -> dict[date, Decimal]:
    """Cost per day on the query's basis, filters applied, over [start, end] (budgets, forecasts)."""
    grouped = aggregate_cost(
        cells(tenant, query, start=start, end=end, rollup=query_rollup(query)), {"day": F("usage_date")}, query.basis
    )
    return {date.fromisoformat(day): cost for (day,), cost in grouped.items()}


def totals(tenant: Tenant, query: ExplorerQuery) -> Sums:
    return aggregate(range_cells(tenant, query, rollup=query_rollup(query)), {}).get((), Sums())


def dimension_values(tenant: Tenant, query: ExplorerQuery, dimension: str, *, limit: int = 200) -> list[str]:
    """The values a dimension takes in the query's range (for filter pickers), largest spend first."""
    grouped = aggregate_cost(
        range_cells(
            tenant, query, rollup=query_rollup(query, also=(dimension,)), weeks=dimension not in ("date", "month")
        ),
        {"v": group_expression(dimension)},
        query.basis,
    )
    ranked = sorted(grouped, key=lambda k: (-grouped[k], str(k[0])))
    return [str(k[0]) for k in ranked[:limit]]


__all__ = [
    "BILLED",
    "BILL_LINE",
    "CHART_GROUPS",
    "ESTIMATED",
    "Explored",
    "METRIC",
    "OTHER",
    "REQUEST",
    "Row",
    "Series",
    "Sums",
    "TAG_DIMENSIONS",
    "TOKEN_TYPES",
    "UNTAGGED",
    "UnitEconomics",
    "ZERO",
    "aggregate",
    "aggregate_cost",
    "cells",
    "cost_expression",
    "daily_costs",
    "data_dates",
    "dimension_values",
    "explore",
    "first_dates",
    "group_expression",
    "label",
    "latest_usage_date",
    "model_names",
    "percentile",
    "period_expression",
    "query_rollup",
    "range_cells",
    "rollup_for",
    "series",
    "spend_cells",
    "table",
    "totals",
    "unit_economics",
]
