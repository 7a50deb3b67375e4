"""The explorer's results: the grouped table (every group, sorted, with shares), the chart series and
the page (`explore`), with the labels groups are shown by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from connections.models import Tenant
from finops.explorer.cells import (
    _filter_q,
    aggregate,
    aggregate_cost,
    data_dates,
    dimension_columns,
    group_expression,
    period_expression,
    query_rollup,
    range_cells,
    rollup_for,
)
from finops.explorer.query import TIME_DIMENSIONS, ExplorerQuery
from finops.explorer.sums import ZERO, Sums, UnitEconomics, unit_economics
from finops.ledger.models import ModelCatalog, TokenType
from finops.ledger.provider_catalog import BEDROCK, PLATFORMS, platform_of

CHART_GROUPS = 8  # the chart stacks the top groups; the rest is "Other"
OTHER = "__other__"
UNTAGGED = "(untagged)"
TAG_DIMENSIONS = {"team", "application", "user", "agent", "workflow", "cost_center", "environment"}


# --- labels ---------------------------------------------------------------------------------------


def model_names() -> dict[str, str]:
    return dict(ModelCatalog.objects.values_list("model_id", "name"))


def label(dimension: str, value: str, *, names: dict[str, str] | None = None, platform_shown: bool = False) -> str:
    """How a group's value reads. `platform_shown`: the platform is a column beside it (grouped by source), so a
    model need not repeat it (a long label is cut in the middle, and the repetition cut the model's name)."""
    if dimension == "model":
        name = (names or {}).get(value, value) or "(unknown model)"
        platform = platform_of(value)
        # The same model bought on two platforms is two rows: say where (Claude Sonnet 4.5 (Anthropic)).
        return name if platform == BEDROCK or not value or platform_shown else f"{name} ({PLATFORMS[platform]})"
    if dimension == "source":
        return PLATFORMS.get(value, value) or "(none)"
    if dimension == "principal":
        return value.rsplit("/", 1)[-1] if value else "(no principal)"
    if dimension == "token_type":
        return dict(TokenType.choices).get(value, value) or "(no token type)"
    if dimension == "week":
        return f"Week of {value}" if value else "(no date)"
    if dimension == "month":
        return value[:7] if value else "(no date)"
    if dimension in TAG_DIMENSIONS:
        return value or UNTAGGED
    return value or "(none)"


# --- the explorer's results -----------------------------------------------------------------------


@dataclass
class Row:
    keys: dict[str, str]
    labels: dict[str, str]
    sums: Sums
    cost: Decimal
    share_pct: Decimal | None = None

    @property
    def unit(self) -> UnitEconomics:
        return unit_economics(self.sums, self._basis)

    _basis: str = "billed"


@dataclass
class Series:
    periods: list[str]
    groups: list[dict[str, Any]]  # {"key": value, "label": ..., "values": [Decimal per period]}
    dimension: str = ""


@dataclass
class Explored:
    query: ExplorerQuery
    rows: list[Row]  # this page
    total: Row
    row_count: int  # groups in all pages
    series: Series
    has_data: bool  # the tenant has any spend at all
    latest: date | None
    billed_through: date | None  # the last day with billed (CUR) data
    estimated_through: date | None

    @property
    def pages(self) -> int:
        return max(1, -(-self.row_count // self.query.page_size))

    @property
    def not_yet_billed(self) -> tuple[date, date] | None:
        """Days of the range that have requests but no bill yet (CUR arrives a day or more later)."""
        if not self.estimated_through:
            return None
        first = (self.billed_through + timedelta(days=1)) if self.billed_through else self.query.start
        first = max(first, self.query.start)
        last = min(self.estimated_through, self.query.end)
        return (first, last) if first <= last else None


def _sort_key(sort: str) -> Any:
    if sort == "requests":
        return lambda r: (-r.sums.requests, -r.cost)
    if sort == "tokens":
        return lambda r: (-r.sums.total_tokens, -r.cost)
    if sort == "label":
        return lambda r: tuple(v.lower() for v in r.labels.values())
    return lambda r: (-r.cost, -r.sums.requests, tuple(r.labels.values()))


def table(tenant: Tenant, query: ExplorerQuery) -> tuple[list[Row], Row]:
    """Every group of the query (all pages), sorted, with shares of the total; and the total row."""
    names = model_names()
    groups = {g: group_expression(g) for g in query.group_by}
    weeks = not {"date", "month"} & set(query.group_by)  # a week's cell has no day of its own
    grouped = aggregate(range_cells(tenant, query, rollup=query_rollup(query), weeks=weeks), groups)
    total_sums = Sums()
    for sums in grouped.values():
        total_sums.add(sums)
    total_cost = total_sums.cost(query.basis)
    rows = []
    for key, sums in grouped.items():
        keys = {g: str(v) for g, v in zip(query.group_by, key, strict=True)}
        cost = sums.cost(query.basis)
        rows.append(
            Row(
                keys=keys,
                labels={g: label(g, v, names=names, platform_shown="source" in keys) for g, v in keys.items()},
                sums=sums,
                cost=cost,
                share_pct=(cost / total_cost * 100) if total_cost else None,
                _basis=query.basis,
            )
        )
    rows.sort(key=_sort_key(query.sort))
    total = Row(keys={}, labels={}, sums=total_sums, cost=total_cost, share_pct=Decimal(100), _basis=query.basis)
    return rows, total


def series(
    tenant: Tenant, query: ExplorerQuery, *, top: int = CHART_GROUPS, totals: dict[str, Decimal] | None = None
) -> Series:
    """Cost per period (the query's granularity), stacked by the first group-by dimension when it is not
    a time one: its top groups by cost over the range, the rest as "Other". `totals` (cost per value of that
    dimension, e.g. summed from the table's rows) saves the query that ranks the groups."""
    stack = next((g for g in query.group_by if g not in TIME_DIMENSIONS), "")
    period = period_expression(query.granularity)
    periods = _periods(query)
    weeks = query.granularity == "week"  # whole weeks from a weekly rollup, when the query's has one
    # The chart's totals read the smallest rollup with the filters' dimensions alone (none of the group-by's).
    filtered = rollup_for(dimension_columns(f.dimension for f in query.filters))
    if not stack:
        grouped = aggregate_cost(
            range_cells(tenant, query, rollup=filtered, weeks=weeks), {"period": period}, query.basis
        )
        values = {key: cost for (key,), cost in grouped.items()}
        return Series(periods, [{"key": "", "label": "Total", "values": [values.get(p, ZERO) for p in periods]}])
    rollup = query_rollup(query)
    if totals is None:
        ranking = aggregate_cost(
            range_cells(tenant, query, rollup=rollup), {"stack": group_expression(stack)}, query.basis
        )
        totals = {key: cost for (key,), cost in ranking.items()}
    ranked = sorted(totals, key=lambda k: (-totals[k], str(k)))
    shown = ranked[:top] if len(ranked) > top + 1 else ranked
    if not shown:
        return Series(periods, [], stack)
    # Only the top groups' cells are summed per period (a filter, no CASE over every cell); "Other" is each
    # period's total less theirs (numeric: exact), the total read from the smallest rollup that has the filters.
    # This keeps a 90-day daily chart of hundreds of users from grouping every (day, user) cell.
    top_cells = range_cells(tenant, query, rollup=rollup, weeks=weeks).filter(_filter_q(stack, shown))
    grouped = aggregate_cost(top_cells, {"period": period, "stack": group_expression(stack)}, query.basis)
    names = model_names()
    by_group: dict[str, dict[str, Decimal]] = {k: {} for k in shown}
    for (key_period, key), cost in grouped.items():
        if key in by_group:
            by_group[key][key_period] = by_group[key].get(key_period, ZERO) + cost
    out = [
        {"key": k, "label": label(stack, k, names=names), "values": [by_group[k].get(p, ZERO) for p in periods]}
        for k in shown
    ]
    if len(shown) < len(ranked):
        every_cell = range_cells(tenant, query, rollup=filtered, weeks=weeks)
        period_totals = {p: cost for (p,), cost in aggregate_cost(every_cell, {"period": period}, query.basis).items()}
        other = [period_totals.get(p, ZERO) - sum((by_group[k].get(p, ZERO) for k in shown), ZERO) for p in periods]
        out.append({"key": OTHER, "label": "Other", "values": other})
    return Series(periods, out, stack)


def _periods(query: ExplorerQuery) -> list[str]:
    out: list[str] = []
    day = query.start
    while day <= query.end:
        if query.granularity == "week":
            first = day - timedelta(days=day.weekday())
        elif query.granularity == "month":
            first = day.replace(day=1)
        else:
            first = day
        if not out or out[-1] != first.isoformat():
            out.append(first.isoformat())
        day += timedelta(days=1)
    return out


def explore(tenant: Tenant, query: ExplorerQuery) -> Explored:
    """The explorer page (and API): one page of the table, the total, the chart and the data dates."""
    dates = data_dates(tenant)
    rows, total = table(tenant, query)
    first = (query.page - 1) * query.page_size
    stack = next((g for g in query.group_by if g not in TIME_DIMENSIONS), "")
    totals: dict[str, Decimal] = {}
    for row in rows if stack else ():
        totals[row.keys[stack]] = totals.get(row.keys[stack], ZERO) + row.cost
    return Explored(
        query=query,
        rows=rows[first : first + query.page_size],
        total=total,
        row_count=len(rows),
        series=series(tenant, query, totals=totals if stack else None),
        has_data=dates["latest"] is not None,
        latest=dates["latest"],
        billed_through=dates["billed"],
        estimated_through=dates["estimated"],
    )
