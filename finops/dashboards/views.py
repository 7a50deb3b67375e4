"""Dashboard pages: thin views that parse the query string, call a selector and render."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from connections.models import Membership
from connections.selectors import membership_role, tenant_for_user, tenants_for_user
from finops.dashboards import charts
from finops.dashboards import selectors as dashboard_selectors
from finops.ledger.services import ledger_reprice_request
from ingestion.runs import import_runs_mark_interrupted
from ingestion.selectors import import_runs_needing_attention
from recommendations import selectors as rec_selectors
from recommendations.models import Recommendation
from recommendations.services import (
    measured_savings,
    recommendation_accept,
    recommendation_dismiss,
    recommendation_reopen,
)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _parse_date(raw: str) -> date | None:
    # fromisoformat also takes "20240131" and week dates; the form promises YYYY-MM-DD only.
    if len(raw) != 10:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def _parse_range(params: QueryDict) -> tuple[date | None, date | None, list[str]]:
    """`start` and `end` from the query string; any bad value is reported and the default range used."""
    parsed: dict[str, date | None] = {}
    errors: list[str] = []
    for name in ("start", "end"):
        raw = params.get(name, "").strip()
        parsed[name] = _parse_date(raw) if raw else None
        if raw and parsed[name] is None:
            errors.append(f"“{raw}” is not a valid {name} date: use YYYY-MM-DD.")
    start, end = parsed["start"], parsed["end"]
    if start and end and start > end:
        errors.append("The start date is after the end date.")
    if errors:
        return None, None, [*errors, "Showing the default range instead."]
    return start, end, []


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    tenants = list(tenants_for_user(user=request.user))
    if len(tenants) == 1:
        return redirect("overview", tenant_slug=tenants[0].slug)
    return render(request, "dashboards/home.html", {"tenants": tenants})


@login_required
@require_GET
@vary_on_headers("HX-Request")
def overview(request: HtmxHttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    start, end, errors = _parse_range(request.GET)
    # An import whose process died must read as interrupted here, not as still running.
    import_runs_mark_interrupted(tenant=tenant)
    data = dashboard_selectors.overview(tenant=tenant, start=start, end=end)
    context = {
        "tenant": tenant,
        "overview": data,
        "import_problems": import_runs_needing_attention(tenant=tenant),
        "can_reprice": can_reprice(request, tenant),
        "offer": rec_selectors.savings_on_offer(tenant=tenant),
        "errors": errors,
        "trend_div": charts.figure_div(charts.daily_trend(data.daily)) if data.has_period_data else "",
        "models_div": charts.figure_div(charts.top_models_bar(data.top_models)) if data.top_models else "",
    }
    # A history-restore request (cache miss on back/forward) needs the whole page, not the fragment.
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "dashboards/overview.html#overview-content", context)
    context["tenants"] = list(tenants_for_user(user=request.user))
    return render(request, "dashboards/overview.html", context)


REPRICERS = {Membership.Role.ANALYST, Membership.Role.ADMIN}


def can_reprice(request: HttpRequest, tenant: object) -> bool:
    return membership_role(user=request.user, tenant=tenant) in REPRICERS


@login_required
@require_POST
def reprice(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Re-price the tenant's requests from the current catalog (analysts and admins)."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if not can_reprice(request, tenant):
        raise PermissionDenied("Only analysts and admins can re-price.")
    ledger_reprice_request(tenant=tenant, actor=request.user)
    messages.success(
        request,
        "Re-pricing the requests from the current price catalog: the estimates and the allocation of the bill "
        "are recomputed (it runs in the background; reload in a moment).",
    )
    return redirect("overview", tenant_slug=tenant.slug)


# --- recommendations ---------------------------------------------------------------------------------


@login_required
@require_GET
def recommendations(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "open")
    kinds = dict(Recommendation.Kind.choices)
    statuses = dict(Recommendation.Status.choices)
    errors = []
    if kind and kind not in kinds:
        errors.append(f"“{kind}” is not a kind of recommendation; showing every kind.")
        kind = ""
    if status not in statuses and status != "all":
        errors.append(f"“{status}” is not a status; showing the open ones.")
        status = "open"
    cards = sorted(
        rec_selectors.recommendations_for(tenant=tenant, kind=kind, status="" if status == "all" else status),
        key=lambda c: c.value_usd,
        reverse=True,
    )
    items = [
        {
            "card": card,
            "chart": charts.figure_div(charts.pattern_chart(card.chart)) if card.chart.get("x") else "",
            "figures": {k: v for k, v in card.evidence.items() if k != "request_ids"},
            "measured": measured_savings(rec=card) if card.status == Recommendation.Status.ACCEPTED else None,
        }
        for card in cards
    ]
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "items": items,
        "kinds": kinds,
        "statuses": statuses,
        "kind": kind,
        "status": status,
        "errors": errors,
        "can_act": can_reprice(request, tenant),
        "offer": rec_selectors.savings_on_offer(tenant=tenant),
    }
    return render(request, "dashboards/recommendations.html", context)


def _card(request: HttpRequest, tenant_slug: str, pk: int) -> Recommendation:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    card = rec_selectors.recommendations_for(tenant=tenant).filter(pk=pk).first()
    if card is None:
        raise Http404("No such recommendation.")
    if not can_reprice(request, tenant):
        raise PermissionDenied("Only analysts and admins can accept or dismiss recommendations.")
    return card


def _back(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    url = reverse("recommendations", kwargs={"tenant_slug": tenant_slug})
    query = request.POST.get("next_query", "")
    return redirect(f"{url}?{query}" if query and "//" not in query else url)


@login_required
@require_POST
def recommendation_accept_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    card = recommendation_accept(rec=_card(request, tenant_slug, pk), actor=request.user)
    messages.success(request, f"Accepted: {card.title}. Its savings are measured from tomorrow's data.")
    return _back(request, tenant_slug)


@login_required
@require_POST
def recommendation_dismiss_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    card = _card(request, tenant_slug, pk)
    try:
        recommendation_dismiss(rec=card, actor=request.user, reason=request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Dismissed: {card.title}. It comes back only if its value doubles.")
    return _back(request, tenant_slug)


@login_required
@require_POST
def recommendation_reopen_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    card = recommendation_reopen(rec=_card(request, tenant_slug, pk), actor=request.user)
    messages.success(request, f"Reopened: {card.title}.")
    return _back(request, tenant_slug)
