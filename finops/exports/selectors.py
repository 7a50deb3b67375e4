"""Reads behind the FOCUS export, always scoped by tenant: a period's bill lines (raw ledger rows: FOCUS
is one row per line), the periods that have any (from the daily rollup) and the ledger's billed total."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from connections.models import AwsConnection, MemberAccount, Tenant
from finops.exports.columns import LINE_FIELDS
from finops.exports.focus import Account, FocusContext
from finops.ledger.models import ModelCatalog, SpendDaily, SpendEvent

BILLED = Q(record_kind=SpendEvent.RecordKind.BILLED_LINE, cost_basis=SpendEvent.CostBasis.BILLED)


@dataclass(frozen=True)
class BilledPeriod:
    period: date
    lines: int
    billed_usd: Decimal

    @property
    def label(self) -> str:
        return f"{self.period:%Y-%m}"


def billed_lines(*, tenant: Tenant, period: date) -> list[dict[str, Any]]:
    """The period's CUR bill lines as they are in the ledger (after any restatement), oldest first."""
    queryset = SpendEvent.objects.filter(BILLED, tenant=tenant, billing_period=period.replace(day=1))
    return list(queryset.order_by("usage_start", "id").values(*LINE_FIELDS))


def billed_periods(*, tenant: Tenant) -> list[BilledPeriod]:
    """Billing periods with bill lines, newest first, with their line count and billed total (rollup)."""
    cells = SpendDaily.objects.filter(BILLED, tenant=tenant)
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


def ledger_billed_total(*, tenant: Tenant, period: date) -> Decimal | None:
    """The period's billed dollars as the ledger holds them (every cost_basis=billed row), summed as
    Decimal; None when the period has none. Read separately from the export's own rows, to check it."""
    costs = SpendEvent.objects.filter(
        tenant=tenant, billing_period=period.replace(day=1), cost_basis=SpendEvent.CostBasis.BILLED
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
    return FocusContext(
        default_billing=default, billing_by_connection=billing, account_names=names, model_names=model_names
    )
