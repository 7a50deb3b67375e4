"""Budget pages: the list, budget vs actual, and create / edit / delete for tenant admins (and staff). Analysts and
viewers read; their POSTs are refused with 403. Another tenant's pages are 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods

from budgets import selectors
from budgets.charts import budget_chart
from budgets.forms import BudgetForm
from budgets.models import Budget
from budgets.services import budget_create, budget_delete, budget_update
from connections.models import Membership, Tenant
from connections.selectors import membership_role, tenant_for_user, tenants_for_user
from finops.dashboards.charts import figure_div


def can_manage(request: HttpRequest, tenant: Tenant) -> bool:
    """Tenant admins and staff (membership_role says admin for staff)."""
    return membership_role(user=request.user, tenant=tenant) == Membership.Role.ADMIN


def _forbidden(request: HttpRequest, tenant: Tenant, what: str) -> HttpResponse:
    context = {"tenant": tenant, "tenants": list(tenants_for_user(user=request.user)), "what": what}
    return render(request, "budgets/forbidden.html", context, status=403)


def explorer_url(tenant: Tenant, budget: Budget, status: selectors.BudgetStatus) -> str:
    """The explorer filtered to the budget's scope and basis over its period."""
    query = selectors.explorer_query(budget, status.period_start, status.period_end)
    try:
        base = reverse("explore", kwargs={"tenant_slug": tenant.slug})
    except NoReverseMatch:  # the explorer pages are not mounted (yet)
        base = f"/t/{tenant.slug}/explore/"
    return f"{base}?{query.querystring()}"


@login_required
@require_GET
def budget_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "statuses": selectors.budget_statuses(tenant=tenant),
        "can_manage": can_manage(request, tenant),
        "today": selectors.today(),
    }
    return render(request, "budgets/list.html", context)


@login_required
@require_GET
def budget_detail(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=pk)
    status = selectors.budget_status(budget=budget)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "budget": budget,
        "status": status,
        "chart": figure_div(budget_chart(status)) if status.has_data else "",
        "alerts": selectors.budget_alerts(budget=budget),
        "explorer_url": explorer_url(tenant, budget, status),
        "can_manage": can_manage(request, tenant),
    }
    return render(request, "budgets/detail.html", context)


def _form_page(request: HttpRequest, tenant: Tenant, form: BudgetForm, budget: Budget | None) -> HttpResponse:
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "form": form,
        "budget": budget,
        "known_values": selectors.known_values(tenant=tenant),
    }
    return render(request, "budgets/form.html", context, status=400 if form.is_bound else 200)


@login_required
@require_http_methods(["GET", "POST"])
def budget_create_view(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if not can_manage(request, tenant):
        return _forbidden(request, tenant, "create budgets")
    form = BudgetForm(request.POST if request.method == "POST" else None, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            budget = budget_create(tenant=tenant, actor=request.user, **form.values())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Created the budget {budget.name}.")
            return redirect("budgets:detail", tenant_slug=tenant.slug, pk=budget.pk)
    return _form_page(request, tenant, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def budget_edit_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=pk)
    if not can_manage(request, tenant):
        return _forbidden(request, tenant, "change budgets")
    form = BudgetForm(request.POST if request.method == "POST" else None, instance=budget, tenant=tenant)
    if request.method == "POST" and form.is_valid():
        try:
            budget = budget_update(budget=budget, actor=request.user, **form.values())
        except ValidationError as exc:
            budget.refresh_from_db()
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Saved the budget {budget.name}.")
            return redirect("budgets:detail", tenant_slug=tenant.slug, pk=budget.pk)
    return _form_page(request, tenant, form, budget)


@login_required
@require_http_methods(["GET", "POST"])
def budget_delete_view(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    budget = selectors.budget_for(tenant=tenant, pk=pk)
    if not can_manage(request, tenant):
        return _forbidden(request, tenant, "delete budgets")
    if request.method == "POST":
        name = budget.name
        budget_delete(budget=budget, actor=request.user)
        messages.success(request, f"Deleted the budget {name} and its alert history.")
        return redirect("budgets:list", tenant_slug=tenant.slug)
    context = {
        "tenant": tenant,
        "tenants": list(tenants_for_user(user=request.user)),
        "budget": budget,
        "alert_count": budget.alerts.count(),
    }
    return render(request, "budgets/delete.html", context)
