"""Recommendation endpoints: the tenant's cards (filtered, paginated), and accepting or dismissing one
(analysts, admins and staff; viewers get 403). The services audit every change; a change made with an API
token is audited once more as api.write (connections.api_auth)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from connections.api_auth import COMMON_ERRORS, PageOut, api_require_role, api_tenant, error_responses, paginate
from connections.models import Tenant
from recommendations import selectors
from recommendations.models import Recommendation
from recommendations.services import measured_savings, recommendation_accept, recommendation_dismiss

router = Router(tags=["recommendations"])


class CardQuery(Schema):
    kind: str | None = Field(None, description=f"One of {', '.join(Recommendation.Kind.values)}.")
    status: str | None = Field(None, description=f"One of {', '.join(Recommendation.Status.values)}.")
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=500)


class CardOut(Schema):
    id: int
    kind: str
    anomaly_type: str
    title: str
    status: str
    scope: dict[str, Any]
    monthly_savings_usd: Decimal | None
    monthly_impact_usd: Decimal | None
    value_usd: Decimal = Field(description="Its monthly savings, else its monthly impact.")
    confidence: str
    evidence: dict[str, Any]
    math: str
    action: str
    snippet: str
    dismissed_reason: str
    accepted_at: datetime | None
    baseline_daily_usd: Decimal | None = Field(description="The scope's daily cost before it was accepted.")
    first_seen_at: datetime
    last_seen_at: datetime
    status_changed_at: datetime


class CardPage(Schema):
    items: list[CardOut]
    pagination: PageOut


class MeasuredOut(Schema):
    before_daily_usd: Decimal
    after_daily_usd: Decimal
    monthly_savings_usd: Decimal
    days: Decimal


class CardDetailOut(CardOut):
    measured: MeasuredOut | None = Field(None, description="Savings measured since it was accepted.")


class DismissIn(Schema):
    reason: str = Field(description="Why it does not apply; kept with the card.")


def _card(tenant: Tenant, card_id: int) -> Recommendation:
    card = selectors.recommendations_for(tenant=tenant).filter(pk=card_id).first()
    if card is None:
        raise Http404("No such recommendation.")
    return card


@router.get("/{tenant_slug}/", response={200: CardPage, **error_responses(*COMMON_ERRORS)}, summary="Recommendations")
def card_list(request: HttpRequest, tenant_slug: str, query: Query[CardQuery]) -> dict[str, Any]:
    """The tenant's recommendation cards, largest monthly value first."""
    tenant = api_tenant(request, tenant_slug)
    if query.kind and query.kind not in Recommendation.Kind.values:
        raise HttpError(400, f"kind={query.kind!r}: use one of {', '.join(Recommendation.Kind.values)}.")
    if query.status and query.status not in Recommendation.Status.values:
        raise HttpError(400, f"status={query.status!r}: use one of {', '.join(Recommendation.Status.values)}.")
    cards = selectors.recommendations_for(tenant=tenant, kind=query.kind or "", status=query.status or "")
    # Nulls last on both databases (PostgreSQL puts them first in a descending order by default).
    cards = cards.order_by(
        F("monthly_savings_usd").desc(nulls_last=True), F("monthly_impact_usd").desc(nulls_last=True), "-id"
    )
    pagination, first, last = paginate(cards.count(), query.page, query.page_size)
    return {"items": list(cards[first:last]), "pagination": pagination}


@router.get(
    "/{tenant_slug}/{int:card_id}",
    response={200: CardDetailOut, **error_responses(*COMMON_ERRORS)},
    summary="One recommendation",
)
def card_detail(request: HttpRequest, tenant_slug: str, card_id: int) -> Recommendation:
    """One card, with the savings measured since it was accepted."""
    card = _card(api_tenant(request, tenant_slug), card_id)
    card.measured = measured_savings(rec=card)  # type: ignore[attr-defined]
    return card


@router.post(
    "/{tenant_slug}/{int:card_id}/accept",
    response={200: CardOut, **error_responses(*COMMON_ERRORS, 403)},
    summary="Accept a recommendation (analyst, admin)",
)
def card_accept(request: HttpRequest, tenant_slug: str, card_id: int) -> Recommendation:
    """Accept a card: its scope's daily cost is kept as the baseline its savings are measured against."""
    tenant = api_tenant(request, tenant_slug)
    card = _card(tenant, card_id)
    api_require_role(request, tenant)
    return recommendation_accept(rec=card, actor=request.user)


@router.post(
    "/{tenant_slug}/{int:card_id}/dismiss",
    response={200: CardOut, **error_responses(*COMMON_ERRORS, 403)},
    summary="Dismiss a recommendation with a reason (analyst, admin)",
)
def card_dismiss(request: HttpRequest, tenant_slug: str, card_id: int, body: DismissIn) -> Recommendation:
    """Dismiss a card with a reason (required); it comes back only if its value doubles."""
    tenant = api_tenant(request, tenant_slug)
    card = _card(tenant, card_id)
    api_require_role(request, tenant)
    try:
        return recommendation_dismiss(rec=card, actor=request.user, reason=body.reason)
    except ValueError as exc:
        raise HttpError(400, str(exc)) from exc
