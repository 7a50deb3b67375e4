"""State changes for tenants and the audit log. Every change a tenant admin would want to see is audited here."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils.text import slugify
from django_q.tasks import async_task

from connections.models import AuditLog, AwsConnection, Membership, Tenant


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
