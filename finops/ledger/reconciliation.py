"""Reconciliation: billed dollars allocated down to the requests that caused them, so chargeback sums
to the invoice. See DESIGN.md, "Cost truth".

A bucket is (usage date, account, source region, model, token type, price class, service tier, IAM
principal): the dimensions a CUR usage line and an invocation-log request share. Each bucket's billed
dollars are split over its requests in proportion to their estimated cost of that token type (their
tokens of that type when no price is known); the split is exact to 1e-10 dollars (largest remainder),
so the allocations of a bucket add up to its bill. A bill line with no requests in its bucket stays
*unattributed*; a request whose bucket has no bill line yet is *not yet billed* (allocation blank).
When the bill has no IAM principal (the data was not turned on), a bucket without one takes every
request of its other dimensions. Nothing is dropped and nothing is counted twice.

Every bucket also carries the row's `source` and, for other providers, its billing scope (the
`billing_scope` tag: provider connection and OpenAI project / Anthropic workspace), so Bedrock bills never
pay for OpenAI requests and one project's costs go only to that project's usage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, Count, F, Q, Sum, Value, When

from connections.models import Tenant
from finops.ledger.bulk import bulk_set_rows
from finops.ledger.catalog import Catalog, price_class
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild

QUANTUM = Decimal("1e-10")
USAGE_LINE_TYPES = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
REQUEST_TOKENS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
}
# Tag-mapped dimensions a request without its own takes from its principal's bill lines.
PRINCIPAL_DIMENSIONS = ("team", "application", "cost_center", "environment")

Bucket = tuple[Any, ...]  # source, scope, date, account, region, model, token type, price class, tier, principal
SCOPE_TAG = "billing_scope"


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split `total` in proportion to `weights`, each share a multiple of 1e-10, the shares adding up
    to `total` exactly (largest remainder). Weights must be non-negative with a positive sum."""
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        raise ValueError("allocate needs a positive total weight")
    units = (total / QUANTUM).to_integral_value()
    exact = [units * w / weight_sum for w in weights]
    floors = [e.to_integral_value(rounding=ROUND_FLOOR) for e in exact]
    left = int(units - sum(floors, Decimal(0)))
    order = sorted(range(len(weights)), key=lambda i: (exact[i] - floors[i], weights[i]), reverse=True)
    for i in order[:left] if left >= 0 else []:
        floors[i] += 1
    return [f * QUANTUM for f in floors]


def base_token_type(token_type: str) -> str:
    """input_video -> input: a bill line of any modality meets the request's input or output tokens."""
    return token_type.split("_", 1)[0] if token_type.startswith(("input_", "output_")) else token_type


def bill_bucket(row: dict[str, Any]) -> Bucket:
    return (
        row["usage_date"],
        row["account_id"],
        row["region"],
        row["model_id"],
        base_token_type(row["token_type"]),
        price_class(row["route"]),
        row["service_tier"],
        row["iam_principal"],
    )


@dataclass
class Reconciliation:
    period: date
    billed_usage_usd: Decimal = Decimal(0)
    allocated_usd: Decimal = Decimal(0)
    unattributed_usd: Decimal = Decimal(0)
    requests_allocated: int = 0
    requests_not_yet_billed: int = 0
    dimensions_filled: int = 0
    buckets: int = 0
    rows_changed: int = 0  # rows whose allocation or dimensions this run changed
    unattributed_buckets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def coverage(self) -> Decimal | None:
        """Share of the billed token usage that requests explain."""
        if not self.billed_usage_usd:
            return None
        return (self.allocated_usd / self.billed_usage_usd * 100).quantize(Decimal("0.1"))


TOKEN_KEYS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")


class _Prices:
    """The catalog's price per token of each type, looked up once per (model, day, route, tier, region,
    context) in a reconciliation run instead of once per request: `costs` gives what `estimate_by_type`
    gives (per-unit price times tokens, only the types that have a price), at a fifth of the time."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.units: dict[tuple[Any, ...], dict[str, Decimal | None]] = {}

    def costs(self, row: dict[str, Any], tokens: dict[str, int]) -> dict[str, Decimal]:
        catalog = self.catalog
        context = catalog.request_context(row["model_id"], tokens)
        key = (row["model_id"], row["usage_date"], row["route"], row["service_tier"], row["region"], context)
        units = self.units.get(key)
        if units is None:
            model_id, on, route, tier, region, _ = key
            units = self.units[key] = {
                name: catalog.unit_price(
                    name, model_id=model_id, on=on, route=route, service_tier=tier, region=region, context=context
                )
                for name in TOKEN_KEYS
            }
        return {name: units[name] * count for name, count in tokens.items() if count and units[name] is not None}


def _request_weights(row: dict[str, Any], prices: _Prices) -> dict[str, Decimal]:
    """Per token type: the request's estimated cost of it, or its tokens when no price is known."""
    counts = {t: int(row[column] or 0) for t, column in REQUEST_TOKENS.items()}
    one_hour = int(row["cache_write_1h_tokens"] or 0)
    tokens = {**counts, "cache_write": counts["cache_write"] - one_hour, "cache_write_1h": one_hour}
    costs = prices.costs(row, tokens) if row["model_id"] else {}
    weights: dict[str, Decimal] = {}
    for token_type, count in counts.items():
        if not count:
            continue
        if token_type == "cache_write":
            cost = costs.get("cache_write", Decimal(0)) + costs.get("cache_write_1h", Decimal(0))
            priced = "cache_write" in costs or "cache_write_1h" in costs
        else:
            cost, priced = costs.get(token_type, Decimal(0)), token_type in costs
        weights[token_type] = cost if priced and cost > 0 else Decimal(count)
    return weights


BILL_FIELDS = ("id", "source", "usage_date", "account_id", "region", "model_id", "token_type", "route", "service_tier",
               "iam_principal", "cost_usd", "allocated_cost_usd", *PRINCIPAL_DIMENSIONS)  # fmt: skip
REQUEST_FIELDS = ("id", "source", "usage_date", "account_id", "region", "model_id", "route", "service_tier",
                  "iam_principal", "cache_write_1h_tokens", "allocated_cost_usd", *REQUEST_TOKENS.values(),
                  *PRINCIPAL_DIMENSIONS)  # fmt: skip


def reconcile_period(*, tenant: Tenant, period: date, catalog: Catalog) -> Reconciliation:
    """Allocate one billing period's billed usage to its requests; store `allocated_cost_usd` on both
    (requests: their share; bill lines: the part given to requests). Idempotent. One day at a time,
    so memory stays bounded by a day's requests."""
    period = period.replace(day=1)
    result = Reconciliation(period=period)
    events = SpendEvent.objects.filter(tenant=tenant)
    days = sorted(set(events.filter(billing_period=period).values_list("usage_date", flat=True).distinct()))
    prices = _Prices(catalog)
    with transaction.atomic():
        for day in days:
            _reconcile_day(events.filter(billing_period=period), day, prices, result)
        if result.rows_changed:
            # Allocations and filled-in dimensions changed the period's rows: its rollup cells follow.
            rollup_rebuild(tenant_id=tenant.pk, billing_periods=[period])
    return result


def _reconcile_day(events: Any, day: date, prices: _Prices, result: Reconciliation) -> None:
    day_bills = events.filter(
        record_kind=SpendEvent.RecordKind.BILLED_LINE,
        usage_date=day,
        line_item_type__in=USAGE_LINE_TYPES,
        usage_category="tokens",
    ).exclude(model_id="")
    requests = list(events.filter(record_kind=SpendEvent.RecordKind.REQUEST, usage_date=day).values(*REQUEST_FIELDS))
    if not requests and _bills_alone(day_bills, result):
        return
    bills = list(day_bills.values(*BILL_FIELDS))
    if not bills and not requests:
        return
    billed: dict[Bucket, Decimal] = defaultdict(Decimal)
    bill_ids: dict[Bucket, list[int]] = defaultdict(list)
    principal_dims: dict[str, dict[str, str]] = {}
    scopes = _scopes(bills, requests)
    for bill in bills:
        bucket = (bill["source"], scopes.get(bill["id"], ""), *bill_bucket(bill))
        billed[bucket] += bill["cost_usd"] or Decimal(0)
        bill_ids[bucket].append(bill["id"])
        if bill["iam_principal"]:
            dims = principal_dims.setdefault(bill["iam_principal"], {})
            for name in PRINCIPAL_DIMENSIONS:
                if bill[name] and name not in dims:
                    dims[name] = bill[name]
    billed_types = {(*bucket[:6], *bucket[7:]) for bucket in billed}  # the buckets without their token type
    members: dict[Bucket, list[tuple[int, Decimal]]] = defaultdict(list)
    unbilled: set[int] = set()
    filled: list[tuple[Any, ...]] = []
    for request in requests:
        fill = {
            name: value for name, value in principal_dims.get(request["iam_principal"], {}).items() if not request[name]
        }
        if fill:
            merged = {**{n: request[n] for n in PRINCIPAL_DIMENSIONS}, **fill}
            filled.append((request["id"], *(merged[n] for n in PRINCIPAL_DIMENSIONS)))
        # The request's bucket but for the token type: no bill line of any type there (or in its bucket without
        # a principal) leaves every token type of it unbilled, with no need to weigh them.
        head = (
            request["source"],
            scopes.get(request["id"], ""),
            request["usage_date"],
            request["account_id"],
            request["region"],
            request["model_id"],
        )
        tail = (price_class(request["route"]), request["service_tier"], request["iam_principal"])
        if (*head, *tail) not in billed_types and (*head, *tail[:-1], "") not in billed_types:
            if any(request[column] for column in REQUEST_TOKENS.values()):
                unbilled.add(request["id"])
            continue
        for token_type, weight in _request_weights(request, prices).items():
            bucket = (*head, token_type, *tail)
            if bucket not in billed and (*bucket[:-1], "") in billed:
                bucket = (*bucket[:-1], "")  # the bill has no IAM principal: its bucket takes every caller
            if bucket in billed:
                members[bucket].append((request["id"], weight))
            else:
                unbilled.add(request["id"])
    allocations: dict[int, Decimal] = defaultdict(Decimal)
    allocated_bills: set[int] = set()
    for bucket, total in billed.items():
        result.buckets += 1
        result.billed_usage_usd += total
        shares = members.get(bucket, [])
        weights = [w for _, w in shares]
        if not shares or sum(weights, Decimal(0)) <= 0:
            result.unattributed_usd += total
            result.unattributed_buckets.append({"bucket": [str(p) for p in bucket], "billed_usd": str(total)})
            continue
        for (request_id, _), share in zip(shares, allocate(total, weights), strict=True):
            allocations[request_id] += share
        result.allocated_usd += total
        allocated_bills.update(bill_ids[bucket])
    _store(requests, bills, allocations, allocated_bills, unbilled, result)
    if filled:
        result.rows_changed += bulk_set_rows(SpendEvent, PRINCIPAL_DIMENSIONS, filled)
        result.dimensions_filled += len(filled)


def _bills_alone(bills: Any, result: Reconciliation) -> bool:
    """A day with bill lines and no request (a tenant without invocation logs, or a day whose logs are not in):
    every bucket stays unattributed and every bill line's allocation is 0. Summed per bucket by PostgreSQL
    (exact numeric sums) instead of reading every line; the same result as the general path. False, and
    nothing done, on SQLite (whose SUM of decimals is a float) or when another provider's lines are there
    (their buckets need each line's billing scope): the general path then does the day."""
    if connection.vendor != "postgresql":
        return False
    buckets = list(
        bills.values("usage_date", "account_id", "region", "model_id", "service_tier", "iam_principal")
        .annotate(
            base_type=Case(
                When(token_type__startswith="input_", then=Value("input")),
                When(token_type__startswith="output_", then=Value("output")),
                default=F("token_type"),
                output_field=CharField(),
            ),
            route_class=Case(When(route="global", then=Value("global")), default=Value("regional")),
            total=Sum("cost_usd"),
            others=Count("id", filter=~Q(source="bedrock")),
        )
        .order_by()
    )
    if any(row["others"] for row in buckets):
        return False
    for row in buckets:
        total = row["total"] if row["total"] is not None else Decimal(0)
        bucket = ("bedrock", "", row["usage_date"], row["account_id"], row["region"], row["model_id"],
                  row["base_type"], row["route_class"], row["service_tier"], row["iam_principal"])  # fmt: skip
        result.buckets += 1
        result.billed_usage_usd += total
        result.unattributed_usd += total
        result.unattributed_buckets.append({"bucket": [str(p) for p in bucket], "billed_usd": str(total)})
    result.rows_changed += bills.exclude(allocated_cost_usd=0).update(allocated_cost_usd=Decimal(0))
    return True


def _scopes(bills: list[dict[str, Any]], requests: list[dict[str, Any]]) -> dict[int, str]:
    """The billing scope of each row of another provider (Bedrock rows have none: nothing is read for them)."""
    ids = [row["id"] for row in (*bills, *requests) if row["source"] != "bedrock"]
    scopes: dict[int, str] = {}
    for offset in range(0, len(ids), 500):
        chunk = ids[offset : offset + 500]
        for row_id, tags in SpendEvent.objects.filter(id__in=chunk).values_list("id", "tags"):
            scopes[row_id] = str((tags or {}).get(SCOPE_TAG, "")) if isinstance(tags, dict) else ""
    return scopes


def _store(
    requests: list[dict[str, Any]],
    bills: list[dict[str, Any]],
    allocations: dict[int, Decimal],
    allocated_bills: set[int],
    unbilled: set[int],
    result: Reconciliation,
) -> None:
    # Only rows whose allocation moves are written (a reconciliation run again writes nothing).
    updates = [
        (r["id"], allocations.get(r["id"])) for r in requests if allocations.get(r["id"]) != r["allocated_cost_usd"]
    ]
    result.requests_allocated += sum(1 for r in requests if r["id"] in allocations)
    result.requests_not_yet_billed += sum(1 for r in requests if r["id"] in unbilled and r["id"] not in allocations)
    for bill in bills:
        allocated = bill["cost_usd"] if bill["id"] in allocated_bills else Decimal(0)
        if allocated != bill["allocated_cost_usd"]:
            updates.append((bill["id"], allocated))
    result.rows_changed += bulk_set_rows(SpendEvent, ["allocated_cost_usd"], updates)
