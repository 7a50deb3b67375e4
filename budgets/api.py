"""Budget endpoints under /api/v1/budgets/{tenant_slug}/: members read, tenant admins (and staff) write; another
tenant's budgets are 404; a value the rules refuse is a 400 whose detail says what to send instead."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from budgets import selectors
from budgets.models import Budget
from budgets.scope import default_thresholds, mask_url
from budgets.services import budget_create, budget_delete, budget_update
from connections.models import Membership, Tenant
from connections.selectors import membership_role, tenant_for_user

router = Router(tags=["budgets"])
CENT = Decimal("0.01")


class ScopeFilter(Schema):
    dimension: str
    values: list[str]
    exclude: bool = False


class Threshold(Schema):
    kind: str
    pct: int


class BudgetIn(Schema):
    name: str
    amount_usd: Decimal
    period: str = "monthly"
    basis: str = "allocated"
    scope: list[ScopeFilter] = []
    thresholds: list[Threshold] | None = None  # None: actual 80 and 100, forecast 100
    emails: list[str] = []
    webhooks: list[str] = []
    use_tenant_channels: bool = True


class BudgetPatch(Schema):
    name: str | None = None
    amount_usd: Decimal | None = None
    period: str | None = None
    basis: str | None = None
    scope: list[ScopeFilter] | None = None
    thresholds: list[Threshold] | None = None
    emails: list[str] | None = None
    webhooks: list[str] | None = None
    use_tenant_channels: bool | None = None


class StatusOut(Schema):
    as_of: date
    period_start: date
    period_end: date
    known_through: date | None
    actual_usd: Decimal
    forecast_usd: Decimal | None
    forecast_low_usd: Decimal | None
    forecast_high_usd: Decimal | None
    status: str
    thresholds_crossed: list[Threshold]
    backtest_wape_pct: Decimal | None
    backtest_periods: int


class BudgetOut(Schema):
    id: int
    name: str
    amount_usd: Decimal
    period: str
    basis: str
    scope: list[ScopeFilter]
    scope_words: str
    thresholds: list[Threshold]
    emails: list[str]
    webhooks: list[str]  # masked for members who are not admins (a webhook URL is a credential)
    use_tenant_channels: bool
    created_at: datetime
    updated_at: datetime
    status: StatusOut | None = None


def _can_write(request: HttpRequest, tenant: Tenant) -> bool:
    return membership_role(user=request.user, tenant=tenant) == Membership.Role.ADMIN


def _writer(request: HttpRequest, tenant_slug: str) -> Tenant:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if not _can_write(request, tenant):
        raise HttpError(403, "Only tenant admins can create, change or delete budgets.")
    return tenant


def _out(budget: Budget, *, full: bool, status: selectors.BudgetStatus | None = None) -> dict[str, Any]:
    out = {
        "id": budget.pk,
        "name": budget.name,
        "amount_usd": Decimal(budget.amount_usd).quantize(CENT),
        "period": budget.period,
        "basis": budget.basis,
        "scope": budget.scope,
        "scope_words": budget.scope_words,
        "thresholds": budget.thresholds,
        "emails": budget.emails,
        "webhooks": budget.webhooks if full else [mask_url(u) for u in budget.webhooks],
        "use_tenant_channels": budget.use_tenant_channels,
        "created_at": budget.created_at,
        "updated_at": budget.updated_at,
    }
    if status is not None:
        f = status.forecast
        out["status"] = {
            "as_of": status.as_of,
            "period_start": status.period_start,
            "period_end": status.period_end,
            "known_through": status.known_through,
            "actual_usd": status.actual_usd,
            "forecast_usd": f.total,
            "forecast_low_usd": f.low,
            "forecast_high_usd": f.high,
            "status": status.status,
            "thresholds_crossed": [{"kind": t.kind, "pct": t.pct} for t in status.crossed],
            "backtest_wape_pct": status.backtest.wape_pct,
            "backtest_periods": len(status.backtest.periods),
        }
    return out


def _values(payload: Schema, *, partial: bool) -> dict[str, Any]:
    values = payload.model_dump(exclude_unset=partial)
    if partial:
        values = {k: v for k, v in values.items() if v is not None or k == "thresholds"}
    elif values.get("thresholds") is None:
        values["thresholds"] = default_thresholds()
    return values


def _bad_request(exc: ValidationError) -> HttpError:
    if hasattr(exc, "error_dict"):
        detail = " ".join(
            " ".join(msgs) if field == NON_FIELD_ERRORS else f"{field}: {' '.join(msgs)}"
            for field, msgs in exc.message_dict.items()
        )
    else:
        detail = " ".join(exc.messages)
    return HttpError(400, detail)


@router.get("/{tenant_slug}/", response=list[BudgetOut])
@paginate(PageNumberPagination, page_size=50)
def list_budgets(request: HttpRequest, tenant_slug: str) -> list[dict[str, Any]]:
    """The tenant's budgets, by name, 50 a page (`?page=2`)."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    full = _can_write(request, tenant)
    return [_out(b, full=full) for b in selectors.budgets_for(tenant=tenant)]


@router.get("/{tenant_slug}/{budget_id}", response=BudgetOut)
def get_budget(request: HttpRequest, tenant_slug: str, budget_id: int, as_of: date | None = None) -> dict[str, Any]:
    """One budget with where it stands today (or `as_of`): actual, forecast and band, thresholds crossed."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=budget_id)
    try:
        status = selectors.budget_status(budget=budget, as_of=as_of)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
    return _out(budget, full=_can_write(request, tenant), status=status)


@router.post("/{tenant_slug}/", response={201: BudgetOut})
def create_budget(request: HttpRequest, tenant_slug: str, payload: BudgetIn) -> Status:
    tenant = _writer(request, tenant_slug)
    try:
        budget = budget_create(tenant=tenant, actor=request.user, **_values(payload, partial=False))
    except ValidationError as exc:
        raise _bad_request(exc) from exc
    return Status(201, _out(budget, full=True))


@router.put("/{tenant_slug}/{budget_id}", response=BudgetOut)
def replace_budget(request: HttpRequest, tenant_slug: str, budget_id: int, payload: BudgetIn) -> dict[str, Any]:
    tenant = _writer(request, tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=budget_id)
    try:
        budget = budget_update(budget=budget, actor=request.user, **_values(payload, partial=False))
    except ValidationError as exc:
        raise _bad_request(exc) from exc
    return _out(budget, full=True)


@router.patch("/{tenant_slug}/{budget_id}", response=BudgetOut)
def update_budget(request: HttpRequest, tenant_slug: str, budget_id: int, payload: BudgetPatch) -> dict[str, Any]:
    """Change the fields sent; the others stay."""
    tenant = _writer(request, tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=budget_id)
    values = _values(payload, partial=True)
    if "thresholds" in values and values["thresholds"] is None:
        values["thresholds"] = default_thresholds()
    try:
        budget = budget_update(budget=budget, actor=request.user, **values)
    except ValidationError as exc:
        raise _bad_request(exc) from exc
    return _out(budget, full=True)


@router.delete("/{tenant_slug}/{budget_id}", response={204: None})
def delete_budget(request: HttpRequest, tenant_slug: str, budget_id: int) -> Status:
    tenant = _writer(request, tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=budget_id)
    budget_delete(budget=budget, actor=request.user)
    return Status(204, None)
