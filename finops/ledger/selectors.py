"""Reads over the ledger, always scoped by tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, CharField, Count, Q, QuerySet, Sum, Value, When

from connections.models import Tenant
from finops.ledger.catalog import Catalog, CatalogModel, PriceEntry
from finops.ledger.models import ModelAlias, ModelCatalog, ModelPrice, SpendEvent


def catalog_load() -> Catalog:
    """The whole catalog in memory: three queries, whatever the number of rows priced later."""
    catalog = Catalog()
    aliases: dict[int, list[str]] = {}
    for model_pk, alias in ModelAlias.objects.values_list("model_id", "alias"):
        aliases.setdefault(model_pk, []).append(alias)
    pk_to_id: dict[int, str] = {}
    for m in ModelCatalog.objects.all():
        pk_to_id[m.pk] = m.model_id
        catalog.add_model(
            CatalogModel(
                model_id=m.model_id,
                name=m.name,
                provider=m.provider,
                family=m.family,
                tier=m.tier,
                lifecycle=m.lifecycle,
                regional_premium=m.regional_premium,
                long_context_threshold=m.long_context_threshold,
                platform=m.platform,
            ),
            # A name is an alias on its own platform only: "Claude Sonnet 4.5" is Bedrock's (CUR product names).
            aliases.get(m.pk, []) + [m.name if m.platform == "bedrock" else f"{m.platform}/{m.name}"],
        )
    for p in ModelPrice.objects.all():
        catalog.add_price(
            PriceEntry(
                model_id=pk_to_id[p.model_id],
                token_type=p.token_type,
                route=p.route,
                service_tier=p.service_tier,
                region=p.region,
                variant=p.variant,
                price_usd=p.price_usd,
                unit=p.unit,
                effective_from=p.effective_from,
                effective_to=p.effective_to,
                context=p.context,
                cache_ttl=p.cache_ttl,
                usage_type=p.usage_type,
            )
        )
    return catalog


# --- spend report ---------------------------------------------------------------------------------

GROUP_FIELDS = (
    "model_id",
    "model_ref",
    "model_family",
    "model_tier",
    "model_provider",
    "team",
    "application",
    "environment",
    "cost_center",
    "user_id",
    "agent_id",
    "workflow_id",
    "session_id",
    "iam_principal",
    "principal_name",
    "principal_type",
    "role_name",
    "account_id",
    "region",
    "inference_region",
    "route",
    "service_tier",
    "token_type",
    "usage_type",
    "operation",
    "line_item_type",
    "record_kind",
    "cost_basis",
    "source",
    "usage_date",
    "billing_period",
    "inference_profile_arn",
    "error_code",
    "usage_category",
    "context",
    # global or regional: the price class AWS bills by. A geographic profile's requests (route geo) and
    # the plain bill lines they are billed under (route in_region) meet here.
    "price_class",
)
COMPUTED_FIELDS = {
    "price_class": Case(
        When(route="global", then=Value("global")),
        When(route="", then=Value("")),
        default=Value("regional"),
        output_field=CharField(),
    ),
}
TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
REPORT_NUMBERS = (
    "billed_cost_usd",
    "estimated_cost_usd",
    *TOKEN_COLUMNS,
    "requests",
    "unpriced_requests",
)


class ReportError(ValueError):
    pass


@dataclass(frozen=True)
class ReportFilter:
    start: date | None = None
    end: date | None = None  # inclusive

    def apply(self, queryset: QuerySet[SpendEvent]) -> QuerySet[SpendEvent]:
        if self.start:
            queryset = queryset.filter(usage_date__gte=self.start)
        if self.end:
            queryset = queryset.filter(usage_date__lte=self.end)
        return queryset


def validate_group_by(group_by: list[str]) -> list[str]:
    unknown = [g for g in group_by if g not in GROUP_FIELDS]
    if unknown:
        raise ReportError(f"Unknown group-by field(s): {', '.join(unknown)}. Choose from: {', '.join(GROUP_FIELDS)}.")
    return list(dict.fromkeys(group_by))


def spend_events(*, tenant: Tenant, filters: ReportFilter | None = None) -> QuerySet[SpendEvent]:
    queryset = SpendEvent.objects.filter(tenant=tenant)
    return (filters or ReportFilter()).apply(queryset)


def spend_report(*, tenant: Tenant, group_by: list[str], filters: ReportFilter | None = None) -> list[dict[str, Any]]:
    """One dict per group: the group fields, billed and estimated dollars (never added together),
    token counts, requests and unpriced requests; sorted by billed then estimated dollars.

    Token counts are chosen per platform (source) inside each group: a platform's invocation-log (or usage)
    requests when it has any there, otherwise its bill lines (CUR, the Azure or Vertex exports), so the same
    tokens are never counted twice and a platform billed without requests still counts; `token_source` says
    which (requests, billed, or mixed when platforms differ)."""
    fields = validate_group_by(group_by)
    # Metric buckets (CloudWatch) carry no dollars and count again the calls requests and bills count.
    queryset = spend_events(tenant=tenant, filters=filters).exclude(record_kind=SpendEvent.RecordKind.METRIC)
    computed = {name: expression for name, expression in COMPUTED_FIELDS.items() if name in fields}
    if computed:
        queryset = queryset.annotate(**computed)
    billed = Q(cost_basis=SpendEvent.CostBasis.BILLED)
    estimated = Q(cost_basis=SpendEvent.CostBasis.ESTIMATED)
    request_rows = Q(record_kind=SpendEvent.RecordKind.REQUEST)
    aggregates: dict[str, Any] = {
        "n_requests": Sum("requests"),
        "n_unpriced_requests": Sum("requests", filter=request_rows & Q(unpriced=True)),
        "n_request_rows": Count("id", filter=request_rows),
    }
    for column in TOKEN_COLUMNS:
        aggregates[f"req_{column}"] = Sum(column, filter=request_rows)
        aggregates[f"bill_{column}"] = Sum(column, filter=~request_rows)
    exact_money = connection.vendor == "postgresql"
    if exact_money:
        aggregates["sum_billed"] = Sum("cost_usd", filter=billed)
        aggregates["sum_estimated"] = Sum("cost_usd", filter=estimated)
        aggregates["sum_allocated"] = Sum("allocated_cost_usd", filter=request_rows)
    # Grouped by platform too (tokens are chosen per platform, below), then each group's platforms are added up.
    by_platform = list(dict.fromkeys([*fields, "source"]))
    rows = _merge_platforms(queryset.values(*by_platform).annotate(**aggregates).order_by(*by_platform), fields)
    if not fields and not rows:
        rows = [{"platforms": {}}]
    if not exact_money:
        # SQLite has no exact decimal SUM: add the (exact, quantised) row values as Decimal here.
        money: dict[tuple[Any, ...], dict[str, Decimal]] = {}
        values = queryset.values_list(*fields, "cost_basis", "record_kind", "cost_usd", "allocated_cost_usd")
        for *key, basis, kind, cost, allocated in values.iterator(chunk_size=5000):
            bucket = money.setdefault(tuple(key), {"billed": Decimal(0), "estimated": Decimal(0)})
            if cost is not None:
                bucket[basis] += cost
            if allocated is not None and kind == SpendEvent.RecordKind.REQUEST:
                bucket["allocated"] = bucket.get("allocated", Decimal(0)) + allocated
        for row in rows:
            bucket = money.get(tuple(row[f] for f in fields), {})
            row["sum_billed"] = bucket.get("billed")
            row["sum_estimated"] = bucket.get("estimated")
            row["sum_allocated"] = bucket.get("allocated")
    result = []
    for row in rows:
        out: dict[str, Any] = {f: row[f] for f in fields}
        out["billed_cost_usd"] = row.get("sum_billed") or Decimal(0)
        out["estimated_cost_usd"] = row.get("sum_estimated") or Decimal(0)
        # Billed dollars allocated to the group's requests (reconciliation); blank before any is billed.
        out["allocated_cost_usd"] = row.get("sum_allocated") or Decimal(0)
        sources: set[str] = set()
        for column in TOKEN_COLUMNS:
            out[column] = 0
        for platform in row["platforms"].values():
            side = "req" if platform.get("n_request_rows") else "bill"
            counts = {column: int(platform.get(f"{side}_{column}") or 0) for column in TOKEN_COLUMNS}
            if side == "req" or any(counts.values()):
                sources.add("requests" if side == "req" else "billed")
            for column, count in counts.items():
                out[column] += count
        out["requests"] = int(row.get("n_requests") or 0)
        out["unpriced_requests"] = int(row.get("n_unpriced_requests") or 0)
        out["token_source"] = sources.pop() if len(sources) == 1 else ("mixed" if sources else "")
        result.append(out)
    if not fields and not result[0]["requests"] and not queryset.exists():
        return []
    result.sort(key=lambda r: (-r["billed_cost_usd"], -r["estimated_cost_usd"]))
    return result


def _merge_platforms(grouped: Any, fields: list[str]) -> list[dict[str, Any]]:
    """Rows grouped by `fields` and source, as one row per group of `fields`: the counts added up, and each
    platform's own row kept under "platforms" (its token counts are chosen by itself)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in grouped:
        key = tuple(row[f] for f in fields)
        out = merged.get(key)
        if out is None:
            out = merged[key] = {**{f: row[f] for f in fields}, "platforms": {}}
        out["platforms"][row["source"]] = row
        for name, value in row.items():
            if name not in fields and name != "source" and value is not None:
                out[name] = out.get(name, 0) + value
    return list(merged.values())


# --- raw events (the API's event list) -------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    start: date | None = None
    end: date | None = None  # inclusive (usage date)
    record_kind: str = ""
    model: str = ""  # canonical model id, or the model as delivered when it was not resolved
    team: str = ""
    application: str = ""
    principal: str = ""  # IAM principal ARN
    request_id: str = ""


def events_after(*, tenant: Tenant, filters: EventFilter, after_id: int | None, limit: int) -> list[SpendEvent]:
    """Up to `limit` of the tenant's ledger rows that pass the filters, in id order, after `after_id`."""
    queryset = ReportFilter(filters.start, filters.end).apply(SpendEvent.objects.filter(tenant=tenant))
    if filters.record_kind:
        queryset = queryset.filter(record_kind=filters.record_kind)
    if filters.model:
        queryset = queryset.filter(Q(model_id=filters.model) | Q(model_id="", model_ref=filters.model))
    for name, column in (("team", "team"), ("application", "application"), ("principal", "iam_principal"),
                         ("request_id", "request_id")):  # fmt: skip
        value = getattr(filters, name)
        if value:
            queryset = queryset.filter(**{column: value})
    if after_id is not None:
        queryset = queryset.filter(id__gt=after_id)
    return list(queryset.order_by("id")[:limit])
