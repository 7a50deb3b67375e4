"""Ledger endpoints, scoped to a tenant the caller may see (404 otherwise): the spend report, the raw events
with cursor pagination, and a billing period's chargeback. Money is a decimal string throughout."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError
from pydantic import create_model

from connections.api_auth import COMMON_ERRORS, api_tenant, error_responses
from finops.ledger.chargeback import (
    CHARGEBACK_FIELDS,
    ChargebackError,
    chargeback,
    chargeback_json_rows,
    plain_amount,
)
from finops.ledger.models import SpendEvent
from finops.ledger.provider_catalog import PLATFORMS
from finops.ledger.selectors import EventFilter, ReportError, ReportFilter, events_after, spend_report

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


@router.get("/{tenant_slug}/report", response=list[ReportRow], summary="Spend report")
def report(request: HttpRequest, tenant_slug: str, query: Query[ReportQuery]) -> list[dict]:
    tenant = api_tenant(request, tenant_slug)
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


# --- events ----------------------------------------------------------------------------------------------

MAX_EVENTS = 1000


def encode_cursor(last_id: int) -> str:
    """Opaque to clients: where the next page starts (after this ledger row)."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise HttpError(400, "cursor is not one this API gave: pass next_cursor from the previous page.") from exc
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise HttpError(400, "cursor is not one this API gave: pass next_cursor from the previous page.")
    return after


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise HttpError(400, f"{name}={raw!r} is not a date: use YYYY-MM-DD.") from exc


class EventQuery(Schema):
    start: str | None = Field(None, description="First usage date, YYYY-MM-DD (inclusive).", examples=["2026-06-01"])
    end: str | None = Field(None, description="Last usage date, YYYY-MM-DD (inclusive).", examples=["2026-06-30"])
    record_kind: str | None = Field(None, description="request, billed_line or metric.", examples=["request"])
    model: str | None = Field(None, description="Canonical model id (or the model as delivered when unresolved).")
    team: str | None = None
    application: str | None = None
    principal: str | None = Field(None, description="IAM principal ARN.")
    request_id: str | None = None
    cursor: str | None = Field(None, description="next_cursor of the previous page; omit for the first page.")
    limit: int = Field(100, ge=1, le=MAX_EVENTS, description=f"Rows per page, at most {MAX_EVENTS}.")


class EventOut(Schema):
    id: int
    record_kind: str
    cost_basis: str
    source: str
    usage_start: datetime
    usage_end: datetime
    usage_date: date
    billing_period: date
    account_id: str
    region: str
    inference_region: str
    route: str
    model_id: str
    model_ref: str
    model_family: str
    model_tier: str
    model_provider: str
    operation: str
    usage_type: str
    token_type: str
    line_item_type: str
    service_tier: str
    usage_category: str
    inference_profile_arn: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    units: Decimal | None
    unit: str
    requests: int
    latency_ms: int | None
    cost_usd: Decimal | None
    list_cost_usd: Decimal | None
    allocated_cost_usd: Decimal | None
    unpriced: bool
    iam_principal: str
    principal_type: str
    principal_name: str
    role_name: str
    application: str
    team: str
    environment: str
    cost_center: str
    user_id: str
    agent_id: str
    workflow_id: str
    session_id: str
    request_id: str
    tags: dict[str, Any]
    # Keyed hashes only (the key never leaves the server; prompts and responses are never stored).
    prompt_hash: str
    response_hash: str
    stop_reason: str
    error_code: str
    data_issue: str


class EventPage(Schema):
    events: list[EventOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


@router.get(
    "/{tenant_slug}/events",
    response={200: EventPage, **error_responses(*COMMON_ERRORS)},
    summary="Ledger events (cursor pagination)",
    description="The tenant's ledger rows (one request, one bill line or one metric bucket each), oldest id "
    "first, with cursor pagination: follow next_cursor until it is null to read every row exactly once.",
)
def events(request: HttpRequest, tenant_slug: str, query: Query[EventQuery]) -> dict[str, Any]:
    tenant = api_tenant(request, tenant_slug)
    kind = query.record_kind or ""
    if kind and kind not in SpendEvent.RecordKind.values:
        raise HttpError(400, f"record_kind={kind!r}: use one of {', '.join(SpendEvent.RecordKind.values)}.")
    filters = EventFilter(
        start=_day(query.start, "start"),
        end=_day(query.end, "end"),
        record_kind=kind,
        model=query.model or "",
        team=query.team or "",
        application=query.application or "",
        principal=query.principal or "",
        request_id=query.request_id or "",
    )
    if filters.start and filters.end and filters.start > filters.end:
        raise HttpError(400, f"start ({filters.start}) is after end ({filters.end}).")
    after = decode_cursor(query.cursor) if query.cursor else None
    rows = events_after(tenant=tenant, filters=filters, after_id=after, limit=query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return {"events": rows, "next_cursor": encode_cursor(rows[-1].pk) if more else None}


# --- chargeback ------------------------------------------------------------------------------------------


_PLATFORM_IDS = "|".join(PLATFORMS)
_CHARGEBACK_FIELD_IDS = "|".join(CHARGEBACK_FIELDS)


class ChargebackQuery(Schema):
    # The patterns document the valid values (clients and generated tests see them); the view checks them itself,
    # so a bad value gets a 400 that says what to send.
    period: str = Field(
        description="Billing period, YYYY-MM.", examples=["2026-06"], json_schema_extra={"pattern": r"^\d{4}-\d{2}$"}
    )
    group_by: str = Field(
        "team",
        description=f"Comma-separated, from: {', '.join(CHARGEBACK_FIELDS)}.",
        examples=["team,user_id"],
        json_schema_extra={"pattern": f"^({_CHARGEBACK_FIELD_IDS})(,({_CHARGEBACK_FIELD_IDS}))*$"},
    )
    source: str = Field(
        "",
        description="Only these platforms' bills, comma-separated (bedrock, openai, anthropic, azure_openai, vertex); "
        "empty: every platform. Each platform is its own invoice.",
        # Documented (clients and generated tests see the valid values); checked by chargeback itself, whose 400
        # names the platforms to choose from.
        json_schema_extra={"pattern": f"^(({_PLATFORM_IDS})(,({_PLATFORM_IDS}))*)?$"},
    )
    page: int = Field(1, ge=1)
    page_size: int = Field(500, ge=1, le=5000)


class _ChargebackNumbers(Schema):
    billed_cost_usd: str
    estimated_cost_usd: str
    requests: int
    requests_not_yet_billed: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    unattributed: bool | None = Field(None, description="Billed usage no request explains (present when true).")
    shared: str | None = Field(None, description="Tax, credit, fee ...: the line item type (present on those rows).")


# One row of `chargeback --format json`: the group's fields (only those asked for: the operation excludes unset
# fields, which keeps the command's JSON shape), then its numbers.
ChargebackRow = create_model(
    "ChargebackRow",
    __base__=_ChargebackNumbers,
    **{name: (str | None, Field(None)) for name in CHARGEBACK_FIELDS},  # type: ignore[call-overload]
)


class ChargebackOut(Schema):
    period: str
    group_by: list[str]
    invoice_total_usd: str = Field(description="What the period's bill lines add up to; every row adds up to it.")
    rows: list[ChargebackRow]
    page: int
    page_size: int
    pages: int
    count: int


@router.get(
    "/{tenant_slug}/chargeback",
    response={200: ChargebackOut, **error_responses(*COMMON_ERRORS)},
    summary="Chargeback of a billing period",
    exclude_unset=True,
    description="Chargeback of one billing period (as `manage.py chargeback --format json`): billed dollars "
    "allocated to the groups whose requests caused them, then the unattributed usage and the shared lines "
    "(tax, credits, fees); all the rows add up to the invoice total.",
)
def chargeback_view(request: HttpRequest, tenant_slug: str, query: Query[ChargebackQuery]) -> dict[str, Any]:
    tenant = api_tenant(request, tenant_slug)
    try:
        if len(query.period) != 7:
            raise ValueError
        period = date.fromisoformat(f"{query.period}-01")
    except ValueError as exc:
        raise HttpError(400, f"period={query.period!r} is not a billing period: use YYYY-MM.") from exc
    fields = [f.strip() for f in query.group_by.split(",") if f.strip()]
    try:
        sources = [s.strip() for s in query.source.split(",") if s.strip()]
        rows, invoice = chargeback(tenant=tenant, period=period, fields=fields, sources=sources)
    except ChargebackError as exc:
        raise HttpError(400, str(exc).replace("--by", "group_by")) from exc
    fields = list(dict.fromkeys(fields))
    data = chargeback_json_rows(rows, fields)
    pages = max(1, -(-len(data) // query.page_size))
    first = (query.page - 1) * query.page_size
    return {
        "period": f"{period:%Y-%m}",
        "group_by": fields,
        "invoice_total_usd": plain_amount(invoice),
        "rows": data[first : first + query.page_size],
        "page": query.page,
        "page_size": query.page_size,
        "pages": pages,
        "count": len(data),
    }
