"""What the explorer adds up per group (Sums) and the unit economics read off it. Pure, plus the
PostgreSQL aggregate expressions whose results `_pg_sums` reads and the per-cell Python sums `_cell_sums`
(SQLite, whose SUM of decimals is a float: there cells are summed in Python as Decimal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum

from finops.ledger.models import LATENCY_BUCKETS, LATENCY_EDGES_MS

ZERO = Decimal(0)
TOKEN_TYPES = ("input", "output", "cache_read", "cache_write")
BILLED, ESTIMATED, REQUEST, BILL_LINE = "billed", "estimated", "request", "billed_line"
METRIC = "metric"
BASES = ("billed", "estimated", "allocated")
# Every query that sums tokens groups by this column too (beside its own groups): see Sums.tokens.
SOURCE = "source"


@dataclass
class PlatformSums:
    """One platform's token counts inside a group: from its requests and from its bill lines (the same tokens
    twice where a platform has both: Bedrock's invocation logs and CUR, OpenAI's usage and costs); and its
    dollars per basis (billed, estimated, allocated), so a ratio over requests divides only the dollars of
    platforms that have requests."""

    request_rows: int = 0
    req: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 0))
    bill: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOKEN_TYPES, 0))
    cost: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BASES, ZERO))

    def add(self, other: PlatformSums) -> None:
        self.request_rows += other.request_rows
        for key in TOKEN_TYPES:
            self.req[key] += other.req[key]
            self.bill[key] += other.bill[key]
        for key in BASES:
            self.cost[key] += other.cost[key]

    @property
    def tokens(self) -> dict[str, int]:
        return self.req if self.request_rows else self.bill


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
    # Tokens per platform (the ledger's source): which of a platform's counts a group shows depends on that
    # platform alone, so Azure's or Vertex's bill-line tokens count beside Bedrock's request tokens.
    platforms: dict[str, PlatformSums] = field(default_factory=dict)

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
        for source, theirs in other.platforms.items():
            mine = self.platforms.get(source)
            if mine is None:
                self.platforms[source] = mine = PlatformSums()
            mine.add(theirs)

    def cost(self, basis: str) -> Decimal:
        return {"billed": self.billed, "estimated": self.estimated, "allocated": self.allocated}[basis]

    @property
    def tokens(self) -> dict[str, int]:
        """For each platform in the group, its requests' token counts when it has requests, else its bill
        lines': the same tokens are never counted twice, and a platform billed without requests (Azure OpenAI,
        Vertex AI) still counts (as in spend_report)."""
        out = dict.fromkeys(TOKEN_TYPES, 0)
        for platform in self.platforms.values():
            for key, count in platform.tokens.items():
                out[key] += count
        return out

    @property
    def token_source(self) -> str:
        """requests, billed, mixed (some platforms' tokens from requests, others' from bill lines), or ''."""
        kinds = {
            "requests" if p.request_rows else "billed"
            for p in self.platforms.values()
            if p.request_rows or any(p.bill.values())
        }
        return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "")

    def request_cost(self, basis: str) -> Decimal:
        """The dollars of the platforms that have requests here: what a cost per request divides (Azure's or
        Vertex's bill, which has no requests, is not spread over Bedrock's)."""
        return sum((p.cost[basis] for p in self.platforms.values() if p.request_rows), ZERO)

    @property
    def has_estimate(self) -> bool:
        """Whether anything here could be estimated: requests (priced or not) or estimated dollars. A platform
        billed without requests (Azure OpenAI, Vertex AI) has no estimate, which is not an estimate of $0."""
        return bool(self.request_rows or self.estimated)

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
        cost_per_request=_ratio(sums.request_cost(basis), sums.requests),
        cache_hit_rate=_ratio(tokens["cache_read"], tokens["input"] + tokens["cache_read"]),
        output_input_ratio=_ratio(tokens["output"], tokens["input"]),
        error_rate=_ratio(sums.error_requests, sums.requests),
        throttle_rate=_ratio(sums.throttled_requests, sums.requests),
        latency_p50_ms=percentile(sums.latency_buckets, 0.50),
        latency_p95_ms=percentile(sums.latency_buckets, 0.95),
        latency_mean_ms=_ratio(sums.latency_sum_ms, sums.latency_count),
    )


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

    req_tokens = {t: n(f"s_req_{t}") for t in TOKEN_TYPES}
    bill_tokens = {t: n(f"s_bill_{t}") for t in TOKEN_TYPES}
    billed, estimated = m("s_billed"), m("s_estimated")
    allocated = m("s_alloc_req") + m("s_bill_cost") - m("s_alloc_bill")
    platform = PlatformSums(
        request_rows=n("s_request_rows"),
        req=dict(req_tokens),
        bill=dict(bill_tokens),
        cost={"billed": billed, "estimated": estimated, "allocated": allocated},
    )
    return Sums(
        billed=billed,
        estimated=estimated,
        allocated=allocated,
        allocated_to_requests=m("s_alloc_req"),
        catalog_cost=m("s_catalog_cost"),
        catalog_billed=m("s_catalog_billed"),
        events=n("s_events"),
        request_rows=n("s_request_rows"),
        requests=n("s_requests"),
        req_tokens=req_tokens,
        bill_tokens=bill_tokens,
        bill_type_cost={t: m(f"s_btc_{t}") for t in TOKEN_TYPES},
        bill_type_tokens={t: n(f"s_btt_{t}") for t in TOKEN_TYPES},
        error_requests=n("s_error_requests"),
        throttled_requests=n("s_throttled_requests"),
        latency_count=n("s_latency_count"),
        latency_sum_ms=n("s_latency_sum_ms"),
        latency_buckets=[n(f"s_{name}") for name in LATENCY_BUCKETS],
        unpriced_requests=n("s_unpriced"),
        platforms={row.get(SOURCE) or "": platform},
    )


_CELL_FIELDS = (SOURCE, "record_kind", "cost_basis", "token_type", "unpriced", "events", "requests", "cost_usd",
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
    s.platforms[cell[SOURCE] or ""] = PlatformSums(
        request_rows=s.request_rows,
        req=dict(s.req_tokens),
        bill=dict(s.bill_tokens),
        cost={"billed": s.billed, "estimated": s.estimated, "allocated": s.allocated},
    )
    if kind == BILL_LINE and cell["token_type"] in TOKEN_TYPES:
        t = cell["token_type"]
        s.bill_type_cost[t] = cost
        s.bill_type_tokens[t] = cell[f"{t}_tokens"]
    return s


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
