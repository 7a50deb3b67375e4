"""State changes for tenants and the audit log. Every change a tenant admin would want to see is audited here."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.text import slugify

from connections.models import AuditLog, Membership, Tenant


def audit_log_record(
    *,
    tenant: Tenant | None,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    label = user.get_username() if user is not None else "system"
    return AuditLog.objects.create(
        tenant=tenant,
        actor=user,
        actor_label=label,
        action=action,
        target=target[:255],
        details=details or {},
    )


def tenant_get_or_create(*, slug: str, name: str = "", actor: AbstractBaseUser | None = None) -> tuple[Tenant, bool]:
    """The tenant with this slug, created (and audited) when missing."""
    clean = slugify(slug)
    if not clean or clean != slug:
        raise ValueError(
            f"Tenant slug {slug!r} is not valid: use lowercase letters, digits and hyphens (e.g. {clean or 'acme'!r})."
        )
    with transaction.atomic():
        tenant, created = Tenant.objects.get_or_create(
            slug=slug, defaults={"name": name or slug.replace("-", " ").title()}
        )
        if created:
            audit_log_record(tenant=tenant, actor=actor, action="tenant.created", target=tenant.slug)
    return tenant, created


def membership_grant(
    *, tenant: Tenant, user: AbstractBaseUser, role: str, actor: AbstractBaseUser | None = None
) -> Membership:
    with transaction.atomic():
        membership, _ = Membership.objects.update_or_create(user=user, tenant=tenant, defaults={"role": role})
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="membership.granted",
            target=user.get_username(),
            details={"role": role},
        )
    return membership
