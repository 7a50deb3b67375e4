"""Reads for the recommendations: the ledger rows a run needs, and the cards; always scoped by tenant."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from connections.models import Tenant
from finops.ledger.models import ModelCatalog, SpendEvent
from finops.ledger.selectors import catalog_load
from ingestion.models import ImportRun
from inventory.selectors import model_lifecycles
from recommendations.inputs import BillLine, Inputs, Request, Restatement
from recommendations.models import Recommendation

REQUEST_FIELDS = (
    "request_id", "usage_start", "usage_date", "account_id", "region", "model_id", "model_tier", "model_provider",
    "model_family", "route", "service_tier", "operation", "application", "team", "agent_id", "workflow_id",
    "session_id", "iam_principal", "principal_name", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cost_usd", "stop_reason", "prefix_hash", "prefix_chars", "uses_caching", "error_code",
    "inference_profile_arn",
)  # fmt: skip
BILL_FIELDS = (
    "usage_date", "account_id", "region", "model_id", "usage_type", "usage_category", "token_type", "service_tier",
    "line_item_type", "cost_usd", "units", "unit", "inference_profile_arn", "iam_principal",
)  # fmt: skip


def latest_usage_date(*, tenant: Tenant) -> date | None:
    """The last day with requests or bill lines (metric buckets, which CloudWatch has up to the hour, are not
    what the recommenders read)."""
    rows = SpendEvent.objects.filter(tenant=tenant).exclude(record_kind=SpendEvent.RecordKind.METRIC)
    return rows.order_by("-usage_date").values_list("usage_date", flat=True).first()


def recommender_inputs(*, tenant: Tenant, as_of: date, window_days: int = 30) -> Inputs:
    """The window's requests and bill lines (three queries, streamed), the catalog, the settings and the
    inventory's model lifecycles."""
    start = as_of - timedelta(days=window_days - 1)
    events = SpendEvent.objects.filter(tenant=tenant, usage_date__gte=start, usage_date__lte=as_of)
    requests = [
        Request(**dict(zip(REQUEST_FIELDS, values, strict=True)))
        for values in events.filter(record_kind=SpendEvent.RecordKind.REQUEST)
        .values_list(*REQUEST_FIELDS)
        .iterator(chunk_size=5000)
    ]
    bills = []
    for values in (
        events.filter(record_kind=SpendEvent.RecordKind.BILLED_LINE).values_list(*BILL_FIELDS).iterator(chunk_size=5000)
    ):
        row = dict(zip(BILL_FIELDS, values, strict=True))
        row["resource_arn"] = row.pop("inference_profile_arn")
        row["cost_usd"] = row["cost_usd"] or Decimal(0)
        bills.append(BillLine(**row))
    return Inputs(
        as_of=as_of,
        requests=requests,
        bills=bills,
        catalog=catalog_load(),
        window_days=window_days,
        tokens_per_model_unit=dict(
            ModelCatalog.objects.exclude(pt_tokens_per_minute=None).values_list("model_id", "pt_tokens_per_minute")
        ),
        restatements=restatements(tenant=tenant),
        lifecycles=model_lifecycles(tenant=tenant),
    )


def restatements(*, tenant: Tenant) -> list[Restatement]:
    found = []
    for run in ImportRun.objects.filter(tenant=tenant).exclude(restatements=[]).order_by("started_at"):
        for entry in run.restatements:
            found.append(
                Restatement(
                    billing_period=date.fromisoformat(f"{entry['billing_period']}-01"),
                    delivered_on=run.started_at.date(),
                    before_usd=Decimal(entry["before_usd"]),
                    after_usd=Decimal(entry["after_usd"]),
                    rows_removed=int(entry["rows_removed"]),
                    rows_added=int(entry["rows_added"]),
                )
            )
    return found


def recommendations_for(*, tenant: Tenant, kind: str = "", status: str = "") -> QuerySet[Recommendation]:
    cards = Recommendation.objects.filter(tenant=tenant)
    if kind:
        cards = cards.filter(kind=kind)
    if status:
        cards = cards.filter(status=status)
    return cards


def savings_on_offer(*, tenant: Tenant) -> dict[str, Any]:
    """Open cards: their total monthly savings and the top three by value."""
    cards = sorted(
        Recommendation.objects.filter(tenant=tenant, status=Recommendation.Status.OPEN),
        key=lambda c: c.value_usd,
        reverse=True,
    )
    total = sum((c.monthly_savings_usd or Decimal(0) for c in cards), Decimal(0))
    return {"total_savings_usd": total, "open": len(cards), "top": cards[:3]}


def scope_daily_cost(*, tenant: Tenant, scope: dict[str, str], start: date, end: date) -> Decimal | None:
    """Average daily dollars of a card's scope (requests' estimates, else bill lines), start..end inclusive."""
    fields = {f.name for f in SpendEvent._meta.get_fields()}
    filters = {k: v for k, v in scope.items() if k in fields}
    if not filters or end < start:
        return None
    rows = SpendEvent.objects.filter(tenant=tenant, usage_date__gte=start, usage_date__lte=end, **filters)
    costs = list(rows.filter(record_kind=SpendEvent.RecordKind.REQUEST).values_list("cost_usd", flat=True))
    if not costs:
        costs = list(rows.filter(record_kind=SpendEvent.RecordKind.BILLED_LINE).values_list("cost_usd", flat=True))
    days = (end - start).days + 1
    return (sum((c or Decimal(0) for c in costs), Decimal(0)) / days).quantize(Decimal("0.0001"))


def recommendations_naming(
    *, tenant: Tenant, matches: dict[str, list[str]], status: str = Recommendation.Status.OPEN
) -> QuerySet[Recommendation]:
    """Cards whose scope names one of the values under its key (e.g. {"iam_principal": [arn]}): the
    recommendations of one principal, application, agent or model, for its page."""
    condition = Q()
    for key, values in matches.items():
        if not key.isidentifier() or not values:  # the key becomes part of a JSON lookup
            continue
        condition |= Q(**{f"scope__{key}__in": list(values)})
    if not condition:
        return Recommendation.objects.none()
    cards = Recommendation.objects.filter(condition, tenant=tenant)
    return cards.filter(status=status) if status else cards
