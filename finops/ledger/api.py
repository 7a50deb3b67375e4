"""Ledger endpoints: the spend report, scoped to a tenant the caller may see (404 otherwise)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from connections.selectors import tenant_for_user
from finops.ledger.selectors import ReportError, ReportFilter, spend_report

router = Router(tags=["ledger"])


class ReportQuery(Schema):
    group_by: str = "model_id"
    start: date | None = None
    end: date | None = None


class ReportRow(Schema):
    group: dict[str, str | None]
    billed_cost_usd: Decimal
    estimated_cost_usd: Decimal
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    requests: int
    unpriced_requests: int
    token_source: str
    allocated_cost_usd: Decimal = Decimal(0)  # billed dollars allocated to the group's requests


@router.get("/{tenant_slug}/report", response=list[ReportRow])
def report(request: HttpRequest, tenant_slug: str, query: Query[ReportQuery]) -> list[dict]:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    group_by = [g.strip() for g in query.group_by.split(",") if g.strip()]
    try:
        rows = spend_report(tenant=tenant, group_by=group_by, filters=ReportFilter(query.start, query.end))
    except ReportError as exc:
        raise HttpError(400, str(exc)) from exc
    return [
        {
            "group": {g: (None if row[g] is None else str(row[g])) for g in group_by},
            **{k: v for k, v in row.items() if k not in group_by},
        }
        for row in rows
    ]
