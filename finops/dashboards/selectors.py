"""Reads behind the dashboard pages, always scoped by tenant: the daily rollup (SpendDaily), summed by the
explorer's `aggregate` (exact Decimal on both databases)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from connections.models import Tenant
from finops.explorer import selectors as explorer
from finops.explorer.grouping import aggregate_sets
from finops.explorer.selectors import Sums
from finops.ledger.models import SpendDaily
from finops.ledger.provider_catalog import BEDROCK, PLATFORMS

DEFAULT_DAYS = 30
TOP_N = 10
TOP_UNPRICED = 5
UNTAGGED = "(untagged)"
UNKNOWN_MODEL = "(unknown model)"
# The bill each platform's billed lines come from, as the overview names it.
BILL_NAMES = {
    BEDROCK: "AWS CUR",
    "azure_openai": "Azure cost export",
    "vertex": "Google Cloud billing export",
    "openai": "OpenAI cost report",
    "anthropic": "Anthropic cost report",
}


@dataclass(frozen=True)
class Overview:
    """Everything the overview page shows for one tenant and one date range (inclusive)."""

    start: date
    end: date
    has_data: bool  # the tenant has any spend at all, in any period
    billed_cost_usd: Decimal = Decimal(0)
    estimated_cost_usd: Decimal = Decimal(0)
    requests: int = 0
    tokens: int = 0
    unpriced_requests: int = 0
    unpriced_tokens: int = 0
    unpriced_models: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)
    top_models: list[dict[str, Any]] = field(default_factory=list)
    top_teams: list[dict[str, Any]] = field(default_factory=list)
    platforms: list[dict[str, Any]] = field(default_factory=list)  # spend by platform (the ledger's source)
    billed_breakdown: list[tuple[str, Decimal]] = field(default_factory=list)
    # Token usage billed on the platforms that have requests (an estimate to compare with); when none has, all.
    billed_token_usage_usd: Decimal = Decimal(0)
    # Platforms billed for tokens without requests in the period (Azure OpenAI, Vertex AI): their token usage
    # is left out of the comparisons with the estimate and of the coverage, and named beside them.
    billed_only: list[tuple[str, Decimal]] = field(default_factory=list)
    bill_sources: list[str] = field(default_factory=list)  # platforms with billed dollars, in PLATFORMS order
    allocated_cost_usd: Decimal = Decimal(0)  # billed token usage allocated to requests (reconciliation)
    unparsed_lines: int = 0
    unparsed_cost_usd: Decimal = Decimal(0)
    list_comparison: tuple[Decimal, Decimal] | None = None  # (billed, at list price) of the lines we can price

    @property
    def coverage_pct(self) -> Decimal | None:
        """How much of the billed token usage the invocation logs explain (allocated to requests)."""
        if not self.billed_token_usage_usd:
            return None
        return (self.allocated_cost_usd / self.billed_token_usage_usd * 100).quantize(Decimal("0.1"))

    @property
    def list_difference_pct(self) -> Decimal | None:
        """Billed against list price, in percent (negative: a discount such as private pricing or an EDP)."""
        if not self.list_comparison or not self.list_comparison[1]:
            return None
        billed, listed = self.list_comparison
        return ((billed - listed) / listed * 100).quantize(Decimal("0.1"))

    @property
    def bills_text(self) -> str:
        """Where the billed figure comes from: the bills of the platforms that have billed dollars."""
        if not self.bill_sources or self.bill_sources == [BEDROCK]:
            return "From the AWS bill (CUR)"
        return "From the bills: " + ", ".join(BILL_NAMES.get(s, PLATFORMS.get(s, s)) for s in self.bill_sources)

    @property
    def billed_only_text(self) -> str:
        """'Azure OpenAI, Vertex AI' for the platforms billed without requests."""
        return ", ".join(label for label, _ in self.billed_only)

    @property
    def billed_only_usd(self) -> Decimal:
        return sum((amount for _, amount in self.billed_only), Decimal(0))

    @property
    def multi_platform(self) -> bool:
        """More than one platform has spend in the period: the page then shows spend by platform."""
        return len(self.platforms) > 1

    @property
    def has_period_data(self) -> bool:
        return bool(self.daily)

    @property
    def difference_usd(self) -> Decimal:
        """Billed token usage minus the estimate: like for like, since requests carry token estimates
        only (provisioned throughput, tax and credits have no request to estimate from)."""
        return self.billed_token_usage_usd - self.estimated_cost_usd

    @property
    def difference_abs_usd(self) -> Decimal:
        return abs(self.difference_usd)

    @property
    def difference_pct(self) -> Decimal | None:
        """The difference as a percentage of the estimate; None when there is no estimate to compare to."""
        if not self.estimated_cost_usd:
            return None
        return (self.difference_usd / self.estimated_cost_usd * 100).quantize(Decimal("0.1"))


def latest_usage_date(*, tenant: Tenant) -> date | None:
    return explorer.latest_usage_date(tenant)


def default_range(*, latest: date | None, today: date | None = None) -> tuple[date, date]:
    """The last DEFAULT_DAYS days that end at the tenant's latest usage date (today when there is none)."""
    end = latest or today or date.today()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _table_row(sums: Sums, label: str, key: str) -> dict[str, Any]:
    """A top-table row; `key` is the group's value as the explorer filters on it (for the row's link)."""
    return {
        "label": label,
        "key": key,
        "billed_cost_usd": sums.billed,
        "estimated_cost_usd": sums.estimated,
        "requests": sums.requests,
        "tokens": sums.total_tokens,
        "unpriced_requests": sums.unpriced_requests,
        "has_estimate": sums.has_estimate,  # no requests, no estimate: shown as —, never $0
    }


def _top(grouped: dict[tuple[Any, ...], Sums], n: int = TOP_N) -> list[tuple[tuple[Any, ...], Sums]]:
    """The largest groups: billed dollars, then estimated (never added together)."""
    return sorted(grouped.items(), key=lambda item: (-item[1].billed, -item[1].estimated, item[0]))[:n]


def _model_label(model_id: str, model_ref: str, names: dict[str, str]) -> str:
    """The catalog's name for a resolved model (as the explorer shows it, with its platform when not Bedrock),
    else the reference as delivered."""
    if model_id:
        return explorer.label("model", model_id, names=names)
    return model_ref or UNKNOWN_MODEL


def unpriced_action(row: dict[str, Any]) -> tuple[str, str]:
    """(kind, what to do) for a group of unpriced requests."""
    arn = row.get("inference_profile_arn") or ""
    if "application-inference-profile/" in arn:
        return "profile", (
            "Application inference profile: the model behind it is read from the account's inventory once it "
            "syncs. Until then, map it to its model in the admin (Ledger › Model aliases: the ARN as alias, "
            "kind “Application inference profile”), then re-price."
        )
    if row.get("model_id"):
        return "price", (
            "The model is in the catalog but a token type it used has no price: add the price in the admin "
            "(Ledger › Model prices) or run sync_prices, then re-price."
        )
    return "model", (
        "This model is not in the catalog: run sync_prices (the AWS Price List adds new models), or add it and "
        "its price in the admin (Ledger › Catalog models), then re-price."
    )


def _cells(tenant: Tenant, start: date, end: date) -> QuerySet[SpendDaily]:
    # The smallest rollup with every column the page groups by (the coarse one: no user-level dimension).
    rollup = explorer.rollup_for(OVERVIEW_COLUMNS)
    return explorer.spend_cells(tenant, rollup=rollup).filter(usage_date__gte=start, usage_date__lte=end)


UNPRICED_SET = ("record_kind", "unpriced", "model_ref", "model_id", "inference_profile_arn")
BILL_CHECK_SET = ("record_kind", "usage_category")
OVERVIEW_COLUMNS = (
    "usage_date", "model_id", "model_ref", "team", "source", "line_item_type", *UNPRICED_SET, *BILL_CHECK_SET,
)  # fmt: skip


def unpriced_summary(*, tenant: Tenant, start: date, end: date) -> tuple[int, int, list[dict[str, Any]]]:
    """Unpriced requests, their tokens, and the model refs that most often lack a price. One query."""
    cells = _cells(tenant, start, end).filter(record_kind="request", unpriced=True)
    grouped = aggregate_sets(cells, {"unpriced": UNPRICED_SET})["unpriced"]
    return _unpriced(grouped)


def _unpriced(grouped: dict[tuple[Any, ...], Sums]) -> tuple[int, int, list[dict[str, Any]]]:
    """From sums grouped by UNPRICED_SET: the unpriced requests' count, tokens and top model refs."""
    mine = {
        (model_ref, model_id, profile): sums
        for (kind, unpriced, model_ref, model_id, profile), sums in grouped.items()
        if kind == "request" and unpriced
    }
    total = Sums()
    for sums in mine.values():
        total.add(sums)
    top = sorted(mine.items(), key=lambda item: (-item[1].requests, -item[1].total_tokens, item[0]))
    models = []
    for (model_ref, model_id, profile), sums in top[:TOP_UNPRICED]:
        row = {"model_ref": model_ref, "model_id": model_id, "inference_profile_arn": profile}
        kind, action = unpriced_action(row)
        models.append(
            {
                "label": model_ref or model_id or UNKNOWN_MODEL,
                "inference_profile_arn": profile,
                "requests": sums.requests,
                "tokens": sums.total_tokens,
                "kind": kind,
                "action": action,
            }
        )
    return total.requests, total.total_tokens, models


def bill_checks(*, tenant: Tenant, start: date, end: date) -> tuple[int, Decimal, tuple[Decimal, Decimal] | None]:
    """Bill lines whose usage type was not understood (count, dollars), and billed against list price for
    the lines the catalog can price. One query."""
    lines = _cells(tenant, start, end).filter(record_kind="billed_line")
    return _bill_checks(aggregate_sets(lines, {"bill": BILL_CHECK_SET})["bill"])


def _bill_checks(grouped: dict[tuple[Any, ...], Sums]) -> tuple[int, Decimal, tuple[Decimal, Decimal] | None]:
    unparsed, everything = Sums(), Sums()
    for (kind, usage_category), sums in grouped.items():
        if kind != "billed_line":
            continue
        everything.add(sums)
        if usage_category == "unparsed":
            unparsed.add(sums)
    comparison = (everything.catalog_billed, everything.catalog_cost) if everything.catalog_cost else None
    return unparsed.events, unparsed.billed, comparison


USAGE_LINE_TYPES = {"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}
BREAKDOWN_ORDER = (
    "Token usage",
    "Provisioned throughput",
    "Other usage",
    "Usage types not understood",
    "Credits, refunds, tax and fees",
)


def billed_category(line_item_type: str, usage_category: str) -> str:
    if line_item_type and line_item_type not in USAGE_LINE_TYPES:
        return "Credits, refunds, tax and fees"
    if usage_category == "tokens":
        return "Token usage"
    if usage_category in {"provisioned_throughput", "reserved_capacity"}:
        return "Provisioned throughput"
    if usage_category == "unparsed":
        return "Usage types not understood"
    return "Other usage"


BREAKDOWN_SET = ("source", "line_item_type", "usage_category")


def billed_breakdown(grouped: dict[tuple[Any, ...], Sums]) -> list[tuple[str, Decimal]]:
    """Billed dollars by kind of charge, from sums grouped by BREAKDOWN_SET."""
    totals: dict[str, Decimal] = {}
    for (_source, line_item_type, usage_category), sums in grouped.items():
        if not sums.billed:
            continue
        category = billed_category(line_item_type or "", usage_category or "")
        totals[category] = totals.get(category, Decimal(0)) + sums.billed
    return [(label, totals[label]) for label in BREAKDOWN_ORDER if label in totals]


def token_usage_by_platform(grouped: dict[tuple[Any, ...], Sums]) -> dict[str, Decimal]:
    """Billed token usage per platform, from sums grouped by BREAKDOWN_SET."""
    out: dict[str, Decimal] = {}
    for (source, line_item_type, usage_category), sums in grouped.items():
        if sums.billed and billed_category(line_item_type or "", usage_category or "") == "Token usage":
            out[source] = out.get(source, Decimal(0)) + sums.billed
    return out


def compared_token_usage(
    usage: dict[str, Decimal], platforms: dict[tuple[Any, ...], Sums]
) -> tuple[Decimal, list[tuple[str, Decimal]]]:
    """(token usage billed on the platforms that have requests, [(platform label, token usage) of those billed
    without requests]). The estimate and the allocation come from requests, so a platform without any (Azure
    OpenAI, Vertex AI: billed lines only) would read as a gap between bill and estimate that no one can close.
    When no platform has requests, every platform's usage is compared (and nothing is named apart)."""
    with_requests = {source for (source,), sums in platforms.items() if sums.has_estimate}
    if not with_requests:
        return sum(usage.values(), Decimal(0)), []
    compared = sum((amount for source, amount in usage.items() if source in with_requests), Decimal(0))
    apart = [
        (PLATFORMS.get(source, source), usage[source])
        for source in sorted(usage, key=lambda s: list(PLATFORMS).index(s) if s in PLATFORMS else len(PLATFORMS))
        if source not in with_requests and usage[source]
    ]
    return compared, apart


def overview(*, tenant: Tenant, start: date | None = None, end: date | None = None) -> Overview:
    """The overview for [start, end]; missing bounds default to the last 30 days that have data.

    Two queries over the daily rollup whatever the data: the latest date, then every grouping at once."""
    latest = latest_usage_date(tenant=tenant)
    _, default_end = default_range(latest=latest)
    if end is None:
        # A start after the latest data still gets a full window rather than an inverted one.
        end = start + timedelta(days=DEFAULT_DAYS - 1) if start and start > default_end else default_end
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if latest is None:
        return Overview(start=start, end=end, has_data=False)

    names = explorer.model_names()
    # Every grouping of the page in one scan of the rollup (GROUPING SETS on PostgreSQL).
    sets = aggregate_sets(
        _cells(tenant, start, end),
        {
            "daily": ("usage_date",),
            "models": ("model_id", "model_ref"),
            "teams": ("team",),
            "platforms": ("source",),
            "breakdown": BREAKDOWN_SET,
            "unpriced": UNPRICED_SET,
            "bill": BILL_CHECK_SET,
        },
    )
    daily = sorted(sets["daily"].items())
    models = _top(sets["models"])
    teams = _top(sets["teams"])
    platforms = _top(sets["platforms"], n=len(PLATFORMS) + 10)
    breakdown = billed_breakdown(sets["breakdown"])
    compared, billed_only = compared_token_usage(token_usage_by_platform(sets["breakdown"]), sets["platforms"])
    order = {source: n for n, source in enumerate(PLATFORMS)}
    bill_sources = sorted(
        (s for (s,), sums in sets["platforms"].items() if sums.billed), key=lambda s: order.get(s, 99)
    )
    unpriced_requests, unpriced_tokens, unpriced_models = _unpriced(sets["unpriced"])
    unparsed_lines, unparsed_cost, list_comparison = _bill_checks(sets["bill"])

    # The period totals are the sums of the daily Decimals (exact), so the headline numbers and
    # the trend always agree; billed and estimated stay in separate sums.
    return Overview(
        start=start,
        end=end,
        has_data=True,
        billed_cost_usd=sum((s.billed for _, s in daily), start=Decimal(0)),
        estimated_cost_usd=sum((s.estimated for _, s in daily), start=Decimal(0)),
        requests=sum(s.requests for _, s in daily),
        tokens=sum(s.total_tokens for _, s in daily),
        unpriced_requests=unpriced_requests,
        unpriced_tokens=unpriced_tokens,
        unpriced_models=unpriced_models,
        billed_breakdown=breakdown,
        billed_token_usage_usd=compared,
        billed_only=billed_only,
        bill_sources=bill_sources,
        allocated_cost_usd=sum((s.allocated_to_requests for _, s in daily), start=Decimal(0)),
        unparsed_lines=unparsed_lines,
        unparsed_cost_usd=unparsed_cost,
        list_comparison=list_comparison,
        daily=[
            {
                "usage_date": date.fromisoformat(day),
                "billed_cost_usd": s.billed,
                "estimated_cost_usd": s.estimated,
            }
            for (day,), s in daily
        ],
        top_models=[
            _table_row(s, _model_label(model_id, model_ref, names), model_id or model_ref)
            for (model_id, model_ref), s in models
        ],
        top_teams=[_table_row(s, team or UNTAGGED, team) for (team,), s in teams],
        platforms=[_table_row(s, PLATFORMS.get(source, source), source) for (source,), s in platforms],
    )
