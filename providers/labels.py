"""Names and labels of one connection's spend: store what the provider listed (and which projects/workspaces
usage was seen for), and relabel rows already in the ledger when names or the connection's mapping change.

There is no ledger service for relabelling loaded rows (an ingestion tag-mapping change applies to new rows
only), so this updates the connection's rows in place and rebuilds the daily rollup of the billing periods
that moved (finops.ledger.rollups.rollup_rebuild, which keeps the coarse rollups in step on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from connections.services import audit_log_record
from finops.ledger.bulk import bulk_set_rows
from finops.ledger.models import TAG_VALUE, SpendEvent
from finops.ledger.rollups import rollup_rebuild
from providers.adapters import ADAPTERS
from providers.models import ProviderConnection, ProviderName
from providers.names import Names
from providers.rows import MAPPED_DIMENSIONS, SyncContext, labels

LABEL_FIELDS = (*MAPPED_DIMENSIONS, "principal_name", "tags")
MAPPING_FIELDS = ("application", "team")  # what the mapping page sets
BATCH = 2000


def stored_names(connection: ProviderConnection) -> tuple[dict[str, str], dict[str, str]]:
    """(scope id -> name, API key id -> name) last listed for this connection (blank names left out)."""
    scopes: dict[str, str] = {}
    keys: dict[str, str] = {}
    rows = ProviderName.objects.filter(connection=connection).exclude(name="")
    for kind, object_id, name in rows.values_list("kind", "object_id", "name"):
        (scopes if kind == ProviderName.Kind.SCOPE else keys)[object_id] = name
    return scopes, keys


def names_store(*, connection: ProviderConnection, names: Names) -> bool:
    """Upsert what was listed; whether any name changed (then loaded rows need relabelling). An id that is no
    longer listed keeps its last name (a deleted key's spend still reads as it did)."""
    before = stored_names(connection)
    entries = [
        (ProviderName.Kind.SCOPE, scope_id, name, "", scope_id in names.archived)
        for scope_id, name in names.scopes.items()
    ] + [
        (ProviderName.Kind.API_KEY, key_id, name, names.key_scopes.get(key_id, ""), False)
        for key_id, name in names.keys.items()
    ]
    with transaction.atomic():
        for kind, object_id, name, scope_id, archived in entries:
            ProviderName.objects.update_or_create(
                connection=connection,
                kind=kind,
                object_id=object_id,
                defaults={"name": name, "scope_id": scope_id, "archived": archived, "listed": True},
            )
    return stored_names(connection) != before


def scopes_seen_record(*, connection: ProviderConnection, scope_ids: Iterable[str]) -> None:
    """Remember the projects/workspaces usage or costs were seen for (the mapping page lists them)."""
    seen = set(scope_ids)
    known = set(
        ProviderName.objects.filter(connection=connection, kind=ProviderName.Kind.SCOPE, object_id__in=seen)
        .values_list("object_id", flat=True)
    )  # fmt: skip
    ProviderName.objects.bulk_create(
        [ProviderName(connection=connection, kind=ProviderName.Kind.SCOPE, object_id=s) for s in seen - known]
    )
    ProviderName.objects.filter(
        connection=connection, kind=ProviderName.Kind.SCOPE, object_id__in=seen, seen_in_usage=False
    ).update(seen_in_usage=True)


def sync_context(connection: ProviderConnection) -> SyncContext:
    return SyncContext(
        connection_id=connection.pk,
        source=connection.kind,
        principal_prefix=connection.principal_prefix,
        organization_id=connection.organization_id,
        tenant_mapping=connection.tenant.tag_mapping,
        mapping={str(k): v for k, v in (connection.mapping or {}).items() if isinstance(v, dict)},
    )


def with_names(ctx: SyncContext, connection: ProviderConnection, names: Names | None = None) -> SyncContext:
    """The context with the stored names, overlaid by a fresh listing."""
    scopes, keys = stored_names(connection)
    if names is not None:
        scopes.update({k: v for k, v in names.scopes.items() if v})
        keys.update({k: v for k, v in names.keys.items() if v})
    return replace(ctx, scope_names=scopes, key_names=keys)


@dataclass
class Relabelled:
    rows: int = 0
    periods: set[date] = field(default_factory=set)


def provider_relabel(
    *, connection: ProviderConnection, ctx: SyncContext, scope_ids: Iterable[str] | None = None
) -> Relabelled:
    """Give the connection's loaded rows (of these projects/workspaces, or all) the labels that loading them
    now would give; only rows whose labels move are written. Rebuilds the rollup of the periods touched."""
    scope_kind = ADAPTERS[connection.kind].scope_kind
    rows = SpendEvent.objects.filter(
        tenant_id=connection.tenant_id, source=connection.kind, tags__provider_connection=str(connection.pk)
    )
    if scope_ids is not None:
        rows = rows.filter(**{f"tags__{scope_kind}_id__in": list(scope_ids)})
    done = Relabelled()
    changes: dict[int, dict[str, Any]] = {}
    for row in rows.values("id", "billing_period", *LABEL_FIELDS).iterator(chunk_size=BATCH):
        wanted = labels(ctx, scope_kind=scope_kind, tags=row["tags"] or {})
        wanted.setdefault("principal_name", row["principal_name"])
        moved = {name: value for name, value in wanted.items() if row[name] != value}
        if moved:
            changes[row["id"]] = wanted
            done.periods.add(row["billing_period"])
    if not changes:
        return done
    fields = list(LABEL_FIELDS)
    with transaction.atomic():
        bulk_set_rows(SpendEvent, fields, [(row_id, *(w[f] for f in fields)) for row_id, w in changes.items()])
        rollup_rebuild(tenant_id=connection.tenant_id, billing_periods=sorted(done.periods))
    done.rows = len(changes)
    return done


def provider_mapping_set(
    *, connection: ProviderConnection, mapping: dict[str, dict[str, str]], actor: AbstractBaseUser | None = None
) -> Relabelled:
    """Replace the connection's mapping (project/workspace id -> application, team, ...) and relabel the rows
    already loaded for the projects/workspaces whose mapping changed, in one transaction, audited."""
    clean = {
        str(scope): {
            k: str(v).strip()[:TAG_VALUE] for k, v in dims.items() if k in MAPPED_DIMENSIONS and str(v).strip()
        }
        for scope, dims in mapping.items()
    }
    clean = {scope: dims for scope, dims in clean.items() if dims}
    before = {str(k): v for k, v in (connection.mapping or {}).items() if isinstance(v, dict)}
    changed = sorted(s for s in set(before) | set(clean) if before.get(s, {}) != clean.get(s, {}))
    with transaction.atomic():
        connection.mapping = clean
        connection.save(update_fields=["mapping"])
        done = Relabelled()
        if changed:
            ctx = with_names(sync_context(connection), connection)
            done = provider_relabel(connection=connection, ctx=ctx, scope_ids=changed)
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="provider.mapping_changed",
            target=f"{connection.get_kind_display()} connection {connection.name}",
            details={"connection": connection.pk, "changed": {s: clean.get(s, {}) for s in changed},
                     "rows_relabelled": done.rows, "periods": [f"{p:%Y-%m}" for p in sorted(done.periods)]},
        )  # fmt: skip
    return done


def mapping_merge(
    old: dict[str, Any], posted: dict[str, dict[str, str]], *, shown: Iterable[str]
) -> dict[str, dict[str, str]]:
    """The mapping after a form that showed `shown` scopes and set their application and team: other scopes'
    entries and other dimensions are kept."""
    shown = set(shown)
    merged: dict[str, dict[str, str]] = {}
    for scope in set(old) | shown:
        kept = {k: v for k, v in (old.get(scope) or {}).items() if scope not in shown or k not in MAPPING_FIELDS}
        merged[scope] = {**kept, **(posted.get(scope, {}) if scope in shown else {})}
    return merged
