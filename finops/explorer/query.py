"""What an explorer view asks for, and its round trip through a query string. Pure: no database.

A view is: a date range (explicit `start`/`end`, or a `preset`), up to two group-by dimensions (`g`),
filters (`f.<dim>=value` to include, `x.<dim>=value` to exclude; repeat for several values; an empty
value means "(none)"), a granularity for the chart (`gran`), a cost basis (`basis`), a sort and a page.
Every state is in the query string, so a view is a link; the API takes the same parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from finops.ledger.provider_catalog import PLATFORMS


class QueryError(ValueError):
    """A parameter that cannot be used; the message says which and what to send instead."""


@dataclass(frozen=True)
class Dimension:
    name: str  # public name, in URLs and the API
    label: str
    column: str  # SpendDaily column ("" for computed ones)
    group_only: bool = False  # time buckets: grouped by, not filtered on (the date range does that)


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("model", "Model", "model_id"),
        Dimension("family", "Model family", "model_family"),
        Dimension("tier", "Model tier", "model_tier"),
        Dimension("provider", "Provider", "model_provider"),
        Dimension("source", "Platform", "source"),
        Dimension("team", "Team", "team"),
        Dimension("application", "Application", "application"),
        Dimension("user", "User", "user_id"),
        Dimension("agent", "Agent", "agent_id"),
        Dimension("workflow", "Workflow", "workflow_id"),
        Dimension("principal", "IAM principal", "iam_principal"),
        Dimension("principal_type", "Principal type", "principal_type"),
        Dimension("account", "Account", "account_id"),
        Dimension("region", "Region", "region"),
        Dimension("inference_region", "Inference region", "inference_region"),
        Dimension("route", "Route", "route"),
        Dimension("service_tier", "Service tier", "service_tier"),
        Dimension("token_type", "Token type", "token_type"),
        Dimension("line_item_type", "Line item type", "line_item_type"),
        Dimension("cost_center", "Cost centre", "cost_center"),
        Dimension("environment", "Environment", "environment"),
        Dimension("operation", "Operation", "operation"),
        Dimension("usage_type", "Usage type", "usage_type"),
        Dimension("inference_profile", "Inference profile", "inference_profile_arn"),
        Dimension("record_kind", "Record kind", "record_kind"),
        Dimension("usage_category", "Usage category", "usage_category"),
        Dimension("date", "Date", "usage_date", group_only=True),
        Dimension("week", "Week", "", group_only=True),
        Dimension("month", "Month", "", group_only=True),
    )
}
TIME_DIMENSIONS = ("date", "week", "month")
GRANULARITIES = ("day", "week", "month")
BASES = {
    "billed": "Billed (CUR)",
    "estimated": "Estimated (requests at list price)",
    "allocated": "Allocated (billed dollars shared out to requests)",
}
PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "Month to date",
    "last_month": "Last month",
}
SORTS = ("cost", "requests", "tokens", "label")
MAX_GROUPS = 2
MAX_FILTER_VALUES = 200
MAX_RANGE_DAYS = 800
DEFAULT_PRESET = "30d"
PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class DimFilter:
    dimension: str
    values: tuple[str, ...]
    exclude: bool = False


@dataclass(frozen=True)
class ExplorerQuery:
    start: date
    end: date  # inclusive
    group_by: tuple[str, ...] = ("model",)
    filters: tuple[DimFilter, ...] = ()
    granularity: str = "day"
    basis: str = "billed"
    preset: str = ""  # the preset the range came from, kept so a link stays relative ("last 7 days")
    sort: str = "cost"
    page: int = 1
    page_size: int = PAGE_SIZE
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self) -> list[tuple[str, str]]:
        """The query string's parameters, in a stable order (defaults left out)."""
        out: list[tuple[str, str]] = []
        if self.preset:
            out.append(("preset", self.preset))
        else:
            out += [("start", self.start.isoformat()), ("end", self.end.isoformat())]
        out += [("g", g) for g in self.group_by]
        if not self.group_by:
            out.append(("g", ""))
        for f in self.filters:
            out += [(f"{'x' if f.exclude else 'f'}.{f.dimension}", v) for v in f.values]
        if self.granularity != "day":
            out.append(("gran", self.granularity))
        if self.basis != "billed":
            out.append(("basis", self.basis))
        if self.sort != "cost":
            out.append(("sort", self.sort))
        if self.page != 1:
            out.append(("page", str(self.page)))
        if self.page_size != PAGE_SIZE:
            out.append(("page_size", str(self.page_size)))
        return out

    def querystring(self, **changes: Any) -> str:
        return urlencode((replace(self, **changes) if changes else self).params())

    def with_filter(self, dimension: str, value: str, *, exclude: bool = False) -> ExplorerQuery:
        """This view with one more value filtered in (or out); the page goes back to 1."""
        filters = [f for f in self.filters if not (f.dimension == dimension and f.exclude == exclude)]
        current = next((f for f in self.filters if f.dimension == dimension and f.exclude == exclude), None)
        values = tuple(dict.fromkeys([*(current.values if current else ()), value]))
        filters.append(DimFilter(dimension, values, exclude))
        return replace(self, filters=tuple(filters), page=1)

    def without_filter(self, dimension: str, value: str | None = None, *, exclude: bool = False) -> ExplorerQuery:
        filters: list[DimFilter] = []
        for f in self.filters:
            if f.dimension == dimension and f.exclude == exclude:
                kept = tuple(v for v in f.values if value is not None and v != value)
                if kept:
                    filters.append(DimFilter(dimension, kept, exclude))
            else:
                filters.append(f)
        return replace(self, filters=tuple(filters), page=1)

    def drill(self, keys: Mapping[str, str]) -> ExplorerQuery:
        """Clicking a row or bar: its group values become filters and the group-by moves on (to the
        second group, or to the next useful dimension)."""
        query = self
        for dimension, value in keys.items():
            if dimension in TIME_DIMENSIONS:
                query = _narrow_to_period(query, dimension, value)
            else:
                query = query.with_filter(dimension, value)
        filtered = {f.dimension for f in query.filters if not f.exclude}
        remaining = [g for g in self.group_by if g not in keys]
        if not remaining:
            remaining = [next(d for d in DRILL_ORDER if d not in filtered and d not in keys)]
        return replace(query, group_by=tuple(remaining), page=1)

    def filter_values(self, dimension: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(included, excluded) values of a dimension."""
        inc = next((f.values for f in self.filters if f.dimension == dimension and not f.exclude), ())
        exc = next((f.values for f in self.filters if f.dimension == dimension and f.exclude), ())
        return inc, exc


# Where a drill-down goes next when the view had one group: from money owners to what they ran.
DRILL_ORDER = ("team", "application", "principal", "user", "agent", "model", "token_type", "date")


def _narrow_to_period(query: ExplorerQuery, dimension: str, value: str) -> ExplorerQuery:
    first = date.fromisoformat(value[:10])
    if dimension == "date":
        last = first
    elif dimension == "week":
        last = first + timedelta(days=6)
    else:
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return replace(query, start=max(first, query.start), end=min(last, query.end), preset="")


def preset_range(preset: str, *, latest: date) -> tuple[date, date]:
    """A preset's dates, relative to the tenant's latest data (a ledger a day behind still shows a
    full "last 7 days")."""
    if preset == "7d":
        return latest - timedelta(days=6), latest
    if preset == "30d":
        return latest - timedelta(days=29), latest
    if preset == "90d":
        return latest - timedelta(days=89), latest
    if preset == "mtd":
        return latest.replace(day=1), latest
    if preset == "last_month":
        end = latest.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise QueryError(f"Unknown preset {preset!r}: use one of {', '.join(PRESETS)}.")


def _date(raw: str, name: str) -> date:
    if len(raw) != 10:
        raise QueryError(f"{name}={raw!r} is not a date: use YYYY-MM-DD.")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise QueryError(f"{name}={raw!r} is not a date: use YYYY-MM-DD.") from exc


def _int(raw: str, name: str, *, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise QueryError(f"{name}={raw!r} is not a whole number.") from exc
    if not low <= value <= high:
        raise QueryError(f"{name}={value} is out of range ({low} to {high}).")
    return value


class _Params:
    """A QueryDict, a dict of lists or a list of pairs, read the same way."""

    def __init__(self, params: Any) -> None:
        if hasattr(params, "getlist"):
            self.pairs = [(k, v) for k in params for v in params.getlist(k)]
        elif isinstance(params, Mapping):
            self.pairs = [(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list | tuple) else [vs])]
        else:
            self.pairs = list(params)

    def get(self, name: str, default: str = "") -> str:
        values = self.getlist(name)
        return values[-1].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [str(v) for k, v in self.pairs if k == name]

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.pairs)


def parse_query(params: Any, *, latest: date | None, today: date | None = None) -> ExplorerQuery:
    """An ExplorerQuery from request parameters; QueryError (with what to send instead) on a bad one.
    `latest` is the tenant's latest usage date (presets count back from it)."""
    p = _Params(params)
    anchor = latest or today or date.today()
    preset = p.get("preset")
    start_raw, end_raw = p.get("start"), p.get("end")
    if preset and (start_raw or end_raw):
        raise QueryError("Send either preset or start/end, not both.")
    if start_raw or end_raw:
        end = _date(end_raw, "end") if end_raw else anchor
        start = _date(start_raw, "start") if start_raw else end - timedelta(days=29)
        preset = ""
    else:
        preset = preset or DEFAULT_PRESET
        start, end = preset_range(preset, latest=anchor)
    if start > end:
        raise QueryError(f"start ({start}) is after end ({end}).")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise QueryError(f"The range is {(end - start).days + 1} days; at most {MAX_RANGE_DAYS} at a time.")

    group_by = [g.strip() for g in p.getlist("g") for g in g.split(",")] if p.has("g") else ["model"]
    group_by = [g for g in dict.fromkeys(group_by) if g]
    unknown = [g for g in group_by if g not in DIMENSIONS]
    if unknown:
        raise QueryError(f"Unknown group-by {', '.join(unknown)}: choose from {', '.join(DIMENSIONS)}.")
    if len(group_by) > MAX_GROUPS:
        raise QueryError(f"Group by at most {MAX_GROUPS} dimensions (got {len(group_by)}).")
    if sum(1 for g in group_by if g in TIME_DIMENSIONS) > 1:
        raise QueryError("Group by at most one of date, week and month.")

    filters: dict[tuple[str, bool], list[str]] = {}
    for key, value in p.pairs:
        if not (key.startswith("f.") or key.startswith("x.")):
            continue
        dimension = key[2:]
        spec = DIMENSIONS.get(dimension)
        if spec is None:
            raise QueryError(f"Unknown filter {key}: filter on one of {', '.join(DIMENSIONS)}.")
        if spec.group_only:
            raise QueryError(f"{key}: filter dates with start and end (or a preset) instead.")
        values = filters.setdefault((dimension, key.startswith("x.")), [])
        value = str(value)
        if len(value) > 2048:
            raise QueryError(f"{key}: a value of {len(value)} characters is longer than any stored one.")
        if value not in values:
            values.append(value)
        if len(values) > MAX_FILTER_VALUES:
            raise QueryError(f"{key}: at most {MAX_FILTER_VALUES} values.")

    granularity = p.get("gran", "day") or "day"
    if granularity not in GRANULARITIES:
        raise QueryError(f"gran={granularity!r}: use one of {', '.join(GRANULARITIES)}.")
    basis = p.get("basis", "billed") or "billed"
    if basis not in BASES:
        raise QueryError(f"basis={basis!r}: use one of {', '.join(BASES)}.")
    sort = p.get("sort", "cost") or "cost"
    if sort not in SORTS:
        raise QueryError(f"sort={sort!r}: use one of {', '.join(SORTS)}.")
    page = _int(p.get("page", "1") or "1", "page", low=1, high=1_000_000)
    page_size = _int(p.get("page_size", str(PAGE_SIZE)) or str(PAGE_SIZE), "page_size", low=1, high=MAX_PAGE_SIZE)
    return ExplorerQuery(
        start=start,
        end=end,
        group_by=tuple(group_by),
        filters=tuple(DimFilter(d, tuple(v), exclude) for (d, exclude), v in filters.items()),
        granularity=granularity,
        basis=basis,
        preset=preset,
        sort=sort,
        page=page,
        page_size=page_size,
    )


def describe_filters(filters: Iterable[DimFilter]) -> list[str]:
    """Each filter in words, for the page and CSV headers."""
    out = []
    for f in filters:
        shown = (PLATFORMS.get(v, v) if f.dimension == "source" else v for v in f.values)
        values = ", ".join(v or "(none)" for v in shown)
        out.append(f"{DIMENSIONS[f.dimension].label} {'is not' if f.exclude else 'is'} {values}")
    return out
