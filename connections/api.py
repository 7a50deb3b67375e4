"""Connection endpoints: the tenant's AWS connections, their status and the checks of their last validation.
Every member sees what the connection page shows every member (account, mode, role, ExternalId, data sources,
checks); the deploy artifacts stay on the page, for admins. Nothing secret is stored on a connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, PageOut, api_tenant, error_responses, paginate
from connections.models import AwsConnection
from connections.selectors import connections_for_user

router = Router(tags=["connections"])


class FindingOut(Schema):
    code: str
    title: str
    cause: str
    remedy: str
    evidence: str


class CheckOut(Schema):
    key: str
    label: str
    status: str = Field(description="green, amber, red or skipped.")
    message: str
    findings: list[FindingOut]


class MemberAccountOut(Schema):
    account_id: str
    name: str
    role_status: str
    last_checked_at: datetime | None
    last_error: str


class ConnectionOut(Schema):
    id: int
    name: str
    account_id: str
    mode: str
    status: str = Field(description=f"One of {', '.join(AwsConnection.Status.values)}.")
    external_id: str
    role_name: str
    role_path_prefix: str
    member_role_name: str
    role_arn: str
    regions: list[str]
    cur_payer_account_id: str
    cur_bucket: str
    cur_prefix: str
    cur_export_name: str
    log_group_arn: str
    log_bucket: str
    log_prefix: str
    last_validated_at: datetime | None
    last_error: str
    checks: list[CheckOut] = Field(description="The checks of the last validation.")
    member_accounts: list[MemberAccountOut] = Field(description="Organization mode: the member accounts.")
    created_at: datetime
    updated_at: datetime


class ConnectionPage(Schema):
    items: list[ConnectionOut]
    pagination: PageOut


class ConnectionQuery(Schema):
    status: str | None = Field(None, description=f"One of {', '.join(AwsConnection.Status.values)}.")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


FINDING_KEYS = ("code", "title", "cause", "remedy", "evidence")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _checks(raw: Any) -> list[dict[str, Any]]:
    """The stored checks (JSON) in a fixed shape, whatever an older validation wrote."""
    out = []
    for check in raw if isinstance(raw, list) else []:
        if not isinstance(check, dict):
            continue
        findings = [f for f in check.get("findings") or [] if isinstance(f, dict)]
        out.append(
            {
                "key": _text(check.get("key")),
                "label": _text(check.get("label") or check.get("key")),
                "status": _text(check.get("status")),
                "message": _text(check.get("message")),
                "findings": [{k: _text(f.get(k)) for k in FINDING_KEYS} for f in findings],
            }
        )
    return out


def _connection_out(connection: AwsConnection) -> AwsConnection:
    connection.checks = _checks(connection.last_validation)  # type: ignore[attr-defined]
    connection.regions = [str(r) for r in connection.regions or []]
    return connection


@router.get(
    "/{tenant_slug}/", response={200: ConnectionPage, **error_responses(*COMMON_ERRORS)}, summary="AWS connections"
)
def connection_list(request: HttpRequest, tenant_slug: str, query: Query[ConnectionQuery]) -> dict[str, Any]:
    """The tenant's AWS connections with their status and the checks of their last validation."""
    tenant = api_tenant(request, tenant_slug)
    if query.status and query.status not in AwsConnection.Status.values:
        raise HttpError(400, f"status={query.status!r}: use one of {', '.join(AwsConnection.Status.values)}.")
    connections = connections_for_user(user=request.user).filter(tenant=tenant).order_by("name", "id")
    if query.status:
        connections = connections.filter(status=query.status)
    pagination, first, last = paginate(connections.count(), query.page, query.page_size)
    page = connections.prefetch_related("member_accounts")[first:last]
    return {"items": [_connection_out(c) for c in page], "pagination": pagination}


@router.get(
    "/{tenant_slug}/{int:connection_id}",
    response={200: ConnectionOut, **error_responses(*COMMON_ERRORS)},
    summary="One AWS connection",
)
def connection_detail(request: HttpRequest, tenant_slug: str, connection_id: int) -> AwsConnection:
    tenant = api_tenant(request, tenant_slug)
    connection = (
        connections_for_user(user=request.user)
        .filter(tenant=tenant, pk=connection_id)
        .prefetch_related("member_accounts")
        .first()
    )
    if connection is None:
        raise Http404("No such connection.")
    return _connection_out(connection)
