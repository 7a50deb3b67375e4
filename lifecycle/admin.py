"""Deletion requests in the admin: staff request (after a confirmation page) and cancel them from the tenant
list; everyone who may see a tenant in the admin sees its requests (read-only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from connections.admin import TenantAdmin
from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from connections.models import Tenant
from lifecycle.deletion import (
    DeletionError,
    deletion_plan,
    deletion_request_cancel,
    deletion_request_create,
    grace_days,
)
from lifecycle.deletion import pending_request as tenant_pending_request
from lifecycle.models import DeletionRequest


def _is_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff)


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("tenant", "scope", "before", "requested_by_label", "requested_at", "due_at", "state")
    list_filter = ("scope", "tenant")
    readonly_fields = (
        "tenant", "scope", "before", "requested_by_label", "reason", "requested_at", "due_at", "cancelled_at",
        "cancelled_by_label", "started_at", "executed_at", "receipt",
    )  # fmt: skip
    fields = readonly_fields
    actions = ["cancel_requests"]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    @admin.action(description="Cancel the selected pending requests", permissions=["cancel"])
    def cancel_requests(self, request: HttpRequest, queryset: Any) -> None:
        _cancel(self, request, [r for r in queryset.select_related("tenant") if r.pending])


def _cancel(model_admin: admin.ModelAdmin, request: HttpRequest, pending: list[DeletionRequest]) -> None:
    cancelled = 0
    for deletion in pending:
        try:
            deletion_request_cancel(request=deletion, actor=request.user, via="admin")
            cancelled += 1
        except DeletionError as exc:
            model_admin.message_user(request, str(exc), messages.WARNING)
    model_admin.message_user(request, f"Cancelled {cancelled} deletion request(s): nothing of them will be deleted.")


admin.site.unregister(Tenant)


@admin.register(Tenant)
class LifecycleTenantAdmin(TenantAdmin):
    """The tenant admin of connections, with the staff's deletion actions."""

    actions = ["request_deletion", "cancel_deletion"]

    def has_lifecycle_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    @admin.action(description="Request deletion of data (after a grace period)…", permissions=["lifecycle"])
    def request_deletion(self, request: HttpRequest, queryset: Any) -> HttpResponse | None:
        tenants = list(queryset.order_by("slug"))
        scope = request.POST.get("scope", DeletionRequest.Scope.ALL)
        before_text = request.POST.get("before", "").strip()
        error = ""
        if request.POST.get("apply"):
            before = None
            if scope == DeletionRequest.Scope.BEFORE:
                try:
                    before = date.fromisoformat(before_text)
                except ValueError:
                    error = "Give the date as YYYY-MM-DD."
            confirmed = request.POST.get("confirm", "").strip() == ",".join(t.slug for t in tenants)
            if not error and not confirmed:
                error = "Type the tenant slugs exactly as shown to confirm."
            if not error:
                for tenant in tenants:
                    try:
                        made = deletion_request_create(
                            tenant=tenant, scope=scope, before=before, actor=request.user, via="admin"
                        )
                        self.message_user(request, f"{tenant.slug}: deletion requested, due {made.due_at:%Y-%m-%d}.")
                    except DeletionError as exc:
                        self.message_user(request, f"{tenant.slug}: {exc}", messages.ERROR)
                return None
        plans = [(t, deletion_plan(tenant=t, scope=DeletionRequest.Scope.ALL, before=None)) for t in tenants]
        context = {
            **self.admin_site.each_context(request),
            "title": "Request deletion of tenant data",
            "opts": self.model._meta,
            "tenants": tenants,
            "plans": plans,
            "slugs": ",".join(t.slug for t in tenants),
            "scope": scope,
            "before": before_text,
            "error": error,
            "grace_days": grace_days(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        }
        return TemplateResponse(request, "lifecycle/admin/request_deletion.html", context)

    @admin.action(description="Cancel the pending deletion request", permissions=["lifecycle"])
    def cancel_deletion(self, request: HttpRequest, queryset: Any) -> None:
        pending = [p for p in (tenant_pending_request(tenant=t) for t in queryset) if p is not None and p.pending]
        _cancel(self, request, pending)
