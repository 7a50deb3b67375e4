"""Reads for budgets: a tenant's budgets, and where a budget stands (actual to date, forecast with its band,
backtest, thresholds crossed), read from the explorer's daily costs for the budget's scope and basis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from budgets import forecast as fc
from budgets.models import Budget, BudgetAlert
from connections.models import Tenant
from finops.explorer.query import DIMENSIONS, ExplorerQuery
from finops.explorer.selectors import daily_costs, data_dates, dimension_values, first_dates

ZERO = Decimal(0)
BASIS_WORDS = {
    "allocated": "allocated dollars (the bill shared out to requests)",
    "billed": "billed dollars (CUR)",
    "estimated": "estimated dollars (requests at list price)",
}
# Allocated dollars come from the bill (requests after the last billed day are not allocated yet).
DATES_OF_BASIS = {"billed": "billed", "allocated": "billed", "estimated": "estimated"}


def budgets_for(*, tenant: Tenant) -> QuerySet[Budget]:
    """The tenant's budgets, each with its latest alert's time (`last_alert_at`)."""
    latest = BudgetAlert.objects.filter(budget=OuterRef("pk")).order_by("-sent_at").values("sent_at")[:1]
    return Budget.objects.filter(tenant=tenant).annotate(last_alert_at=Subquery(latest)).order_by("name")


def budget_for(*, tenant: Tenant, pk: int) -> Budget:
    """The tenant's budget; 404 for another tenant's (or no) budget."""
    budget = Budget.objects.filter(tenant=tenant, pk=pk).first()
    if budget is None:
        raise Http404("No such budget.")
    return budget


def budget_alerts(*, budget: Budget) -> QuerySet[BudgetAlert]:
    return BudgetAlert.objects.filter(budget=budget).order_by("-period_start", "-sent_at", "-id")


def known_dates(*, tenant: Tenant) -> dict[str, dict[str, date | None]]:
    """Per basis: the first day of data and the last (the days in between are known; the rest are not)."""
    first, last = first_dates(tenant), data_dates(tenant)
    return {
        basis: {"first": first[key], "last": last[key]}  # type: ignore[index]
        for basis, key in DATES_OF_BASIS.items()
    }


def today() -> date:
    return timezone.now().date()


AS_OF_RANGE = (date(2000, 1, 1), date(2100, 12, 31))


def as_of_checked(as_of: date | None) -> date | None:
    """`as_of` if it is a day budgets can be evaluated on; ValueError (in words) otherwise."""
    if as_of is not None and not AS_OF_RANGE[0] <= as_of <= AS_OF_RANGE[1]:
        raise ValueError(f"as_of {as_of} is out of range: use a date from {AS_OF_RANGE[0]} to {AS_OF_RANGE[1]}.")
    return as_of


def period_label(start: date, period: str) -> str:
    if period == "quarterly":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%B %Y}"


@dataclass(frozen=True)
class ThresholdState:
    kind: str  # "actual" or "forecast"
    pct: int
    amount_usd: Decimal  # the dollars at which it is crossed
    value_usd: Decimal | None  # the actual spend or the forecast it is compared with
    crossed: bool

    @property
    def label(self) -> str:
        return f"{self.kind} {self.pct}%"


@dataclass
class BudgetStatus:
    budget: Budget
    as_of: date
    first_day: date | None
    known_through: date | None  # of the basis, tenant-wide
    forecast: fc.Forecast
    backtest: fc.Backtest
    daily: dict[date, Decimal]  # the period's known days (for the chart)
    thresholds: list[ThresholdState] = field(default_factory=list)

    @property
    def period_start(self) -> date:
        return self.forecast.period_start

    @property
    def period_end(self) -> date:
        return self.forecast.period_end

    @property
    def period_label(self) -> str:
        return period_label(self.period_start, self.budget.period)

    @property
    def actual_usd(self) -> Decimal:
        return self.forecast.actual

    @property
    def forecast_usd(self) -> Decimal | None:
        return self.forecast.total

    @property
    def has_data(self) -> bool:
        return self.known_through is not None

    @property
    def pct_used(self) -> Decimal:
        return self.actual_usd / self.budget.amount_usd * 100

    @property
    def forecast_pct(self) -> Decimal | None:
        return None if self.forecast_usd is None else self.forecast_usd / self.budget.amount_usd * 100

    @property
    def crossed(self) -> list[ThresholdState]:
        return [t for t in self.thresholds if t.crossed]

    @property
    def status(self) -> str:
        """over (spent the amount), at_risk (forecast over it, or a threshold crossed), ok, or no_data."""
        if not self.has_data:
            return "no_data"
        if self.actual_usd >= self.budget.amount_usd:
            return "over"
        if (self.forecast_usd is not None and self.forecast_usd >= self.budget.amount_usd) or self.crossed:
            return "at_risk"
        return "ok"

    @property
    def colour(self) -> str:
        return {"over": "red", "at_risk": "amber", "ok": "green"}.get(self.status, "grey")

    @property
    def status_words(self) -> str:
        return {
            "over": "Over budget",
            "at_risk": "At risk",
            "ok": "On track",
            "no_data": "No data yet",
        }[self.status]

    @property
    def weekday_factors(self) -> list[tuple[str, Decimal]]:
        fit = self.forecast.fit
        if fit is None or all(f == 1 for f in fit.factors):
            return []
        return list(zip(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), fit.factors, strict=True))

    @property
    def lagging_days(self) -> int:
        """Days of the period up to as_of that have no data yet (the bill arrives a day or more late)."""
        if self.known_through is None:
            return 0
        last = min(self.as_of, self.period_end)
        return max(0, (last - max(self.known_through, self.period_start - timedelta(days=1))).days)


def history_start(period_start: date, period: str) -> date:
    """How far back a status reads: the backtest's periods and the history before the first of them."""
    start = period_start
    for _ in range(fc.BACKTEST_PERIODS[period]):
        start, _ = fc.previous_period(start, period)
    return start - timedelta(days=fc.HISTORY_DAYS + fc.BAND_CUTOFFS)


def explorer_query(budget: Budget, start: date, end: date) -> ExplorerQuery:
    """The budget's scope and basis as an explorer view of [start, end] (also the page's explorer link)."""
    return ExplorerQuery(start=start, end=end, filters=budget.filters, basis=budget.basis)


def budget_status(
    *, budget: Budget, as_of: date | None = None, dates: dict[str, dict[str, date | None]] | None = None
) -> BudgetStatus:
    """Where the budget stands on `as_of` (default today): one read of the scope's daily costs."""
    as_of = as_of_checked(as_of) or today()
    dates = dates or known_dates(tenant=budget.tenant)
    first_day, known_through = dates[budget.basis]["first"], dates[budget.basis]["last"]
    if known_through is not None:
        known_through = min(known_through, as_of)
    start, end = fc.period_bounds(as_of, budget.period)
    read_from = history_start(start, budget.period)
    daily = daily_costs(budget.tenant, explorer_query(budget, read_from, end), start=read_from, end=min(as_of, end))
    forecast = fc.forecast_period(
        daily, first_day=first_day, known_through=known_through, as_of=as_of, period=budget.period
    )
    backtest = fc.backtest(daily, first_day=first_day, known_through=known_through, as_of=as_of, period=budget.period)
    status = BudgetStatus(
        budget=budget,
        as_of=as_of,
        first_day=first_day,
        known_through=known_through,
        forecast=forecast,
        backtest=backtest,
        daily={d: v for d, v in daily.items() if start <= d <= (forecast.cutoff or start)},
    )
    status.thresholds = thresholds_state(budget, forecast)
    return status


def thresholds_state(budget: Budget, forecast: fc.Forecast) -> list[ThresholdState]:
    out = []
    for t in budget.thresholds or []:
        kind, pct = t["kind"], int(t["pct"])
        line = budget.amount_usd * pct / 100
        value = forecast.actual if kind == "actual" else forecast.total
        crossed = forecast.cutoff is not None and value is not None and value >= line
        out.append(ThresholdState(kind, pct, line, value, crossed))
    return out


HINT_DIMENSIONS = ("team", "application", "model", "account", "user", "cost_center")


def known_values(*, tenant: Tenant, days: int = 90, limit: int = 30) -> list[tuple[str, str]]:
    """(value, dimension label) of the dimensions budgets are usually scoped by, most spend first, from the last
    `days` of data: suggestions for the form's scope rows."""
    latest = data_dates(tenant)["latest"]
    if latest is None:
        return []
    query = ExplorerQuery(start=latest - timedelta(days=days - 1), end=latest)
    return [
        (value, DIMENSIONS[dimension].label)
        for dimension in HINT_DIMENSIONS
        for value in dimension_values(tenant, query, dimension, limit=limit)
        if value
    ]


def budgets_covering(*, tenant: Tenant, dimension: str, value: str, as_of: date | None = None) -> list[dict]:
    """Budgets whose scope names this entity (an include filter on `dimension` with `value`), for the explorer's
    entity pages: name, amount, actual and forecast of the current period, and the budget page's link."""
    from django.urls import reverse

    covering = [
        b
        for b in budgets_for(tenant=tenant)
        if any(f["dimension"] == dimension and not f.get("exclude") and value in f["values"] for f in b.scope or [])
    ]
    if not covering:
        return []
    dates = known_dates(tenant=tenant)
    out = []
    for budget in covering:
        status = budget_status(budget=budget, as_of=as_of, dates=dates)
        out.append(
            {
                "name": budget.name,
                "amount": budget.amount_usd,
                "actual": status.actual_usd,
                "forecast": status.forecast_usd,
                "link": reverse("budgets:detail", kwargs={"tenant_slug": tenant.slug, "pk": budget.pk}),
            }
        )
    return out


def budget_statuses(*, tenant: Tenant, as_of: date | None = None) -> list[BudgetStatus]:
    dates = known_dates(tenant=tenant)
    return [budget_status(budget=b, as_of=as_of, dates=dates) for b in budgets_for(tenant=tenant)]
