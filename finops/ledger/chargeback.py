"""Chargeback of one billing period: every billed dollar in exactly one row, the rows adding up to the
invoice total. Reads the ledger after reconciliation (finops.ledger.reconciliation):

- one row per group of requests (team, user, application ...): the billed usage dollars allocated to
  them, their requests, tokens and estimated dollars;
- one row `unattributed: true`: billed usage no request explains (no invocation logs for it,
  provisioned throughput, guardrails, images ...);
- one row per other line item type, `shared: "<type>"`: tax, credits, refunds, fees, discounts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.provider_catalog import PLATFORMS
from finops.ledger.reconciliation import USAGE_LINE_TYPES

CHARGEBACK_FIELDS = (
    "team",
    "user_id",
    "application",
    "principal_name",
    "iam_principal",
    "principal_type",
    "role_name",
    "cost_center",
    "environment",
    "agent_id",
    "workflow_id",
    "session_id",
    "account_id",
    "region",
    "model_id",
    "model_family",
    "model_provider",
    "source",
)
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class ChargebackError(ValueError):
    pass


def validate_fields(fields: list[str]) -> list[str]:
    unknown = [f for f in fields if f not in CHARGEBACK_FIELDS]
    if unknown or not fields:
        raise ChargebackError(
            f"Unknown or missing --by field(s): {', '.join(unknown) or '(none)'}. Choose from: "
            f"{', '.join(CHARGEBACK_FIELDS)}."
        )
    return list(dict.fromkeys(fields))


def _blank(fields: list[str], source: str) -> tuple[Any, ...]:
    """The group values of an unattributed or shared row: blank, but for its platform when grouped by source."""
    return tuple(source if f == "source" else "" for f in fields)


def _zero_row(fields: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
    return {
        **dict(zip(fields, values, strict=True)),
        "billed_cost_usd": Decimal(0),
        "estimated_cost_usd": Decimal(0),
        "requests": 0,
        "requests_not_yet_billed": 0,
        **{t: 0 for t in TOKENS},
    }


def validate_sources(sources: list[str] | None) -> list[str] | None:
    """The platforms asked for (None: every one), each a ledger `source` (bedrock, openai, anthropic, ...)."""
    if not sources:
        return None
    unknown = [s for s in sources if s not in PLATFORMS]
    if unknown:
        raise ChargebackError(f"Unknown source(s): {', '.join(unknown)}. Choose from: {', '.join(PLATFORMS)}.")
    return list(dict.fromkeys(sources))


def chargeback(
    *, tenant: Tenant, period: date, fields: list[str], sources: list[str] | None = None
) -> tuple[list[dict[str, Any]], Decimal]:
    """(rows, invoice total). Sums in Decimal in Python so SQLite cannot round them.

    Every platform bills separately: `sources` limits the chargeback to some (their invoices' total), and
    grouping by `source` gives each platform its own unattributed and shared rows, so each platform's rows
    add up to its own invoice."""
    fields = validate_fields(fields)
    sources = validate_sources(sources)
    period = period.replace(day=1)
    events = SpendEvent.objects.filter(tenant=tenant, billing_period=period)
    if sources:
        events = events.filter(source__in=sources)
    by_source = "source" in fields
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    requests = events.filter(record_kind=SpendEvent.RecordKind.REQUEST).values_list(
        *fields, "allocated_cost_usd", "cost_usd", "requests", *TOKENS
    )
    width = len(fields)
    for values in requests.iterator(chunk_size=5000):
        key, (allocated, estimated, count), tokens = values[:width], values[width : width + 3], values[width + 3 :]
        row = groups.setdefault(key, _zero_row(fields, key))
        row["requests"] += count
        row["estimated_cost_usd"] += estimated or Decimal(0)
        if allocated is None:
            row["requests_not_yet_billed"] += count
        else:
            row["billed_cost_usd"] += allocated
        for name, value in zip(TOKENS, tokens, strict=True):
            row[name] += value
    # Keyed by source when grouping by it ("" otherwise: one unattributed row, one row per shared line type).
    unattributed: dict[str, Decimal] = defaultdict(Decimal)
    shared: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    invoice = Decimal(0)
    bills = events.filter(record_kind=SpendEvent.RecordKind.BILLED_LINE).values_list(
        "source", "line_item_type", "cost_usd", "allocated_cost_usd"
    )
    for source, line_type, cost, allocated in bills.iterator(chunk_size=5000):
        cost = cost or Decimal(0)
        invoice += cost
        owner = source if by_source else ""
        if line_type in USAGE_LINE_TYPES:
            unattributed[owner] += cost - (allocated or Decimal(0))
        else:
            shared[(owner, line_type or "Other")] += cost
    rows = sorted(groups.values(), key=lambda r: (-r["billed_cost_usd"], -r["estimated_cost_usd"]))
    for owner in sorted(unattributed) or [""]:
        blank = _blank(fields, owner)
        rows.append({**_zero_row(fields, blank), "billed_cost_usd": unattributed[owner], "unattributed": True})
    for (owner, line_type), amount in sorted(shared.items()):
        rows.append({**_zero_row(fields, _blank(fields, owner)), "billed_cost_usd": amount, "shared": line_type})
    total = sum((r["billed_cost_usd"] for r in rows), Decimal(0))
    # Every dollar is in exactly one row by construction. (SQLite keeps 15 significant digits per value,
    # so a difference far below a cent may show there; PostgreSQL is exact.)
    if abs(total - invoice) >= Decimal("0.000001"):  # pragma: no cover
        raise ChargebackError(f"chargeback rows add up to {total}, the invoice to {invoice}")
    return rows, invoice


def plain_amount(value: Any) -> Any:
    """Money as the chargeback JSON writes it: a plain decimal string to ten places at most, "0" for zero."""
    if isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.0000000001")).normalize(), "f") if value else "0"
    return value


def chargeback_json_rows(rows: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    """The rows as the `chargeback --format json` command and the API give them."""
    columns = [*fields, "billed_cost_usd", "estimated_cost_usd", "requests", "requests_not_yet_billed", *TOKENS]
    data = []
    for row in rows:
        item = {c: plain_amount(row[c]) for c in columns}
        if row.get("unattributed"):
            item["unattributed"] = True
        if row.get("shared"):
            item["shared"] = row["shared"]
        data.append(item)
    return data
