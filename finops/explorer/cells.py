"""Querying the daily rollup (SpendDaily) for the explorer: the tenant's cells in a range that pass a
query's filters, the group expressions, and the sums per group. Always scoped by tenant.

PostgreSQL sums in SQL (numeric is exact). SQLite's SUM of decimals is a float, so there the cells are
fetched and summed in Python as Decimal; the rollup is small enough for that (a cell per day and
dimension combination, not per request)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, CharField, DecimalField, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek

from connections.models import Tenant
from finops.explorer.query import DIMENSIONS, ExplorerQuery
from finops.explorer.sums import (
    _CELL_FIELDS,
    BILL_LINE,
    BILLED,
    ESTIMATED,
    METRIC,
    REQUEST,
    SOURCE,
    ZERO,
    Sums,
    _cell_cost,
    _cell_sums,
    _pg_aggregates,
    _pg_sums,
    _plain,
)
from finops.ledger.models import SpendDaily
from finops.ledger.rollup_models import COARSE_ROLLUPS, WEEKLY_ROLLUPS


def _model_expression() -> Case:
    """A model's canonical id, or the reference as delivered when it was not resolved."""
    return Case(When(model_id="", then=F("model_ref")), default=F("model_id"), output_field=CharField())


def group_expression(dimension: str, granularity: str = "day") -> Any:
    if dimension == "model":
        return _model_expression()
    if dimension == "week":
        return TruncWeek("usage_date")
    if dimension == "month":
        return TruncMonth("usage_date")
    return F(DIMENSIONS[dimension].column)


def period_expression(granularity: str) -> Any:
    return {"day": F("usage_date"), "week": TruncWeek("usage_date"), "month": TruncMonth("usage_date")}[granularity]


def _filter_q(dimension: str, values: Iterable[str]) -> Q:
    values = list(values)
    if dimension == "model":
        return Q(model_id__in=[v for v in values if v]) | Q(model_id="", model_ref__in=values)
    return Q(**{f"{DIMENSIONS[dimension].column}__in": values})


def dimension_columns(dimensions: Iterable[str]) -> set[str]:
    """The rollup columns that grouping or filtering by these dimensions reads."""
    out: set[str] = set()
    for dimension in dimensions:
        if dimension == "model":
            out |= {"model_id", "model_ref"}
        elif dimension in ("date", "week", "month"):
            out.add("usage_date")
        else:
            out.add(DIMENSIONS[dimension].column)
    return out


def rollup_for(columns: Iterable[str]) -> Any:
    """The smallest rollup that has every one of these columns (aggregate awareness): a coarse one on
    PostgreSQL, whose triggers keep them equal to SpendDaily; SpendDaily itself otherwise."""
    if connection.vendor != "postgresql":
        return SpendDaily
    wanted = (set(columns) - {"usage_date"}) | {SOURCE}  # every sum of tokens groups by platform too
    for model, dimensions in COARSE_ROLLUPS:
        if wanted <= set(dimensions):
            return model
    return SpendDaily


def query_rollup(query: ExplorerQuery, *, also: Iterable[str] = ()) -> Any:
    """The rollup for a query's group-by and filter dimensions, plus `also`."""
    return rollup_for(dimension_columns([*query.group_by, *(f.dimension for f in query.filters), *also]))


def spend_cells(tenant: Tenant, *, rollup: Any = SpendDaily) -> QuerySet:
    """The tenant's rollup cells of spend: bill lines and requests. Metric buckets (CloudWatch) are left out
    of every sum: they carry no dollars and count again the calls that requests and bill lines count."""
    return rollup.objects.filter(tenant=tenant).exclude(record_kind=METRIC)


def cells(
    tenant: Tenant,
    query: ExplorerQuery,
    *,
    start: date | None = None,
    end: date | None = None,
    rollup: Any = SpendDaily,
) -> QuerySet:
    """The tenant's rollup cells in the query's range (or the one given) that pass its filters; from SpendDaily
    unless a coarser `rollup` is given (see `query_rollup`)."""
    qs = spend_cells(tenant, rollup=rollup).filter(
        usage_date__gte=start or query.start, usage_date__lte=end or query.end
    )
    for f in query.filters:
        condition = _filter_q(f.dimension, f.values)
        qs = qs.exclude(condition) if f.exclude else qs.filter(condition)
    return qs


def week_split(start: date, end: date) -> tuple[date, date] | None:
    """The whole ISO weeks inside [start, end], as (their first Monday, their last Sunday); None when none fits."""
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    last = end - timedelta(days=(end.weekday() + 1) % 7)
    return (first, last) if first + timedelta(days=6) <= last else None


def range_cells(tenant: Tenant, query: ExplorerQuery, *, rollup: Any, weeks: bool = True) -> QuerySet:
    """The query's cells of `rollup`, read so that their sums equal those of `cells(...)`: on PostgreSQL, when
    `rollup` has a weekly copy (WEEKLY_ROLLUPS) and the range holds whole ISO weeks, those weeks' weekly cells
    and the daily cells of the days at the range's edges, in one query over the view of both; else the daily
    cells. `weeks=False` when a group reads the date at day or month resolution (a week's cell has only its
    Monday)."""
    span = next((view for _, _, daily, view in WEEKLY_ROLLUPS if daily is rollup), None)
    split = week_split(query.start, query.end) if weeks and connection.vendor == "postgresql" else None
    if span is None or split is None:
        return cells(tenant, query, rollup=rollup)
    first, last = split
    inside = Q(usage_date__gte=first, usage_date__lte=last)
    return cells(tenant, query, rollup=span).filter(Q(grain="week") & inside | Q(grain="day") & ~inside)


def cost_expression(basis: str) -> Any:
    """One cell's dollars on a basis, as a database expression (for cost-only aggregates)."""
    if basis == "allocated":
        return Case(
            When(record_kind=REQUEST, then=F("allocated_cost_usd")),
            When(record_kind=BILL_LINE, then=F("cost_usd") - F("allocated_cost_usd")),
            default=Value(ZERO),
            output_field=DecimalField(max_digits=28, decimal_places=10),
        )
    return Case(
        When(cost_basis=basis, then=F("cost_usd")),
        default=Value(ZERO),
        output_field=DecimalField(max_digits=28, decimal_places=10),
    )


def _pg_rows(qs: QuerySet) -> list[dict[str, Any]]:
    """A grouped values() queryset's rows as psycopg returns them (Decimal, int, date or datetime), without
    Django's per-value converters: a table of hundreds of groups by 40-odd sums spent as long in those as in
    the query. `_pg_sums` and `_plain` normalise the values (ints, dates as ISO strings) either way."""
    try:
        sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def aggregate_cost(qs: QuerySet, groups: dict[str, Any], basis: str) -> dict[tuple[Any, ...], Decimal]:
    """Dollars per group on one basis: a single sum per group (charts, budgets, pickers)."""
    keys = [f"k_{n}" for n in groups]
    annotated = qs.annotate(**{f"k_{n}": e for n, e in groups.items()})
    out: dict[tuple[Any, ...], Decimal] = {}
    if connection.vendor == "postgresql":
        for row in _pg_rows(annotated.values(*keys).annotate(s_cost=Sum(cost_expression(basis))).order_by()):
            out[tuple(_plain(row[k]) for k in keys)] = row["s_cost"] or ZERO
        return out
    for cell in annotated.values(*keys, "record_kind", "cost_basis", "cost_usd", "allocated_cost_usd").iterator(
        chunk_size=5000
    ):
        key = tuple(_plain(cell[k]) for k in keys)
        out[key] = out.get(key, ZERO) + _cell_cost(cell, basis)
    return out


def aggregate(qs: QuerySet, groups: dict[str, Any], *, detail: bool = True) -> dict[tuple[Any, ...], Sums]:
    """Sums per group: `groups` maps an alias to an expression (empty: one total under key ()). Without
    `detail`, only money, requests and tokens are summed (error, latency and per-type figures stay 0)."""
    names = list(groups)
    annotated = qs.annotate(**{f"k_{n}": e for n, e in groups.items()}) if groups else qs
    keys = [f"k_{n}" for n in names]
    out: dict[tuple[Any, ...], Sums] = {}
    if connection.vendor == "postgresql":
        # Grouped by platform too (a few more rows, the same one query): a group's tokens are chosen per
        # platform (Sums.tokens); its rows per platform are added up here.
        rows = _pg_rows(annotated.values(*keys, SOURCE).annotate(**_pg_aggregates(detail)).order_by())
        for row in rows:
            if not keys and not row.get("s_events"):
                continue
            key = tuple(_plain(row[k]) for k in keys)
            sums = out.get(key)
            if sums is None:
                out[key] = _pg_sums(row)
            else:
                sums.add(_pg_sums(row))
        return out
    for cell in annotated.values(*keys, *_CELL_FIELDS).iterator(chunk_size=5000):
        key = tuple(_plain(cell[k]) for k in keys)
        sums = out.get(key)
        if sums is None:
            out[key] = _cell_sums(cell)
        else:
            sums.add(_cell_sums(cell))
    return out


def _dates_rollup() -> Any:
    """Dates by cost basis: any rollup has a cell on a day exactly when SpendDaily has one there."""
    return rollup_for({"cost_basis"})


def data_dates(tenant: Tenant) -> dict[str, date | None]:
    """The latest usage date overall, billed and estimated."""
    qs = spend_cells(tenant, rollup=_dates_rollup()).order_by("-usage_date").values_list("usage_date", flat=True)
    # Each walks the (tenant, usage_date, ...) index backwards to its first match: no scan of the whole rollup.
    return {
        "latest": qs.first(),
        "billed": qs.filter(cost_basis=BILLED).first(),
        "estimated": qs.filter(cost_basis=ESTIMATED).first(),
    }


def latest_usage_date(tenant: Tenant) -> date | None:
    return spend_cells(tenant, rollup=_dates_rollup()).aggregate(latest=Max("usage_date"))["latest"]


def first_dates(tenant: Tenant) -> dict[str, date | None]:
    """The first usage date overall, billed and estimated (where the tenant's data begins: budgets' forecasts
    treat days before it as unknown, not as $0)."""
    qs = spend_cells(tenant, rollup=_dates_rollup())
    return qs.aggregate(
        first=Min("usage_date"),
        billed=Min("usage_date", filter=Q(cost_basis=BILLED)),
        estimated=Min("usage_date", filter=Q(cost_basis=ESTIMATED)),
    )
