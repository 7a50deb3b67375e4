"""Provider connections: create, validate, update the mapping, delete. Every change writes the audit log in
its transaction; the key is never part of an audit entry, a log line or an exception."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from connections.models import Tenant
from connections.services import audit_log_record
from providers.adapters import ADAPTERS
from providers.client import ApiClient, ProviderError
from providers.crypto import SecretUnreadable
from providers.labels import names_store
from providers.models import ProviderConnection, ProviderKind
from providers.names import fetch_names
from providers.schedules import provider_schedule_remove, provider_schedule_set

VALIDATION_DAYS = 30
KEY_PREFIXES = {"openai": ("sk-",), "anthropic": ("sk-ant-",)}


@dataclass(frozen=True)
class Validation:
    ok: bool
    status: str
    message: str
    remedy: str = ""
    notes: tuple[str, ...] = ()  # e.g. names that could not be listed


def _target(connection: ProviderConnection) -> str:
    return f"{connection.get_kind_display()} connection {connection.name}"


def provider_connection_create(
    *,
    tenant: Tenant,
    kind: str,
    name: str,
    api_key: str,
    organization_id: str = "",
    actor: AbstractBaseUser | None = None,
) -> ProviderConnection:
    if kind not in ProviderKind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(ProviderKind.values)}."})
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the connection a name."})
    if ProviderConnection.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationError({"name": f"This tenant already has a connection named {name!r}."})
    key = provider_key_check(kind=kind, api_key=api_key)
    connection = ProviderConnection(
        tenant=tenant, kind=kind, name=name, organization_id=organization_id.strip(), created_by=_user(actor)
    )
    connection.set_api_key(key)
    with transaction.atomic():
        connection.save()
        audit_log_record(
            tenant=tenant,
            actor=actor,
            action="provider.created",
            target=_target(connection),
            details={"connection": connection.pk, "kind": kind, "key": connection.masked_key},
        )
        provider_schedule_set(connection)
    return connection


def provider_key_check(*, kind: str, api_key: str) -> str:
    """The key, stripped, if it has the shape of this provider's Admin key; else a ValidationError that says
    where to create one."""
    key = api_key.strip()
    if len(key) < 20 or not key.startswith(KEY_PREFIXES[kind]) or any(c.isspace() for c in key):
        admin = ADAPTERS[kind].remedies
        raise ValidationError(
            {"api_key": f"This does not look like a {admin.provider} Admin key (it starts with "
                        f"{admin.admin_key_prefix}); create one at {admin.admin_keys_url}."}
        )  # fmt: skip
    return key


def _user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def provider_connection_validate(
    *,
    connection: ProviderConnection,
    actor: AbstractBaseUser | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Validation:
    """One small read of the usage endpoint over the last 30 days: the key works and has admin scope; an
    organization without usage validates but says so."""
    adapter = ADAPTERS[connection.kind]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    try:
        client = adapter.make_client(connection.api_key, session=session, sleep=sleep)
        client.max_attempts = 3
        page = next(adapter.fetch_pages(client, adapter.validation_endpoint, now - timedelta(days=VALIDATION_DAYS),
                                        now))  # fmt: skip
    except ProviderError as exc:
        status = ProviderConnection.Status.INVALID if exc.kind in ("bad_key", "no_admin_scope") else "error"
        result = Validation(False, status, exc.message, exc.remedy)
    except SecretUnreadable as exc:
        result = Validation(False, ProviderConnection.Status.ERROR, str(exc), "Enter the Admin key again.")
    else:
        notes = _names_notes(connection, client)
        if adapter.has_usage(page):
            result = Validation(
                True, ProviderConnection.Status.VALID, "The key works and the organization has usage.", notes=notes
            )
        else:
            result = Validation(
                True,
                ProviderConnection.Status.EMPTY,
                f"The key works, but the organization has no usage in the last {VALIDATION_DAYS} days.",
                "Nothing to do: syncs will pick up usage as soon as there is some. If you expected usage, check "
                "that the key belongs to the right organization.",
                notes=notes,
            )
    with transaction.atomic():
        connection.status = result.status
        connection.last_validated_at = timezone.now()
        connection.last_error = "" if result.ok else result.message
        connection.last_remedy = result.remedy
        connection.save(update_fields=["status", "last_validated_at", "last_error", "last_remedy"])
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="provider.validated",
            target=_target(connection),
            details={
                "connection": connection.pk,
                "status": result.status,
                "message": result.message,
                "notes": list(result.notes),
            },
        )
    return result


def _names_notes(connection: ProviderConnection, client: ApiClient) -> tuple[str, ...]:
    """List and store the project/workspace and API key names; what could not be listed, with the remedy."""
    names = fetch_names(connection.kind, client)
    names_store(connection=connection, names=names)
    scope = ADAPTERS[connection.kind].scope_kind
    if not names.problems:
        return (f"Names listed: {len(names.scopes)} {scope}(s), {len(names.keys)} API key(s).",)
    return (
        *names.problems,
        f"Usage still syncs; {scope}s and API keys are labelled with their ids. {names.remedy}".strip(),
    )


def provider_connection_update(
    *, connection: ProviderConnection, actor: AbstractBaseUser | None = None, **changes: Any
) -> ProviderConnection:
    """Change name, enabled, mapping, organization_id or the key (api_key)."""
    allowed = {"name", "enabled", "mapping", "organization_id", "api_key"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)}")
    fields: list[str] = []
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        others = ProviderConnection.objects.filter(tenant=connection.tenant, name=changes["name"])
        if not changes["name"] or others.exclude(pk=connection.pk).exists():
            raise ValidationError({"name": f"Choose another name: {changes['name']!r} is empty or taken."})
    if "api_key" in changes:
        connection.set_api_key(provider_key_check(kind=connection.kind, api_key=changes.pop("api_key")))
        connection.status = ProviderConnection.Status.NEW
        fields += ["api_key_encrypted", "key_last4", "status"]
    for name, value in changes.items():
        setattr(connection, name, value)
        fields.append(name)
    with transaction.atomic():
        connection.save(update_fields=fields)
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="provider.updated",
            target=_target(connection),
            details={
                "connection": connection.pk,
                "fields": sorted({"api_key" if f == "api_key_encrypted" else f for f in fields}),
            },  # fmt: skip
        )
        provider_schedule_set(connection)
    return connection


def provider_connection_delete(*, connection: ProviderConnection, actor: AbstractBaseUser | None = None) -> None:
    """Delete the connection and its runs and watermarks; the ledger rows it loaded stay (they are spend)."""
    with transaction.atomic():
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="provider.deleted",
            target=_target(connection),
            details={"connection": connection.pk, "kind": connection.kind},
        )
        provider_schedule_remove(connection.pk)
        connection.delete()
