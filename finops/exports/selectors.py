"""Reads behind the FOCUS export, always scoped by tenant: a period's bill lines (raw ledger rows: FOCUS
is one row per line), the periods that have any (from the daily rollup) and the ledger's billed total. Each
takes `sources` (ledger sources, i.e. platforms; None or empty: every platform)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from connections.models import AwsConnection, MemberAccount, Tenant
from finops.exports.columns import LINE_FIELDS
from finops.exports.focus import Account, FocusContext
from finops.exports.platforms import PLATFORMS, SOURCES
from finops.ledger.models import ModelCatalog, SpendDaily, SpendEvent

BILLED = Q(record_kind=SpendEvent.RecordKind.BILLED_LINE, cost_basis=SpendEvent.CostBasis.BILLED)
# A provider cost line's token type -> the usage rows' token column (modalities such as input_audio have none).
USAGE_TOKEN_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
}
SCOPE_TAG = "billing_scope"  # what reconciliation matches a provider's bills and usage on


def _by_source(sources: Sequence[str] | None) -> Q:
    return Q(source__in=list(sources)) if sources else Q()


@dataclass(frozen=True)
class BilledPeriod:
    period: date
    lines: int
    billed_usd: Decimal

    @property
    def label(self) -> str:
        return f"{self.period:%Y-%m}"


def billed_lines(*, tenant: Tenant, period: date, sources: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The period's bill lines as they are in the ledger (after any restatement), oldest first. A provider's
    cost line that counts no quantity carries `usage_tokens` (see usage_tokens) when its usage has any."""
    period = period.replace(day=1)
    queryset = SpendEvent.objects.filter(BILLED, _by_source(sources), tenant=tenant, billing_period=period)
    lines = list(queryset.order_by("usage_start", "id").values(*LINE_FIELDS))
    unquantified = [
        line
        for line in lines
        if line["source"] in PLATFORMS and line["units"] is None and line["token_type"] in USAGE_TOKEN_FIELDS
    ]
    if unquantified:
        tokens = usage_tokens(tenant=tenant, period=period, sources={line["source"] for line in unquantified})
        for line in unquantified:
            line["usage_tokens"] = tokens.get(_bucket(line, line["usage_start"].date(), line["token_type"]), 0)
    return lines


def _bucket(row: dict[str, Any], day: date, token_type: str) -> tuple[Any, ...]:
    tags = row["tags"] if isinstance(row["tags"], dict) else {}
    if token_type == "cache_write":
        token_type = f"cache_write:{tags.get('cache_ttl') or '5m'}"
    scope = str(tags.get(SCOPE_TAG) or "")
    return row["source"], scope, day, row["model_id"], token_type, row["service_tier"]


def usage_tokens(*, tenant: Tenant, period: date, sources: set[str]) -> dict[tuple[Any, ...], int]:
    """Tokens of the providers' usage rows (OpenAI's and Anthropic's usage reports) per bucket: source, billing
    scope (connection and project / workspace), day, model, token type (cache writes by TTL), service tier, the
    bucket their cost reports bill and reconciliation allocates by. The cost reports give dollars only."""
    fields = ("source", "usage_date", "model_id", "service_tier", "tags", "cache_write_1h_tokens",
              *USAGE_TOKEN_FIELDS.values())  # fmt: skip
    rows = SpendEvent.objects.filter(
        tenant=tenant, billing_period=period, record_kind=SpendEvent.RecordKind.REQUEST, source__in=sorted(sources)
    ).values(*fields)
    totals: Counter[tuple[Any, ...]] = Counter()
    for row in rows.iterator():
        one_hour = int(row["cache_write_1h_tokens"] or 0)
        for token_type, column in USAGE_TOKEN_FIELDS.items():
            count = int(row[column] or 0)
            if token_type == "cache_write":
                totals[_bucket(row, row["usage_date"], "cache_write:1h")] += one_hour
                count -= one_hour
                token_type = "cache_write:5m"
            if count:
                totals[_bucket(row, row["usage_date"], token_type)] += count
    return dict(totals)


def billed_periods(*, tenant: Tenant, sources: Sequence[str] | None = None) -> list[BilledPeriod]:
    """Billing periods with bill lines, newest first, with their line count and billed total (rollup)."""
    cells = SpendDaily.objects.filter(BILLED, _by_source(sources), tenant=tenant)
    if connection.vendor == "postgresql":
        grouped = cells.values("billing_period").annotate(lines=Sum("events"), billed=Sum("cost_usd"))
        totals = {r["billing_period"]: (int(r["lines"] or 0), r["billed"] or Decimal(0)) for r in grouped}
    else:
        # SQLite sums decimals as floats: add the cells as Decimal here.
        totals = {}
        for period, events, cost in cells.values_list("billing_period", "events", "cost_usd").iterator():
            lines, billed = totals.get(period, (0, Decimal(0)))
            totals[period] = (lines + events, billed + (cost or Decimal(0)))
    return [BilledPeriod(p, n, usd) for p, (n, usd) in sorted(totals.items(), reverse=True) if n]


def billed_sources(*, tenant: Tenant) -> list[str]:
    """The platforms (ledger sources) with bill lines, in the order of SOURCES (rollup)."""
    present = set(SpendDaily.objects.filter(BILLED, tenant=tenant).values_list("source", flat=True).distinct())
    return [source for source in SOURCES if source in present]


def ledger_billed_total(*, tenant: Tenant, period: date, sources: Sequence[str] | None = None) -> Decimal | None:
    """The period's billed dollars as the ledger holds them (every cost_basis=billed row), summed as
    Decimal; None when the period has none. Read separately from the export's own rows, to check it."""
    costs = SpendEvent.objects.filter(
        _by_source(sources), tenant=tenant, billing_period=period.replace(day=1), cost_basis=SpendEvent.CostBasis.BILLED
    ).values_list("cost_usd", flat=True)
    values = list(costs)
    return sum((c or Decimal(0) for c in values), Decimal(0)) if values else None


def focus_context(*, tenant: Tenant, lines: list[dict[str, Any]]) -> FocusContext:
    """Billing accounts (a connection's CUR payer account, else its own account), member account names
    and model names. Lines imported from files (no connection) are billed to the tenant's only
    connection when it has one, else to the account most of the period's lines name."""
    billing: dict[int, Account] = {}
    names: dict[str, str] = {}
    connections = list(AwsConnection.objects.filter(tenant=tenant).order_by("pk"))
    for conn in connections:
        billing[conn.pk] = Account(conn.cur_payer_account_id or conn.account_id, conn.name)
        names.setdefault(conn.account_id, conn.name)
    for account_id, name in MemberAccount.objects.filter(connection__tenant=tenant).values_list("account_id", "name"):
        if name:
            names[account_id] = name
    if len(connections) == 1:
        default = billing[connections[0].pk]
    else:
        accounts = Counter(line["account_id"] for line in lines if line["account_id"])
        default_id = accounts.most_common(1)[0][0] if accounts else tenant.slug
        default = Account(default_id, tenant.name)
    models = {line["model_id"] for line in lines if line["model_id"]}
    model_names = dict(ModelCatalog.objects.filter(model_id__in=models).values_list("model_id", "name"))
    # Other platforms' lines name their billing account in tags (organization, billing account); a line that
    # names none (an Azure export without BillingAccountId) is billed to the tenant, shown as such.
    tenant_account = Account(tenant.slug, tenant.name)
    return FocusContext(
        default_billing=default,
        billing_by_connection=billing,
        account_names=names,
        model_names=model_names,
        platform_billing=dict.fromkeys(PLATFORMS, tenant_account),
    )
