from __future__ import annotations

from django.contrib import admin

from connections.admin_site import ReadOnlyAdminMixin, TenantScopedAdmin
from recommendations.models import Recommendation


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Cards are accepted and dismissed on the recommendations page (audited there); here they are read."""

    list_display = ("title", "tenant", "kind", "status", "monthly_savings_usd", "monthly_impact_usd", "last_seen_at")
    list_filter = ("kind", "status", "tenant")
    readonly_fields = [f.name for f in Recommendation._meta.fields]
