"""The inventory in the admin: read-only for everyone (the sync writes it), customer admins see their tenants'."""

from __future__ import annotations

from django.contrib import admin

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from inventory.models import FoundationModel, InferenceProfile, LoggingConfiguration, ProvisionedThroughput


@admin.register(InferenceProfile)
class InferenceProfileAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("name", "tenant", "account_id", "region", "catalog_model_id", "status", "last_seen_at", "gone_at")
    list_filter = ("region", "status", "tenant")
    search_fields = ("name", "arn", "catalog_model_id")
    readonly_fields = [f.name for f in InferenceProfile._meta.fields]


@admin.register(ProvisionedThroughput)
class ProvisionedThroughputAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = (
        "name", "tenant", "account_id", "region", "catalog_model_id", "model_units", "commitment_duration",
        "commitment_expires_at", "status", "gone_at",
    )  # fmt: skip
    list_filter = ("region", "status", "commitment_duration", "tenant")
    search_fields = ("name", "arn", "model_id")
    readonly_fields = [f.name for f in ProvisionedThroughput._meta.fields]


@admin.register(FoundationModel)
class FoundationModelAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("model_id", "tenant", "account_id", "region", "provider", "lifecycle", "legacy_at", "gone_at")
    list_filter = ("lifecycle", "region", "provider", "tenant")
    search_fields = ("model_id", "name", "provider")
    readonly_fields = [f.name for f in FoundationModel._meta.fields]


@admin.register(LoggingConfiguration)
class LoggingConfigurationAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ("account_id", "region", "tenant", "enabled", "cloudwatch_log_group", "s3_bucket", "last_seen_at")
    list_filter = ("enabled", "region", "tenant")
    readonly_fields = [f.name for f in LoggingConfiguration._meta.fields]
