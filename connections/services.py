"""State changes for tenants and the audit log. Every change a tenant admin would want to see is audited here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django_q.tasks import async_task

from connections.models import ApiToken, AuditLog, AwsConnection, Membership, Tenant


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


# --- AWS connections ---------------------------------------------------------------------------

CONNECTION_EDITABLE_FIELDS = (
    "name",
    "account_id",
    "mode",
    "role_path_prefix",
    "member_role_name",
    "regions",
    "cur_payer_account_id",
    "cur_bucket",
    "cur_prefix",
    "cur_export_name",
    "log_group_arn",
    "log_bucket",
    "log_prefix",
    "allowed_source_ips",
    "role_arn",
)


def _clean_connection(connection: AwsConnection) -> None:
    """Model validation (fields and AwsConnection.clean) with messages that name the field."""
    connection.full_clean(exclude=["tenant"])


def connection_create(*, tenant: Tenant, actor: AbstractBaseUser | None = None, **fields: Any) -> AwsConnection:
    """Create a connection; the ExternalId is generated here, never taken from the caller."""
    fields.pop("external_id", None)
    unknown = set(fields) - set(CONNECTION_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown connection field(s): {', '.join(sorted(unknown))}")
    fields.setdefault("regions", ["us-east-1"])
    connection = AwsConnection(tenant=tenant, **fields)
    _clean_connection(connection)
    with transaction.atomic():
        connection.save()
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="connection.created",
            target=connection.name,
            details={"connection_id": connection.pk, "account_id": connection.account_id, "mode": connection.mode},
        )
    return connection


def connection_update(
    *, connection: AwsConnection, actor: AbstractBaseUser | None = None, **fields: Any
) -> AwsConnection:
    if "external_id" in fields:
        raise ValueError("The ExternalId never changes; create a new connection for a new one.")
    unknown = set(fields) - set(CONNECTION_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Unknown connection field(s): {', '.join(sorted(unknown))}")
    changed = sorted(k for k, v in fields.items() if getattr(connection, k) != v)
    for key, value in fields.items():
        setattr(connection, key, value)
    _clean_connection(connection)
    if not changed:
        return connection
    with transaction.atomic():
        if connection.status in (AwsConnection.Status.CONNECTED, AwsConnection.Status.DEGRADED):
            connection.status = AwsConnection.Status.PENDING  # what was validated is no longer what is configured
        connection.save()
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="connection.edited",
            target=connection.name,
            details={"connection_id": connection.pk, "fields": changed},
        )
    return connection


def connection_set_paused(
    *, connection: AwsConnection, paused: bool, actor: AbstractBaseUser | None = None
) -> AwsConnection:
    with transaction.atomic():
        connection.status = AwsConnection.Status.PAUSED if paused else AwsConnection.Status.PENDING
        connection.save(update_fields=["status", "updated_at"])
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="connection.paused" if paused else "connection.resumed",
            target=connection.name,
            details={"connection_id": connection.pk},
        )
    return connection


def connection_delete(*, connection: AwsConnection, actor: AbstractBaseUser | None = None) -> None:
    with transaction.atomic():
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="connection.deleted",
            target=connection.name,
            details={"connection_id": connection.pk, "account_id": connection.account_id},
        )
        connection.delete()


def connection_template_downloaded(
    *, connection: AwsConnection, artifact: str, fmt: str = "", actor: AbstractBaseUser | None = None
) -> None:
    audit_log_record(
        tenant=connection.tenant,
        actor=actor,
        action="connection.template_downloaded",
        target=connection.name,
        details={"connection_id": connection.pk, "artifact": artifact, "format": fmt},
    )


VALIDATION_REQUESTED = "connection.validation_requested"


def validation_task_name(connection_id: int) -> str:
    return f"validate-connection-{connection_id}"


def connection_validation_request(*, connection: AwsConnection, actor: AbstractBaseUser | None = None) -> None:
    """Mark the connection as validating, audit who asked, and queue the checks once the transaction commits.

    The audit entry's time is when validation started: the poll fragment stops polling two minutes after it.
    With Q_CLUSTER["sync"] true (tests, or a deployment without a worker) the task runs in-process on commit;
    the setting is read here, at call time, because django_q.conf.Conf reads it only once at import.
    """
    if connection.status == AwsConnection.Status.PAUSED:
        raise ValueError("The connection is paused: resume it before validating.")
    with transaction.atomic():
        connection.status = AwsConnection.Status.VALIDATING
        connection.save(update_fields=["status", "updated_at"])
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action=VALIDATION_REQUESTED,
            target=connection.name,
            details={"connection_id": connection.pk, "role_arn": connection.role_arn},
        )
        sync = bool(getattr(settings, "Q_CLUSTER", {}).get("sync", False))
        actor_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
        connection_id = connection.pk
        transaction.on_commit(
            lambda: async_task(
                "connections.tasks.validate_connection",
                connection_id,
                actor_id,
                task_name=validation_task_name(connection_id),
                sync=sync,
            )
        )


# --- personal API tokens --------------------------------------------------------------------------------

API_TOKEN_PREFIX = "bfo_"  # recognisable in logs and by secret scanners
API_TOKEN_VISIBLE = 12  # characters kept in clear to recognise a token: "bfo_" and 8 of its random part
API_TOKEN_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often, not on every call


def api_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token_audit_tenants(token: ApiToken) -> list[Tenant | None]:
    """Where a token's creation and revocation are audited: its tenant, else every tenant the user is a
    member of (staff without memberships: one entry without a tenant)."""
    if token.tenant_id is not None:
        return [token.tenant]
    return list(Tenant.objects.filter(memberships__user_id=token.user_id).distinct()) or [None]


def _audit_token(token: ApiToken, action: str, actor: AbstractBaseUser | None) -> None:
    details = {
        "prefix": token.prefix,
        "user": token.user.get_username(),
        "tenant": token.tenant.slug if token.tenant_id else "(all of the user's tenants)",
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }
    for tenant in _token_audit_tenants(token):
        audit_log_record(tenant=tenant, actor=actor, action=action, target=token.name, details=details)


def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    tenant: Tenant | None = None,
    expires_at: datetime | None = None,
    actor: AbstractBaseUser | None = None,
) -> tuple[ApiToken, str]:
    """A new token for `user` (limited to `tenant` when given) and the token itself, which is not stored:
    the caller shows it once. ValueError when the name is missing or the user may not see the tenant."""
    from connections.selectors import tenants_for_user

    name = name.strip()
    if not name:
        raise ValueError("Give the token a name, e.g. the script or tool that will use it.")
    if len(name) > 100:
        raise ValueError("A token name has at most 100 characters.")
    if tenant is not None and not tenants_for_user(user=user).filter(pk=tenant.pk).exists():
        raise ValueError(f"{user.get_username()} is not a member of tenant {tenant.slug}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("The expiry date is in the past.")
    plain = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            tenant=tenant,
            name=name,
            prefix=plain[:API_TOKEN_VISIBLE],
            token_hash=api_token_hash(plain),
            expires_at=expires_at,
        )
        _audit_token(token, "api_token.created", actor)  # None: a command run on the server ("system")
    return token, plain


def api_token_revoke(*, token: ApiToken, actor: AbstractBaseUser | None) -> ApiToken:
    """Refuse the token from now on (idempotent: revoking twice keeps the first time)."""
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _audit_token(token, "api_token.revoked", actor)
    return token


def api_token_authenticate(*, token: str, now: datetime | None = None) -> ApiToken | None:
    """The live token this string is, else None (unknown, revoked, expired, or its user deactivated).

    Looked up by its SHA-256, so no comparison runs over the secret itself; last_used_at is written at
    most once a minute, so a busy script does not cost a write per call."""
    if not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = api_token_hash(token)
    found = ApiToken.objects.select_related("user", "tenant").filter(token_hash=digest).first()
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        return None
    now = now or timezone.now()
    if found.status_at(now) != "active" or not found.user.is_active:
        return None
    stale = now - API_TOKEN_TOUCH_EVERY
    if found.last_used_at is None or found.last_used_at < stale:
        ApiToken.objects.filter(pk=found.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
            last_used_at=now
        )
        found.last_used_at = now
    return found
