"""Explorer endpoints: the explorer's view as JSON or CSV, and unit economics per group. They read the query
string with the page's own parser (finops.explorer.query.parse_query on request.GET), so the API and the page
never disagree about what a link means. Money and ratios are decimal strings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, api_tenant, error_responses
from connections.models import Tenant
from finops.explorer import csv as explorer_csv
from finops.explorer.query import (
    BASES,
    DIMENSIONS,
    GRANULARITIES,
    MAX_PAGE_SIZE,
    PRESETS,
    SORTS,
    ExplorerQuery,
    QueryError,
    describe_filters,
    parse_query,
)
from finops.explorer.selectors import Explored, Row, explore, latest_usage_date, table

router = Router(tags=["explorer"])

FILTER_HELP = (
    "Filters are dynamic parameters, repeatable: `f.<dimension>=<value>` keeps only that value (several "
    "`f.` values of one dimension mean any of them), `x.<dimension>=<value>` leaves it out; an empty value "
    'means "(none)". Dimensions: ' + ", ".join(d for d, spec in DIMENSIONS.items() if not spec.group_only) + "."
)
QUERY_HELP = (
    "The same parameters as the explorer page, so a page's query string is an API call. A bad parameter is a "
    "400 that says which one and what to send instead. " + FILTER_HELP
)


class ExplorerParams(Schema):
    """Documents the explorer's parameters; the values are read from the query string by parse_query."""

    preset: str | None = Field(None, description=f"One of {', '.join(PRESETS)} (default 30d), or send start/end.")
    start: str | None = Field(None, description="YYYY-MM-DD, inclusive.", examples=["2026-06-01"])
    end: str | None = Field(
        None, description="YYYY-MM-DD, inclusive (default: the latest day with data).", examples=["2026-06-30"]
    )
    g: list[str] | None = Field(
        None, description=f"Group by (repeat, at most 2): {', '.join(DIMENSIONS)}.", examples=[["team", "model"]]
    )
    gran: str | None = Field(None, description=f"Chart granularity: {', '.join(GRANULARITIES)}.")
    basis: str | None = Field(None, description=f"Cost basis: {', '.join(BASES)} (never added together).")
    sort: str | None = Field(None, description=f"{', '.join(SORTS)}.")
    page: str | None = Field(None, description="Page of the table, from 1.")
    page_size: str | None = Field(None, description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default 50).")


class TokensOut(Schema):
    input: int
    output: int
    cache_read: int
    cache_write: int


class UnitEconomicsOut(Schema):
    cost_per_1k_tokens: Decimal | None
    cost_per_1k_by_type: dict[str, Decimal | None] = Field(description="Billed, from bill lines per token type.")
    cost_per_request: Decimal | None
    cache_hit_rate: Decimal | None = Field(description="Cache read / (input + cache read), a fraction.")
    output_input_ratio: Decimal | None
    error_rate: Decimal | None
    throttle_rate: Decimal | None
    latency_p50_ms: Decimal | None = Field(description="Approximate: read from histogram buckets.")
    latency_p95_ms: Decimal | None
    latency_mean_ms: Decimal | None


class RowOut(Schema):
    keys: dict[str, str] = Field(description="Group values, as filters take them.")
    labels: dict[str, str]
    cost: Decimal = Field(description="On the query's basis.")
    billed_cost_usd: Decimal
    estimated_cost_usd: Decimal
    allocated_cost_usd: Decimal
    share_pct: Decimal | None
    tokens: TokensOut
    token_source: str = Field(
        description="Where the token counts come from, chosen per platform: requests, billed (bill lines), mixed "
        "(some platforms from requests, others from bill lines), or empty."
    )
    requests: int
    unpriced_requests: int
    unit: UnitEconomicsOut


class FilterOut(Schema):
    dimension: str
    values: list[str]
    exclude: bool


class QueryOut(Schema):
    start: date
    end: date
    preset: str
    group_by: list[str]
    filters: list[FilterOut]
    filters_text: list[str]
    granularity: str
    basis: str
    sort: str
    querystring: str = Field(description="This view as a query string (the page and the API take it).")


class PaginationOut(Schema):
    page: int
    page_size: int
    pages: int
    row_count: int


class SeriesGroupOut(Schema):
    key: str
    label: str
    values: list[Decimal]


class SeriesOut(Schema):
    dimension: str
    periods: list[str]
    groups: list[SeriesGroupOut]


class DatesOut(Schema):
    latest: date | None
    billed_through: date | None = Field(description="The last day with billed (CUR) data.")
    estimated_through: date | None
    not_yet_billed: list[date] | None = Field(description="[first, last] days of the range with no bill yet.")


class ExploreOut(Schema):
    query: QueryOut
    rows: list[RowOut]
    total: RowOut
    pagination: PaginationOut
    series: SeriesOut
    dates: DatesOut
    has_data: bool


class UnitGroupOut(Schema):
    keys: dict[str, str]
    labels: dict[str, str]
    cost: Decimal
    requests: int
    total_tokens: int
    unit: UnitEconomicsOut


class UnitEconomicsPage(Schema):
    query: QueryOut
    by: str
    groups: list[UnitGroupOut]
    total: UnitGroupOut
    pagination: PaginationOut


def _query(tenant: Tenant, params: Any) -> ExplorerQuery:
    try:
        return parse_query(params, latest=latest_usage_date(tenant))
    except QueryError as exc:
        raise HttpError(400, str(exc)) from exc


def _query_out(query: ExplorerQuery) -> dict[str, Any]:
    return {
        "start": query.start,
        "end": query.end,
        "preset": query.preset,
        "group_by": list(query.group_by),
        "filters": [{"dimension": f.dimension, "values": list(f.values), "exclude": f.exclude} for f in query.filters],
        "filters_text": describe_filters(query.filters),
        "granularity": query.granularity,
        "basis": query.basis,
        "sort": query.sort,
        "querystring": query.querystring(),
    }


def _row_out(row: Row) -> dict[str, Any]:
    sums = row.sums
    return {
        "keys": row.keys,
        "labels": row.labels,
        "cost": row.cost,
        "billed_cost_usd": sums.billed,
        "estimated_cost_usd": sums.estimated,
        "allocated_cost_usd": sums.allocated,
        "share_pct": row.share_pct,
        "tokens": sums.tokens,
        "token_source": sums.token_source,
        "requests": sums.requests,
        "unpriced_requests": sums.unpriced_requests,
        "unit": row.unit.as_dict(),
    }


def _pagination(query: ExplorerQuery, row_count: int) -> dict[str, int]:
    return {
        "page": query.page,
        "page_size": query.page_size,
        "pages": max(1, -(-row_count // query.page_size)),
        "row_count": row_count,
    }


def _explored_out(explored: Explored) -> dict[str, Any]:
    series = explored.series
    gap = explored.not_yet_billed
    return {
        "query": _query_out(explored.query),
        "rows": [_row_out(r) for r in explored.rows],
        "total": _row_out(explored.total),
        "pagination": _pagination(explored.query, explored.row_count),
        "series": {
            "dimension": series.dimension,
            "periods": series.periods,
            "groups": [{"key": str(g["key"]), "label": str(g["label"]), "values": g["values"]} for g in series.groups],
        },
        "dates": {
            "latest": explored.latest,
            "billed_through": explored.billed_through,
            "estimated_through": explored.estimated_through,
            "not_yet_billed": list(gap) if gap else None,
        },
        "has_data": explored.has_data,
    }


@router.get(
    "/{tenant_slug}/query",
    response={200: ExploreOut, **error_responses(*COMMON_ERRORS)},
    summary="Explore spend (the explorer page's view)",
    description="One page of the grouped table, the total, the chart's series and the data dates. " + QUERY_HELP,
)
def query_view(request: HttpRequest, tenant_slug: str, params: Query[ExplorerParams]) -> dict[str, Any]:
    tenant = api_tenant(request, tenant_slug)
    return _explored_out(explore(tenant, _query(tenant, request.GET)))


@router.get(
    "/{tenant_slug}/query.csv",
    response=error_responses(*COMMON_ERRORS),
    summary="Explore spend as CSV",
    description="The explorer's table as CSV: every group (all pages, the page and page_size parameters are "
    "ignored), then the total row; the file name says what it holds. " + QUERY_HELP,
    openapi_extra={"responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}},
)
def query_csv(request: HttpRequest, tenant_slug: str, params: Query[ExplorerParams]) -> HttpResponse:
    tenant = api_tenant(request, tenant_slug)
    query = _query(tenant, request.GET)
    rows, total = table(tenant, query)
    response = HttpResponse(explorer_csv.table_csv(rows, total, query), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{explorer_csv.filename(tenant.slug, query)}"'
    return response


UNIT_ECONOMICS_BY = ("model", "application", "team", "agent", "principal")


class UnitEconomicsParams(ExplorerParams):
    by: str = Field("model", description=f"Group by one of {', '.join(UNIT_ECONOMICS_BY)}.")


@router.get(
    "/{tenant_slug}/unit-economics",
    response={200: UnitEconomicsPage, **error_responses(*COMMON_ERRORS)},
    summary="Unit economics per model, application, team, agent or principal",
    description="Cost per 1K tokens (blended and per token type), per request, cache-hit rate, output/input "
    "ratio, error and throttle rates and approximate latency, per group of `by`. Takes the explorer's range, "
    "filter, basis, sort and page parameters (g is replaced by `by`). " + FILTER_HELP,
)
def unit_economics_view(request: HttpRequest, tenant_slug: str, params: Query[UnitEconomicsParams]) -> dict[str, Any]:
    tenant = api_tenant(request, tenant_slug)
    by = params.by
    if by not in UNIT_ECONOMICS_BY:
        raise HttpError(400, f"by={by!r}: use one of {', '.join(UNIT_ECONOMICS_BY)}.")
    pairs = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k not in ("by", "g")]
    query = _query(tenant, [*pairs, ("g", by)])
    rows, total = table(tenant, query)
    first = (query.page - 1) * query.page_size

    def group(row: Row) -> dict[str, Any]:
        return {
            "keys": row.keys,
            "labels": row.labels,
            "cost": row.cost,
            "requests": row.sums.requests,
            "total_tokens": row.sums.total_tokens,
            "unit": row.unit.as_dict(),
        }

    return {
        "query": _query_out(query),
        "by": by,
        "groups": [group(r) for r in rows[first : first + query.page_size]],
        "total": group(total),
        "pagination": _pagination(query, len(rows)),
    }
