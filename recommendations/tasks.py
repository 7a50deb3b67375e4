"""django-q2 tasks: thin, take primitive ids, call one service, return a small summary."""

from __future__ import annotations

from connections.models import Tenant
from recommendations.services import recommendations_run


def recommend_tenant(tenant_id: int) -> dict[str, object]:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"tenant_id": tenant_id, "skipped": "the tenant no longer exists"}
    result = recommendations_run(tenant=tenant)
    return {"tenant_id": tenant_id, "cards": len(result.cards), "created": result.created, "errors": result.errors}


def recommend_all() -> dict[str, object]:
    """Nightly: every tenant with data."""
    runs = {tenant.slug: recommend_tenant(tenant.pk) for tenant in Tenant.objects.all()}
    return {"tenants": len(runs)}
