"""Deletion on request: a request is held for a grace period (DATA_DELETION_GRACE_DAYS, 30 by default) during
which it can be cancelled; then the nightly job executes it once and writes its receipt to the audit log.

* scope "before D": what `lifecycle.purge.before_scope` covers (ledger rows of usage dates before D, with their
  rollup cells, and the dated records from before D). The audit log keeps its own retention.
* scope "all": every row the tenant owns: ledger, rollup, runs, sync states, cards, budgets and alerts,
  inventory, saved views, alert channels, tenant-limited API tokens, connections (their ExternalIds go with
  them: no connection row, so no validation or sync can assume a role with one again), memberships and the
  tenant's audit log. What stays is a tombstone: the tenant row (slug and name; its settings cleared and its
  hash key replaced), the deletion request, and one audit entry, `lifecycle.tenant_erased`, with the counts.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from budgets.models import Budget, BudgetAlert
from connections.models import AlertChannel, ApiToken, AuditLog, AwsConnection, MemberAccount, Membership, Tenant
from connections.services import audit_log_record
from finops.explorer.models import SavedView
from finops.ledger.models import SpendDaily, SpendEvent
from ingestion.models import ImportRun, SyncRun, SyncState
from inventory.models import FoundationModel, InferenceProfile, LoggingConfiguration, ProvisionedThroughput
from lifecycle.models import DeletionRequest
from lifecycle.purge import before_scope, ledger_delete, records_delete, scope_counts, scope_delete
from recommendations.models import Recommendation

logger = logging.getLogger(__name__)

DEFAULT_GRACE_DAYS = 30
# An execution that claimed a request this long ago and never finished (a killed worker) may be taken over.
STALE_CLAIM = timedelta(hours=6)
ERASED_ACTION = "lifecycle.tenant_erased"


class DeletionError(ValueError):
    """A request that cannot be made, cancelled or executed; the message says why."""


def grace_days() -> int:
    return int(getattr(settings, "DATA_DELETION_GRACE_DAYS", DEFAULT_GRACE_DAYS))


def erase_records(tenant: Tenant) -> dict[str, list[QuerySet]]:
    """Everything but the ledger and rollup that `--all` removes, in deletion order (runs before the
    connections they cascade from, the audit log last)."""
    inventory = (InferenceProfile, ProvisionedThroughput, FoundationModel, LoggingConfiguration)
    return {
        "import_runs": [ImportRun.objects.filter(tenant=tenant)],
        "sync_runs": [SyncRun.objects.filter(tenant=tenant)],
        "sync_states": [SyncState.objects.filter(tenant=tenant)],
        "recommendations": [Recommendation.objects.filter(tenant=tenant)],
        "budget_alerts": [BudgetAlert.objects.filter(budget__tenant=tenant)],
        "budgets": [Budget.objects.filter(tenant=tenant)],
        "inventory_items": [model.objects.filter(tenant=tenant) for model in inventory],
        "saved_views": [SavedView.objects.filter(tenant=tenant)],
        "alert_channels": [AlertChannel.objects.filter(tenant=tenant)],
        "api_tokens": [ApiToken.objects.filter(tenant=tenant)],
        "member_accounts": [MemberAccount.objects.filter(connection__tenant=tenant)],
        "connections": [AwsConnection.objects.filter(tenant=tenant)],
        "memberships": [Membership.objects.filter(tenant=tenant)],
        "audit_entries": [AuditLog.objects.filter(tenant=tenant)],
    }


def deletion_plan(*, tenant: Tenant, scope: str, before: date | None) -> dict[str, int]:
    """What the request would remove today, per kind (nothing is changed)."""
    if scope == DeletionRequest.Scope.BEFORE:
        if before is None:
            raise DeletionError("A deletion of data before a date needs the date.")
        return scope_counts(before_scope(tenant=tenant, day=before))
    counts = {
        "ledger_rows": SpendEvent.objects.filter(tenant=tenant).count(),
        "rollup_cells": SpendDaily.objects.filter(tenant=tenant).count(),
    }
    for kind, querysets in erase_records(tenant).items():
        counts[kind] = sum(queryset.count() for queryset in querysets)
    return counts


def _label(actor: AbstractBaseUser | AnonymousUser | None) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "system"


def deletion_request_create(
    *,
    tenant: Tenant,
    scope: str,
    before: date | None = None,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    reason: str = "",
    now: datetime | None = None,
    skip_grace: bool = False,
    via: str = "command",
) -> DeletionRequest:
    """Record a request, due after the grace period (or at once with `skip_grace`, for staff), audited with
    what it would remove today. One pending request per tenant."""
    if scope not in DeletionRequest.Scope.values:
        raise DeletionError(f"Unknown scope {scope!r}: use before or all.")
    if scope == DeletionRequest.Scope.ALL:
        before = None
    elif before is None:
        raise DeletionError("A deletion of data before a date needs the date (YYYY-MM-DD).")
    now = now or timezone.now()
    plan = deletion_plan(tenant=tenant, scope=scope, before=before)
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            request = DeletionRequest.objects.create(
                tenant=tenant,
                scope=scope,
                before=before,
                requested_by=user,
                requested_by_label=_label(actor),
                reason=reason[:500],
                requested_at=now,
                due_at=now if skip_grace else now + timedelta(days=grace_days()),
            )
            audit_log_record(
                tenant=tenant,
                actor=actor,
                action="lifecycle.deletion_requested",
                target=str(request)[:255],
                details={
                    "request_id": request.pk,
                    "scope": scope,
                    "before": before.isoformat() if before else None,
                    "due_at": request.due_at.isoformat(),
                    "grace_skipped": skip_grace,
                    "reason": request.reason,
                    "plan": plan,
                    "via": via,
                },
            )
    except IntegrityError as exc:
        raise DeletionError(
            f"Tenant {tenant.slug} already has a pending deletion request: cancel it first to change it."
        ) from exc
    return request


def pending_request(*, tenant: Tenant) -> DeletionRequest | None:
    return DeletionRequest.objects.filter(tenant=tenant, cancelled_at__isnull=True, executed_at__isnull=True).first()


def deletion_request_cancel(
    *,
    request: DeletionRequest,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    now: datetime | None = None,
    via: str = "command",
) -> DeletionRequest:
    """Cancel a pending request (nothing of it has run): afterwards it deletes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = DeletionRequest.objects.filter(
            pk=request.pk, cancelled_at__isnull=True, executed_at__isnull=True, started_at__isnull=True
        ).update(cancelled_at=now, cancelled_by_label=_label(actor))
        if not changed:
            request.refresh_from_db()
            raise DeletionError(f"Deletion request #{request.pk} is {request.state}: it can no longer be cancelled.")
        audit_log_record(
            tenant=request.tenant,
            actor=actor,
            action="lifecycle.deletion_cancelled",
            target=str(request)[:255],
            details={"request_id": request.pk, "via": via},
        )
    request.refresh_from_db()
    return request


def deletion_request_execute(
    *, request: DeletionRequest, now: datetime | None = None, actor: AbstractBaseUser | None = None
) -> bool:
    """Execute a due request once: claimed by one conditional UPDATE (a second caller gets False), then the
    deletion in short transactions, then the receipt on the request and in the audit log."""
    now = now or timezone.now()
    claimed = (
        DeletionRequest.objects.filter(
            pk=request.pk, cancelled_at__isnull=True, executed_at__isnull=True, due_at__lte=now
        )
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=now - STALE_CLAIM))
        .update(started_at=now)
    )
    if not claimed:
        return False
    request.refresh_from_db()
    tenant = request.tenant
    if request.scope == DeletionRequest.Scope.ALL:
        counts = _erase(tenant)
        action = ERASED_ACTION
    else:
        assert request.before is not None  # the check constraint says so
        counts = scope_delete(before_scope(tenant=tenant, day=request.before))
        action = "lifecycle.deletion_executed"
    finished = timezone.now()
    with transaction.atomic():
        DeletionRequest.objects.filter(pk=request.pk).update(executed_at=finished, receipt=counts)
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action=action,
            target=tenant.slug,
            details={
                "request_id": request.pk,
                "scope": request.scope,
                "before": request.before.isoformat() if request.before else None,
                "requested_by": request.requested_by_label,
                "requested_at": request.requested_at.isoformat(),
                "executed_at": finished.isoformat(),
                "counts": counts,
            },
        )
    request.refresh_from_db()
    return True


def _erase(tenant: Tenant) -> dict[str, int]:
    counts = ledger_delete(tenant_id=tenant.pk, condition=Q())
    for kind, querysets in erase_records(tenant).items():
        counts[kind] = sum(records_delete(queryset) for queryset in querysets)
    Tenant.objects.filter(pk=tenant.pk).update(settings={}, hash_secret=secrets.token_hex(32))
    return counts


def deletion_requests_execute_due(*, now: datetime | None = None) -> list[DeletionRequest]:
    """Every request whose grace period is over, oldest first; returns those executed now."""
    now = now or timezone.now()
    due = DeletionRequest.objects.filter(cancelled_at__isnull=True, executed_at__isnull=True, due_at__lte=now).order_by(
        "due_at", "pk"
    )
    executed = []
    for request in due.select_related("tenant"):
        try:  # a failed request stays claimed and is taken up again after STALE_CLAIM; the others still run
            if deletion_request_execute(request=request, now=now):
                executed.append(request)
        except Exception:
            logger.exception("executing deletion request %s failed", request.pk)
    return executed
