"""Reads behind the dashboard pages, always scoped by tenant and built on the ledger selectors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, Max, Sum

from connections.models import Tenant
from finops.ledger.selectors import TOKEN_COLUMNS, ReportFilter, spend_events, spend_report

DEFAULT_DAYS = 30
TOP_N = 10
TOP_UNPRICED = 5
UNTAGGED = "(untagged)"
UNKNOWN_MODEL = "(unknown model)"


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
    billed_breakdown: list[tuple[str, Decimal]] = field(default_factory=list)
    billed_token_usage_usd: Decimal = Decimal(0)
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
    return spend_events(tenant=tenant).aggregate(latest=Max("usage_date"))["latest"]


def default_range(*, latest: date | None, today: date | None = None) -> tuple[date, date]:
    """The last DEFAULT_DAYS days that end at the tenant's latest usage date (today when there is none)."""
    end = latest or today or date.today()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _tokens(row: dict[str, Any]) -> int:
    return sum(int(row.get(column) or 0) for column in TOKEN_COLUMNS)


def _table_row(row: dict[str, Any], label: str) -> dict[str, Any]:
    return {
        "label": label,
        "billed_cost_usd": row["billed_cost_usd"],
        "estimated_cost_usd": row["estimated_cost_usd"],
        "requests": row["requests"],
        "tokens": _tokens(row),
        "unpriced_requests": row["unpriced_requests"],
    }


def _model_label(row: dict[str, Any]) -> str:
    return row.get("model_id") or row.get("model_ref") or UNKNOWN_MODEL


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


def unpriced_summary(*, tenant: Tenant, filters: ReportFilter) -> tuple[int, int, list[dict[str, Any]]]:
    """Unpriced requests, their tokens, and the model refs that most often lack a price. Two queries."""
    all_tokens = sum((F(column) for column in TOKEN_COLUMNS[1:]), start=F(TOKEN_COLUMNS[0]))
    unpriced = spend_events(tenant=tenant, filters=filters).filter(unpriced=True)
    totals = unpriced.aggregate(requests=Sum("requests"), tokens=Sum(all_tokens))
    top = (
        unpriced.values("model_ref", "model_id", "inference_profile_arn")
        .annotate(requests=Sum("requests"), tokens=Sum(all_tokens))
        .order_by("-requests", "-tokens", "model_ref", "model_id")[:TOP_UNPRICED]
    )
    models = []
    for row in top:
        kind, action = unpriced_action(row)
        models.append(
            {
                "label": row["model_ref"] or row["model_id"] or UNKNOWN_MODEL,
                "inference_profile_arn": row["inference_profile_arn"],
                "requests": int(row["requests"] or 0),
                "tokens": int(row["tokens"] or 0),
                "kind": kind,
                "action": action,
            }
        )
    return int(totals["requests"] or 0), int(totals["tokens"] or 0), models


def bill_checks(*, tenant: Tenant, filters: ReportFilter) -> tuple[int, Decimal, tuple[Decimal, Decimal] | None]:
    """Bill lines whose usage type was not understood (count, dollars), and billed against list price for
    the lines the catalog can price. Two queries; summed in Python so SQLite cannot round."""
    lines = spend_events(tenant=tenant, filters=filters).filter(record_kind="billed_line")
    unparsed = list(lines.filter(usage_category="unparsed").values_list("cost_usd", flat=True))
    compared = lines.filter(catalog_cost_usd__isnull=False).values_list("cost_usd", "catalog_cost_usd")
    billed = listed = Decimal(0)
    for cost, catalog_cost in compared.iterator(chunk_size=5000):
        billed += cost or Decimal(0)
        listed += catalog_cost
    return len(unparsed), sum((c or Decimal(0) for c in unparsed), Decimal(0)), (billed, listed) if listed else None


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


def billed_breakdown(rows: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """Billed dollars by kind of charge, from a report grouped by line_item_type and usage_category."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        if not row["billed_cost_usd"]:
            continue
        category = billed_category(row["line_item_type"] or "", row["usage_category"] or "")
        totals[category] = totals.get(category, Decimal(0)) + row["billed_cost_usd"]
    return [(label, totals[label]) for label in BREAKDOWN_ORDER if label in totals]


def overview(*, tenant: Tenant, start: date | None = None, end: date | None = None) -> Overview:
    """The overview for [start, end]; missing bounds default to the last 30 days that have data.

    A fixed number of queries whatever the data: the latest date, four grouped spend reports
    (two queries each on SQLite, one on PostgreSQL), two for unpriced requests and two bill checks."""
    latest = latest_usage_date(tenant=tenant)
    _, default_end = default_range(latest=latest)
    if end is None:
        # A start after the latest data still gets a full window rather than an inverted one.
        end = start + timedelta(days=DEFAULT_DAYS - 1) if start and start > default_end else default_end
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if latest is None:
        return Overview(start=start, end=end, has_data=False)

    filters = ReportFilter(start=start, end=end)
    daily = sorted(spend_report(tenant=tenant, group_by=["usage_date"], filters=filters), key=lambda r: r["usage_date"])
    models = spend_report(tenant=tenant, group_by=["model_id", "model_ref"], filters=filters)[:TOP_N]
    teams = spend_report(tenant=tenant, group_by=["team"], filters=filters)[:TOP_N]
    breakdown = billed_breakdown(
        spend_report(tenant=tenant, group_by=["line_item_type", "usage_category"], filters=filters)
    )
    unpriced_requests, unpriced_tokens, unpriced_models = unpriced_summary(tenant=tenant, filters=filters)
    unparsed_lines, unparsed_cost, list_comparison = bill_checks(tenant=tenant, filters=filters)

    # The period totals are the sums of the daily Decimals (exact), so the headline numbers and
    # the trend always agree; billed and estimated stay in separate sums.
    return Overview(
        start=start,
        end=end,
        has_data=True,
        billed_cost_usd=sum((r["billed_cost_usd"] for r in daily), start=Decimal(0)),
        estimated_cost_usd=sum((r["estimated_cost_usd"] for r in daily), start=Decimal(0)),
        requests=sum(r["requests"] for r in daily),
        tokens=sum(_tokens(r) for r in daily),
        unpriced_requests=unpriced_requests,
        unpriced_tokens=unpriced_tokens,
        unpriced_models=unpriced_models,
        billed_breakdown=breakdown,
        billed_token_usage_usd=dict(breakdown).get("Token usage", Decimal(0)),
        allocated_cost_usd=sum((r["allocated_cost_usd"] for r in daily), start=Decimal(0)),
        unparsed_lines=unparsed_lines,
        unparsed_cost_usd=unparsed_cost,
        list_comparison=list_comparison,
        daily=[
            {
                "usage_date": r["usage_date"],
                "billed_cost_usd": r["billed_cost_usd"],
                "estimated_cost_usd": r["estimated_cost_usd"],
            }
            for r in daily
        ],
        top_models=[_table_row(r, _model_label(r)) for r in models],
        top_teams=[_table_row(r, r["team"] or UNTAGGED) for r in teams],
    )
