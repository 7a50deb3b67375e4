"""Reads behind the explorer, the entity pages, budgets and the API: the daily rollup (SpendDaily)
grouped and filtered as an ExplorerQuery says, always scoped by tenant.

PostgreSQL sums in SQL (numeric is exact). SQLite's SUM of decimals is a float, so there the cells are
fetched and summed in Python as Decimal; the rollup is small enough for that (a cell per day and
dimension combination, not per request)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, DecimalField, F, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek

from connections.models import Tenant
from finops.explorer.query import DIMENSIONS, TIME_DIMENSIONS, ExplorerQuery
from finops.ledger.models import LATENCY_BUCKETS, LATENCY_EDGES_MS, ModelCatalog, SpendDaily, TokenType

ZERO = Decimal(0)
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")
CHART_GROUPS = 8  # the chart stacks the top groups; the rest is "Other"
OTHER = "__other__"
UNTAGGED = "(untagged)"
TAG_DIMENSIONS = {"team", "application", "user", "agent", "workflow", "cost_center", "environment"}
BILLED, ESTIMATED, REQUEST, BILL_LINE = "billed", "estimated", "request", "billed_line"
METRIC = "metric"


# --- sums -----------------------------------------------------------------------------------------


@dataclass
class Sums:
    """Everything a group adds up to. Money is Decimal; nothing here is a float."""

    billed: Decimal = ZERO
    estimated: Decimal = ZERO
    allocated: Decimal = ZERO  # requests' allocations + the bill lines' dollars not given to requests
    allocated_to_requests: Decimal = ZERO  # the requests' allocations alone (reconciliation coverage)
    catalog_cost: Decimal = ZERO  # bill lines the catalog can price: at list price ...
    catalog_billed: Decimal = ZERO  # ... and as billed
    events: int = 0
    request_rows: int = 0
    requests: int = 0
    req_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 0))
    bill_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 0))
    bill_type_cost: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, ZERO))
    bill_type_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 0))
    error_requests: int = 0
    throttled_requests: int = 0
    latency_count: int = 0
    latency_sum_ms: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    unpriced_requests: int = 0

    def add(self, other: Sums) -> None:
        for name in ("billed", "estimated", "allocated", "allocated_to_requests", "catalog_cost", "catalog_billed",
                     "events", "request_rows", "requests", "error_requests", "throttled_requests", "latency_count",
                     "latency_sum_ms", "unpriced_requests"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("req_tokens", "bill_tokens", "bill_type_cost", "bill_type_tokens"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key in mine:
                mine[key] += theirs[key]
        self.latency_buckets = [a + b for a, b in zip(self.latency_buckets, other.latency_buckets, strict=True)]

    def cost(self, basis: str) -> Decimal:
        return {"billed": self.billed, "estimated": self.estimated, "allocated": self.allocated}[basis]

    @property
    def tokens(self) -> dict[str, int]:
        """Token counts from the requests when the group has any, else from the bill lines, so the same
        tokens are never counted twice (as in spend_report)."""
        return dict(self.req_tokens if self.request_rows else self.bill_tokens)

    @property
    def token_source(self) -> str:
        if self.request_rows:
            return "requests"
        return "billed" if any(self.bill_tokens.values()) else ""

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens.values())


def _ratio(numerator: Decimal | int, denominator: Decimal | int, scale: int = 1) -> Decimal | None:
    if not denominator:
        return None
    return Decimal(numerator) * scale / Decimal(denominator)


def percentile(buckets: list[int], fraction: float) -> Decimal | None:
    """The latency below which `fraction` of the calls fall, interpolated inside its bucket (approximate:
    the buckets are LATENCY_EDGES_MS). The open last bucket reports its lower edge."""
    total = sum(buckets)
    if not total:
        return None
    target = total * fraction
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= target:
            low = LATENCY_EDGES_MS[index - 1] if index else 0
            if index >= len(LATENCY_EDGES_MS):
                return Decimal(low)
            high = LATENCY_EDGES_MS[index]
            return Decimal(low + (high - low) * (target - seen) / count).quantize(Decimal(1))
        seen += count
    return Decimal(LATENCY_EDGES_MS[-1])


@dataclass
class UnitEconomics:
    cost_per_1k_tokens: Decimal | None
    cost_per_1k_by_type: dict[str, Decimal | None]  # from bill lines, which carry their token type
    cost_per_request: Decimal | None
    cache_hit_rate: Decimal | None  # cache read / (input + cache read)
    output_input_ratio: Decimal | None
    error_rate: Decimal | None
    throttle_rate: Decimal | None
    latency_p50_ms: Decimal | None
    latency_p95_ms: Decimal | None
    latency_mean_ms: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cost_per_1k_tokens": self.cost_per_1k_tokens,
            "cost_per_1k_by_type": self.cost_per_1k_by_type,
            "cost_per_request": self.cost_per_request,
            "cache_hit_rate": self.cache_hit_rate,
            "output_input_ratio": self.output_input_ratio,
            "error_rate": self.error_rate,
            "throttle_rate": self.throttle_rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_mean_ms": self.latency_mean_ms,
        }


def unit_economics(sums: Sums, basis: str) -> UnitEconomics:
    tokens = sums.tokens
    cost = sums.cost(basis)
    return UnitEconomics(
        cost_per_1k_tokens=_ratio(cost, sums.total_tokens, 1000),
        cost_per_1k_by_type={t: _ratio(sums.bill_type_cost[t], sums.bill_type_tokens[t], 1000) for t in TOKEN_TYPES},
        cost_per_request=_ratio(cost, sums.requests),
        cache_hit_rate=_ratio(tokens["cache_read"], tokens["input"] + tokens["cache_read"]),
        output_input_ratio=_ratio(tokens["output"], tokens["input"]),
        error_rate=_ratio(sums.error_requests, sums.requests),
        throttle_rate=_ratio(sums.throttled_requests, sums.requests),
        latency_p50_ms=percentile(sums.latency_buckets, 0.50),
        latency_p95_ms=percentile(sums.latency_buckets, 0.95),
        latency_mean_ms=_ratio(sums.latency_sum_ms, sums.latency_count),
    )


# --- querying the rollup --------------------------------------------------------------------------


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


def spend_cells(tenant: Tenant) -> QuerySet:
    """The tenant's rollup cells of spend: bill lines and requests. Metric buckets (CloudWatch) are left out
    of every sum: they carry no dollars and count again the calls that requests and bill lines count."""
    return SpendDaily.objects.filter(tenant=tenant).exclude(record_kind=METRIC)


def cells(tenant: Tenant, query: ExplorerQuery, *, start: date | None = None, end: date | None = None) -> QuerySet:
    """The tenant's rollup cells in the query's range (or the one given) that pass its filters."""
    qs = spend_cells(tenant).filter(usage_date__gte=start or query.start, usage_date__lte=end or query.end)
    for f in query.filters:
        condition = _filter_q(f.dimension, f.values)
        qs = qs.exclude(condition) if f.exclude else qs.filter(condition)
    return qs


def _pg_aggregates(detail: bool = True) -> dict[str, Any]:
    """The sums to compute; without `detail` only money, requests and tokens (the overview's and the
    chart's needs), which is several times fewer aggregates per cell."""
    request, bill = Q(record_kind=REQUEST), Q(record_kind=BILL_LINE)
    out: dict[str, Any] = {
        "s_billed": Sum("cost_usd", filter=Q(cost_basis=BILLED)),
        "s_estimated": Sum("cost_usd", filter=Q(cost_basis=ESTIMATED)),
        "s_alloc_req": Sum("allocated_cost_usd", filter=request),
        "s_bill_cost": Sum("cost_usd", filter=bill),
        "s_alloc_bill": Sum("allocated_cost_usd", filter=bill),
        "s_catalog_cost": Sum("catalog_cost_usd"),
        "s_catalog_billed": Sum("catalog_billed_usd"),
        "s_events": Sum("events"),
        "s_request_rows": Sum("events", filter=request),
        "s_requests": Sum("requests"),
        "s_unpriced": Sum("requests", filter=request & Q(unpriced=True)),
    }
    for t in TOKEN_TYPES:
        column = f"{t}_tokens"
        out[f"s_req_{t}"] = Sum(column, filter=request)
        out[f"s_bill_{t}"] = Sum(column, filter=~request)
    if not detail:
        return out
    out.update(
        s_error_requests=Sum("error_requests"),
        s_throttled_requests=Sum("throttled_requests"),
        s_latency_count=Sum("latency_count"),
        s_latency_sum_ms=Sum("latency_sum_ms"),
    )
    for t in TOKEN_TYPES:
        column = f"{t}_tokens"
        out[f"s_btc_{t}"] = Sum("cost_usd", filter=bill & Q(token_type=t))
        out[f"s_btt_{t}"] = Sum(column, filter=bill & Q(token_type=t))
    for name in LATENCY_BUCKETS:
        out[f"s_{name}"] = Sum(name)
    return out


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


def aggregate_cost(qs: QuerySet, groups: dict[str, Any], basis: str) -> dict[tuple[Any, ...], Decimal]:
    """Dollars per group on one basis: a single sum per group (charts, budgets, pickers)."""
    keys = [f"k_{n}" for n in groups]
    annotated = qs.annotate(**{f"k_{n}": e for n, e in groups.items()})
    out: dict[tuple[Any, ...], Decimal] = {}
    if connection.vendor == "postgresql":
        for row in annotated.values(*keys).annotate(s_cost=Sum(cost_expression(basis))).order_by():
            out[tuple(_plain(row[k]) for k in keys)] = row["s_cost"] or ZERO
        return out
    for cell in annotated.values(*keys, "record_kind", "cost_basis", "cost_usd", "allocated_cost_usd").iterator(
        chunk_size=5000
    ):
        key = tuple(_plain(cell[k]) for k in keys)
        out[key] = out.get(key, ZERO) + _cell_cost(cell, basis)
    return out


def _cell_cost(cell: dict[str, Any], basis: str) -> Decimal:
    cost = cell["cost_usd"] or ZERO
    if basis == "allocated":
        allocated = cell["allocated_cost_usd"] or ZERO
        return (
            allocated
            if cell["record_kind"] == REQUEST
            else (cost - allocated if cell["record_kind"] == BILL_LINE else ZERO)
        )
    return cost if cell["cost_basis"] == basis else ZERO


def _pg_sums(row: dict[str, Any]) -> Sums:
    def n(key: str) -> int:
        return int(row.get(key) or 0)

    def m(key: str) -> Decimal:
        return row.get(key) or ZERO

    return Sums(
        billed=m("s_billed"),
        estimated=m("s_estimated"),
        allocated=m("s_alloc_req") + m("s_bill_cost") - m("s_alloc_bill"),
        allocated_to_requests=m("s_alloc_req"),
        catalog_cost=m("s_catalog_cost"),
        catalog_billed=m("s_catalog_billed"),
        events=n("s_events"),
        request_rows=n("s_request_rows"),
        requests=n("s_requests"),
        req_tokens={t: n(f"s_req_{t}") for t in TOKEN_TYPES},
        bill_tokens={t: n(f"s_bill_{t}") for t in TOKEN_TYPES},
        bill_type_cost={t: m(f"s_btc_{t}") for t in TOKEN_TYPES},
        bill_type_tokens={t: n(f"s_btt_{t}") for t in TOKEN_TYPES},
        error_requests=n("s_error_requests"),
        throttled_requests=n("s_throttled_requests"),
        latency_count=n("s_latency_count"),
        latency_sum_ms=n("s_latency_sum_ms"),
        latency_buckets=[n(f"s_{name}") for name in LATENCY_BUCKETS],
        unpriced_requests=n("s_unpriced"),
    )


_CELL_FIELDS = ("record_kind", "cost_basis", "token_type", "unpriced", "events", "requests", "cost_usd",
                "allocated_cost_usd", "catalog_cost_usd", "catalog_billed_usd", "error_requests",
                "throttled_requests", "latency_count", "latency_sum_ms",
                *(f"{t}_tokens" for t in TOKEN_TYPES), *LATENCY_BUCKETS)  # fmt: skip


def _cell_sums(cell: dict[str, Any]) -> Sums:
    cost = cell["cost_usd"] or ZERO
    allocated = cell["allocated_cost_usd"] or ZERO
    kind = cell["record_kind"]
    s = Sums(
        billed=cost if cell["cost_basis"] == BILLED else ZERO,
        estimated=cost if cell["cost_basis"] == ESTIMATED else ZERO,
        allocated=allocated if kind == REQUEST else (cost - allocated if kind == BILL_LINE else ZERO),
        allocated_to_requests=allocated if kind == REQUEST else ZERO,
        catalog_cost=cell["catalog_cost_usd"] or ZERO,
        catalog_billed=cell["catalog_billed_usd"] or ZERO,
        events=cell["events"],
        request_rows=cell["events"] if kind == REQUEST else 0,
        requests=cell["requests"],
        error_requests=cell["error_requests"],
        throttled_requests=cell["throttled_requests"],
        latency_count=cell["latency_count"],
        latency_sum_ms=cell["latency_sum_ms"],
        latency_buckets=[cell[name] for name in LATENCY_BUCKETS],
        unpriced_requests=cell["requests"] if kind == REQUEST and cell["unpriced"] else 0,
    )
    target = s.req_tokens if kind == REQUEST else s.bill_tokens
    for t in TOKEN_TYPES:
        target[t] = cell[f"{t}_tokens"]
    if kind == BILL_LINE and cell["token_type"] in TOKEN_TYPES:
        t = cell["token_type"]
        s.bill_type_cost[t] = cost
        s.bill_type_tokens[t] = cell[f"{t}_tokens"]
    return s


def aggregate(qs: QuerySet, groups: dict[str, Any], *, detail: bool = True) -> dict[tuple[Any, ...], Sums]:
    """Sums per group: `groups` maps an alias to an expression (empty: one total under key ()). Without
    `detail`, only money, requests and tokens are summed (error, latency and per-type figures stay 0)."""
    names = list(groups)
    annotated = qs.annotate(**{f"k_{n}": e for n, e in groups.items()}) if groups else qs
    keys = [f"k_{n}" for n in names]
    out: dict[tuple[Any, ...], Sums] = {}
    if connection.vendor == "postgresql":
        rows = (
            annotated.values(*keys).annotate(**_pg_aggregates(detail)).order_by()
            if keys
            else [annotated.aggregate(**_pg_aggregates(detail))]
        )
        for row in rows:
            if not keys and not row.get("s_events"):
                continue
            out[tuple(_plain(row[k]) for k in keys)] = _pg_sums(row)
        return out
    for cell in annotated.values(*keys, *_CELL_FIELDS).iterator(chunk_size=5000):
        key = tuple(_plain(cell[k]) for k in keys)
        sums = out.get(key)
        if sums is None:
            out[key] = _cell_sums(cell)
        else:
            sums.add(_cell_sums(cell))
    return out


def _plain(value: Any) -> Any:
    """Group values as the API and URLs carry them: dates as ISO strings (Trunc on SQLite returns a
    datetime), blanks as ''."""
    if value is None:
        return ""
    if hasattr(value, "date") and callable(value.date):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- labels ---------------------------------------------------------------------------------------


def model_names() -> dict[str, str]:
    return dict(ModelCatalog.objects.values_list("model_id", "name"))


def label(dimension: str, value: str, *, names: dict[str, str] | None = None) -> str:
    if dimension == "model":
        return (names or {}).get(value, value) or "(unknown model)"
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


def data_dates(tenant: Tenant) -> dict[str, date | None]:
    """The latest usage date overall, billed and estimated."""
    qs = spend_cells(tenant).order_by("-usage_date").values_list("usage_date", flat=True)
    # Each walks the (tenant, usage_date) index backwards to its first match: no scan of the whole rollup.
    return {
        "latest": qs.first(),
        "billed": qs.filter(cost_basis=BILLED).first(),
        "estimated": qs.filter(cost_basis=ESTIMATED).first(),
    }


def latest_usage_date(tenant: Tenant) -> date | None:
    return spend_cells(tenant).aggregate(latest=Max("usage_date"))["latest"]


def first_dates(tenant: Tenant) -> dict[str, date | None]:
    """The first usage date overall, billed and estimated (where the tenant's data begins: budgets' forecasts
    treat days before it as unknown, not as $0)."""
    qs = spend_cells(tenant)
    return qs.aggregate(
        first=Min("usage_date"),
        billed=Min("usage_date", filter=Q(cost_basis=BILLED)),
        estimated=Min("usage_date", filter=Q(cost_basis=ESTIMATED)),
    )


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
    grouped = aggregate(cells(tenant, query), groups)
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
                labels={g: label(g, v, names=names) for g, v in keys.items()},
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
    if not stack:
        grouped = aggregate_cost(cells(tenant, query), {"period": period}, query.basis)
        values = {key: cost for (key,), cost in grouped.items()}
        return Series(periods, [{"key": "", "label": "Total", "values": [values.get(p, ZERO) for p in periods]}])
    if totals is None:
        ranking = aggregate_cost(cells(tenant, query), {"stack": group_expression(stack)}, query.basis)
        totals = {key: cost for (key,), cost in ranking.items()}
    ranked = sorted(totals, key=lambda k: (-totals[k], str(k)))
    shown = ranked[:top] if len(ranked) > top + 1 else ranked
    # The database folds every group past the top ones into "Other": a handful of rows per period come back
    # instead of one per (period, group), which is what kept a 90-day chart of thousands of users slow.
    if not shown:
        return Series(periods, [], stack)
    kept = Q(_stack__in=shown)
    if "" in shown:
        kept |= Q(_stack__isnull=True)
    bucket = Case(When(kept, then=F("_stack")), default=Value(OTHER), output_field=CharField())
    source = cells(tenant, query).annotate(_stack=group_expression(stack))
    grouped = aggregate_cost(source, {"period": period, "stack": bucket}, query.basis)
    names = model_names()
    by_group: dict[str, dict[str, Decimal]] = {k: {} for k in [*shown, OTHER]}
    for (key_period, key), cost in grouped.items():
        bucket_values = by_group[key if key in by_group else OTHER]
        bucket_values[key_period] = bucket_values.get(key_period, ZERO) + cost
    out = [
        {"key": k, "label": label(stack, k, names=names), "values": [by_group[k].get(p, ZERO) for p in periods]}
        for k in shown
    ]
    if by_group[OTHER]:
        out.append({"key": OTHER, "label": "Other", "values": [by_group[OTHER].get(p, ZERO) for p in periods]})
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


def daily_costs(tenant: Tenant, query: ExplorerQuery, *, start: date, end: date) -> dict[date, Decimal]:
    """Cost per day on the query's basis, filters applied, over [start, end] (budgets, forecasts)."""
    grouped = aggregate_cost(cells(tenant, query, start=start, end=end), {"day": F("usage_date")}, query.basis)
    return {date.fromisoformat(day): cost for (day,), cost in grouped.items()}


def totals(tenant: Tenant, query: ExplorerQuery) -> Sums:
    return aggregate(cells(tenant, query), {}).get((), Sums())


def dimension_values(tenant: Tenant, query: ExplorerQuery, dimension: str, *, limit: int = 200) -> list[str]:
    """The values a dimension takes in the query's range (for filter pickers), largest spend first."""
    grouped = aggregate_cost(cells(tenant, query), {"v": group_expression(dimension)}, query.basis)
    ranked = sorted(grouped, key=lambda k: (-grouped[k], str(k[0])))
    return [str(k[0]) for k in ranked[:limit]]


__all__ = [
    "Explored",
    "Row",
    "Series",
    "Sums",
    "UnitEconomics",
    "aggregate",
    "cells",
    "daily_costs",
    "data_dates",
    "dimension_values",
    "explore",
    "first_dates",
    "label",
    "latest_usage_date",
    "model_names",
    "percentile",
    "series",
    "spend_cells",
    "table",
    "totals",
    "unit_economics",
]
