"""Provider connection pages: list, add, detail (validate, sync now, runs, watermarks), delete. Thin views;
tenant admins (and staff) change things, other members read, outsiders get 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connections.models import Membership, Tenant
from connections.selectors import membership_role, tenant_for_user, tenants_for_user
from providers import selectors
from providers.forms import ProviderConnectionForm, mapping_from_post
from providers.labels import mapping_merge, provider_mapping_set
from providers.services import (
    provider_connection_create,
    provider_connection_delete,
    provider_connection_validate,
)


def _is_admin(request: HttpRequest, tenant: Tenant) -> bool:
    return membership_role(user=request.user, tenant=tenant) == Membership.Role.ADMIN


def _context(request: HttpRequest, tenant: Tenant, **extra: object) -> dict[str, object]:
    return {"tenant": tenant, "tenants": list(tenants_for_user(user=request.user)), **extra}


def _forbidden(request: HttpRequest, tenant: Tenant, what: str) -> HttpResponse:
    return render(request, "connections/forbidden.html", _context(request, tenant, what=what), status=403)


@login_required
@require_GET
def provider_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connections = list(selectors.provider_connections(tenant=tenant))
    last = selectors.provider_last_syncs(tenant=tenant, connection_ids=[c.pk for c in connections])
    rows = [{"connection": c, "last_sync": last.get(c.pk)} for c in connections]
    return render(
        request,
        "providers/list.html",
        _context(request, tenant, connections=connections, rows=rows, is_admin=_is_admin(request, tenant)),
    )


@login_required
@require_http_methods(["GET", "POST"])
def provider_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "add provider connections")
    form = ProviderConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = provider_connection_create(tenant=tenant, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{connection.name} added. Validate it to check the key.")
            return redirect("providers:detail", tenant_slug=tenant.slug, pk=connection.pk)
    return render(
        request, "providers/form.html", _context(request, tenant, form=form), status=400 if form.errors else 200
    )


def _detail_context(request: HttpRequest, tenant: Tenant, pk: int, **extra: object) -> dict[str, object]:
    connection = selectors.provider_connection_for(tenant=tenant, pk=pk)
    return _context(
        request,
        tenant,
        connection=connection,
        runs=selectors.provider_recent_runs(connection=connection),
        last_sync=selectors.provider_last_syncs(tenant=tenant, connection_ids=[connection.pk]).get(connection.pk),
        watermarks=selectors.provider_watermarks(connection=connection),
        is_admin=_is_admin(request, tenant),
        **extra,
    )


@login_required
@require_GET
def provider_detail(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    return render(request, "providers/detail.html", _detail_context(request, tenant, pk))


@login_required
@require_POST
def provider_validate(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connection = selectors.provider_connection_for(tenant=tenant, pk=pk)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "validate provider connections")
    result = provider_connection_validate(connection=connection, actor=request.user)
    htmx = bool(getattr(request, "htmx", False))
    context = _detail_context(request, tenant, pk, validation=result, oob=htmx)
    template = "providers/detail.html#validation" if htmx else "providers/detail.html"
    return render(request, template, context)


@login_required
@require_POST
def provider_sync_now(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connection = selectors.provider_connection_for(tenant=tenant, pk=pk)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "sync provider connections")
    from django_q.tasks import async_task

    sync = bool(getattr(settings, "Q_CLUSTER", {}).get("sync", False))
    transaction.on_commit(
        lambda: async_task("providers.tasks.sync_provider_task", connection.pk, "manual", group="sync", sync=sync)
    )
    messages.success(request, "Sync queued: usage and costs are read in the background. Reload this page to follow it.")
    return redirect("providers:detail", tenant_slug=tenant.slug, pk=connection.pk)


@login_required
@require_http_methods(["GET", "POST"])
def provider_delete(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connection = selectors.provider_connection_for(tenant=tenant, pk=pk)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "delete provider connections")
    if request.method == "POST":
        name = connection.name
        provider_connection_delete(connection=connection, actor=request.user)
        messages.success(request, f"{name} deleted. The spend it loaded stays in the ledger.")
        return redirect("providers:list", tenant_slug=tenant.slug)
    return render(request, "providers/delete.html", _context(request, tenant, connection=connection))


@login_required
@require_http_methods(["GET", "POST"])
def provider_mapping(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    """Project/workspace -> application and team; saving relabels the spend already loaded."""
    tenant = tenant_for_user(user=request.user, slug=tenant_slug)
    connection = selectors.provider_connection_for(tenant=tenant, pk=pk)
    if not _is_admin(request, tenant):
        return _forbidden(request, tenant, "change the mapping of provider connections")
    scopes = selectors.provider_scopes(connection=connection)
    if request.method == "POST":
        shown = {s.object_id for s in scopes}
        posted = mapping_from_post(request.POST, known=shown)
        mapping = mapping_merge(connection.mapping or {}, posted, shown=shown)
        done = provider_mapping_set(connection=connection, mapping=mapping, actor=request.user)
        messages.success(
            request,
            f"Mapping saved: {done.rows:,} loaded row(s) relabelled"
            + (f" in {', '.join(f'{p:%b %Y}' for p in sorted(done.periods))}." if done.periods else "."),
        )
        return redirect("providers:mapping", tenant_slug=tenant.slug, pk=connection.pk)
    mapping = connection.mapping or {}
    rows = [{"scope": s, "mapped": mapping.get(s.object_id) or {}} for s in scopes]
    return render(
        request,
        "providers/mapping.html",
        _context(request, tenant, connection=connection, rows=rows, scope_kind=_scope_kind(connection)),
    )


def _scope_kind(connection: object) -> str:
    return "workspace" if getattr(connection, "kind", "") == "anthropic" else "project"
