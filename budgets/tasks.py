"""django-q2 tasks: thin, take primitive ids, call one service, return a small summary."""

from __future__ import annotations

import logging

from budgets.models import Budget
from budgets.services import budgets_evaluate
from connections.models import Tenant

logger = logging.getLogger(__name__)


def evaluate_tenant(tenant_id: int) -> dict[str, object]:
    """After an import or sync: the tenant's budgets, alerting thresholds crossed for the first time."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return {"tenant_id": tenant_id, "skipped": "the tenant no longer exists"}
    evaluations = budgets_evaluate(tenant)
    return {
        "tenant_id": tenant_id,
        "budgets": len(evaluations),
        "alerts_sent": sum(len(e.alerts_sent) for e in evaluations),
    }


def evaluate_all() -> dict[str, object]:
    """Daily: every tenant that has a budget (a day passing moves forecasts and periods even without imports)."""
    tenant_ids = Budget.objects.values_list("tenant_id", flat=True).distinct().order_by("tenant_id")
    sent, failed = 0, []
    for tenant_id in tenant_ids:
        try:  # one tenant's failure must not keep the others' alerts from going out
            sent += int(evaluate_tenant(tenant_id).get("alerts_sent", 0))  # type: ignore[call-overload]
        except Exception:
            logger.exception("evaluating the budgets of tenant %s failed", tenant_id)
            failed.append(tenant_id)
    return {"tenants": len(tenant_ids), "alerts_sent": sent, "failed_tenant_ids": failed}
