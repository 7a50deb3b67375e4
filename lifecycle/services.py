"""Retention: each tenant's data older than its `retention_months` goes (the nightly job, the command), the
audit log after AUDIT_RETENTION_MONTHS. Every purge that removed something is audited with its counts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from connections.models import AuditLog, Tenant
from connections.services import audit_log_record
from lifecycle.cutoffs import months_before, retention_cutoff, start_of_day
from lifecycle.deletion import deletion_requests_execute_due
from lifecycle.purge import records_delete, retention_scope, scope_counts, scope_delete

logger = logging.getLogger(__name__)

DEFAULT_AUDIT_RETENTION_MONTHS = 84


def audit_retention_months() -> int:
    return int(getattr(settings, "AUDIT_RETENTION_MONTHS", DEFAULT_AUDIT_RETENTION_MONTHS))


def audit_cutoff(*, today: date) -> date:
    return months_before(today, audit_retention_months())


@dataclass
class PurgeResult:
    tenant_slug: str
    retention_months: int
    cutoff: date
    audit_cutoff: date
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant_slug,
            "retention_months": self.retention_months,
            "cutoff": self.cutoff.isoformat(),
            "audit_cutoff": self.audit_cutoff.isoformat(),
            "dry_run": self.dry_run,
            "counts": self.counts,
            **({"error": self.error} if self.error else {}),
        }


def retention_purge(
    *, tenant: Tenant, today: date, dry_run: bool = False, actor: AbstractBaseUser | None = None
) -> PurgeResult:
    """Remove (or with `dry_run` only count) what is older than the tenant's retention."""
    cutoff = retention_cutoff(today=today, months=tenant.retention_months)
    audit_before = audit_cutoff(today=today)
    scope = retention_scope(tenant=tenant, cutoff=cutoff, audit_cutoff=audit_before)
    result = PurgeResult(tenant.slug, tenant.retention_months, cutoff, audit_before, dry_run)
    if dry_run:
        result.counts = scope_counts(scope)
        return result
    result.counts = scope_delete(scope)
    if result.total:
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="lifecycle.retention_purged",
            target=tenant.slug,
            details={
                "retention_months": tenant.retention_months,
                "cutoff": cutoff.isoformat(),
                "audit_retention_months": audit_retention_months(),
                "audit_cutoff": audit_before.isoformat(),
                "counts": result.counts,
            },
        )
    return result


def system_audit_expired(*, today: date) -> QuerySet[AuditLog]:
    """Audit entries of no tenant (system-wide actions) past the audit log's retention."""
    return AuditLog.objects.filter(tenant__isnull=True, created_at__lt=start_of_day(audit_cutoff(today=today)))


def retention_purge_all(
    *, today: date, dry_run: bool = False, tenants: QuerySet[Tenant] | None = None
) -> tuple[list[PurgeResult], int]:
    """Every tenant's retention (or the given ones'); with every tenant, also the system audit entries past
    the audit retention. Returns the per-tenant results and the system audit entries removed (or due)."""
    everyone = tenants is None
    results = []
    for tenant in (Tenant.objects.all() if tenants is None else tenants).order_by("slug"):
        try:  # one tenant's failure must not keep the others' data past retention
            results.append(retention_purge(tenant=tenant, today=today, dry_run=dry_run))
        except Exception as exc:
            logger.exception("purging the expired data of tenant %s failed", tenant.slug)
            cutoff = retention_cutoff(today=today, months=tenant.retention_months)
            failed = PurgeResult(tenant.slug, tenant.retention_months, cutoff, audit_cutoff(today=today), dry_run)
            failed.error = f"{type(exc).__name__}: {exc}"
            results.append(failed)
    system = 0
    if everyone:
        expired = system_audit_expired(today=today)
        system = expired.count() if dry_run else records_delete(expired)
        if system and not dry_run:
            audit_log_record(
                tenant=None,
                action="lifecycle.audit_purged",
                details={"audit_cutoff": audit_cutoff(today=today).isoformat(), "audit_entries": system},
            )
    return results, system


def lifecycle_nightly(*, now: datetime | None = None) -> dict[str, object]:
    """The nightly job: deletion requests whose grace is over, then every tenant's retention."""
    now = now or timezone.now()
    executed = deletion_requests_execute_due(now=now)
    results, system = retention_purge_all(today=now.date())
    return {
        "deletions_executed": [request.pk for request in executed],
        "tenants_purged": {r.tenant_slug: r.counts for r in results if r.total},
        "failed_tenants": [r.tenant_slug for r in results if r.error],
        "system_audit_entries": system,
    }
