from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest
from django.utils import timezone

from connections.admin_site import ReadOnlyAdminMixin, RestrictedLookupsMixin, TenantScopedAdmin, admin_tenant_ids
from connections.models import AlertChannel, ApiToken, AuditLog, AwsConnection, MemberAccount, Membership, Tenant
from connections.services import api_token_revoke, audit_log_record, connection_delete

admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(RestrictedLookupsMixin, DjangoUserAdmin):
    """Django's user admin (staff only), without query-string lookups such as `?password__startswith=`."""


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = "id"
    customer_can = ("view", "change")
    list_display = ("name", "slug", "retention_months", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> tuple[str, ...]:
        if self._is_staff(request):
            return ("created_at",)
        return ("slug", "created_at")

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=obj,
            actor=request.user,
            action="tenant.changed" if change else "tenant.created",
            target=obj.slug,
            details={"fields": sorted(form.changed_data)},
        )


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    customer_can = ("view", "add", "change", "delete")
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "tenant")
    search_fields = ("user__username", "user__email", "tenant__name")
    autocomplete_fields = ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user" and not self._is_staff(request):
            from django.contrib.auth import get_user_model

            # Customer admins pick among people already in their tenants, never the whole user list.
            kwargs["queryset"] = get_user_model().objects.filter(memberships__tenant_id__in=admin_tenant_ids(request))
            kwargs["queryset"] = kwargs["queryset"].distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=obj.tenant,
            actor=request.user,
            action="membership.changed" if change else "membership.granted",
            target=obj.user.get_username(),
            details={"role": obj.role},
        )

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        audit_log_record(
            tenant=obj.tenant, actor=request.user, action="membership.revoked", target=obj.user.get_username()
        )
        super().delete_model(request, obj)


class MemberAccountInline(admin.TabularInline):
    model = MemberAccount
    extra = 0
    fields = ("account_id", "name", "role_status", "last_checked_at", "last_error")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AwsConnection)
class AwsConnectionAdmin(TenantScopedAdmin):
    customer_can = ("view", "add", "change", "delete")
    list_display = ("name", "tenant", "account_id", "mode", "status", "last_validated_at")
    list_filter = ("status", "mode", "tenant")
    search_fields = ("name", "account_id", "role_arn")
    readonly_fields = ("external_id", "status", "last_validated_at", "last_error", "created_at", "updated_at")
    inlines = [MemberAccountInline]
    fieldsets = (
        (None, {"fields": ("tenant", "name", "account_id", "mode", "status")}),
        ("Role", {"fields": ("external_id", "role_name", "role_path_prefix", "member_role_name", "role_arn")}),
        (
            "Data sources",
            {
                "fields": (
                    "regions",
                    "cur_payer_account_id",
                    "cur_bucket",
                    "cur_prefix",
                    "cur_export_name",
                    "log_group_arn",
                    "log_bucket",
                    "log_prefix",
                    "allowed_source_ips",
                )
            },
        ),
        ("Validation", {"fields": ("last_validated_at", "last_error", "created_at", "updated_at")}),
    )

    def save_model(self, request: HttpRequest, obj: AwsConnection, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=obj.tenant,
            actor=request.user,
            action="connection.edited" if change else "connection.created",
            target=obj.name,
            details={"connection_id": obj.pk, "fields": sorted(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: AwsConnection) -> None:
        connection_delete(connection=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            connection_delete(connection=obj, actor=request.user)


@admin.register(MemberAccount)
class MemberAccountAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    tenant_field = "connection__tenant"
    list_display = ("account_id", "name", "connection", "role_status", "last_checked_at")
    list_filter = ("role_status",)
    search_fields = ("account_id", "name", "connection__name")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("created_at", "tenant", "actor_label", "action", "target")
    list_filter = ("action", "tenant")
    search_fields = ("action", "target", "actor_label")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "tenant", "actor", "actor_label", "action", "target", "details")


@admin.register(AlertChannel)
class AlertChannelAdmin(TenantScopedAdmin):
    """Customer admins manage their tenant's alert channels; every change is audited."""

    customer_can = ("view", "add", "change", "delete")
    list_display = ("tenant", "kind", "target", "enabled", "created_at")
    list_filter = ("kind", "enabled", "tenant")

    def save_model(self, request: HttpRequest, obj: AlertChannel, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_log_record(
            tenant=obj.tenant,
            actor=request.user,
            action="alert_channel.changed" if change else "alert_channel.added",
            target=str(obj)[:255],
        )

    def delete_model(self, request: HttpRequest, obj: AlertChannel) -> None:
        audit_log_record(tenant=obj.tenant, actor=request.user, action="alert_channel.removed", target=str(obj)[:255])
        super().delete_model(request, obj)


@admin.register(ApiToken)
class ApiTokenAdmin(RestrictedLookupsMixin, admin.ModelAdmin):
    """Staff see every personal API token (never its hash: only the hash is stored, and it is not shown) and
    revoke them; nobody adds or edits one here (a token is created by its user, or create_api_token)."""

    list_display = ("name", "prefix_shown", "user", "tenant", "created_at", "last_used_at", "expires_at", "status")
    list_filter = ("tenant",)
    search_fields = ("name", "prefix", "user__username")
    fields = ("name", "prefix_shown", "user", "tenant", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Staff may run the revoke action (Django asks for change permission); the fields stay read-only.
        return bool(request.user.is_active and request.user.is_staff) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: a revoked token stays listed, with when it was revoked

    @admin.display(description="Token")
    def prefix_shown(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="Status")
    def status(self, obj: ApiToken) -> str:
        return obj.status_at(timezone.now())

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: Any) -> None:
        revoked = 0
        for token in queryset.select_related("user", "tenant"):
            if token.revoked_at is None:
                api_token_revoke(token=token, actor=request.user)
                revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).")
