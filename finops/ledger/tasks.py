"""django-q2 tasks of the ledger: thin, take primitive ids, call one service, return a small summary."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from connections.models import Tenant
from finops.ledger.services import ledger_reprice


def reprice_tenant(tenant_id: int, actor_id: int | None = None) -> dict[str, object]:
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"tenant_id": tenant_id, "skipped": "the tenant no longer exists"}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    result = ledger_reprice(tenant=tenant, actor=actor)
    return {"tenant_id": tenant_id, "rows": result.rows, "changed": result.changed, "after": str(result.after_usd)}
