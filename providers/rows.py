"""What OpenAI and Anthropic rows share on their way to the ledger: the connection's context, the day a
bucket covers, identity (project/workspace -> application, API key -> principal), model fields and stable
dedupe keys. Pure: no database, no HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from finops.ledger.catalog import Catalog, CatalogModel
from ingestion.normalize import map_dimensions
from providers.catalog import model_for

MAPPED_DIMENSIONS = ("application", "team", "environment", "cost_center")


class RowError(ValueError):
    """A result row that cannot be loaded; the message names the endpoint, the bucket and the field."""


def rows_or_errors(
    buckets: Iterable[tuple[dict[str, Any], str, dict[str, Any]]],
    build: Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """(ledger rows, errors) of a page's results: each built by `build(times, what, result)`; a RowError is
    kept as that result's error and the rest still load."""
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for times, what, result in buckets:
        try:
            rows.append(build(times, what, result))
        except RowError as exc:
            errors.append(str(exc))
    return rows, errors


@dataclass(frozen=True)
class SyncContext:
    """Everything a parser needs about the connection, as plain values."""

    connection_id: int
    source: str  # openai | anthropic
    principal_prefix: str  # e.g. openai:org-abc
    organization_id: str = ""
    tenant_mapping: Mapping[str, list[str]] = field(default_factory=dict)
    mapping: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # scope id -> dimensions
    key_names: Mapping[str, str] = field(default_factory=dict)  # api key id -> name, when known
    scope_names: Mapping[str, str] = field(default_factory=dict)  # project/workspace id -> name

    def key_prefix(self, endpoint: str) -> str:
        """Every dedupe key of one endpoint of this connection starts with this (re-read days are replaced)."""
        return f"{self.source}:{self.connection_id}:{endpoint}:"


def dedupe_key(ctx: SyncContext, endpoint: str, parts: list[Any]) -> str:
    text = json.dumps(parts, default=str, separators=(",", ":"), sort_keys=True)
    return ctx.key_prefix(endpoint) + hashlib.sha256(text.encode()).hexdigest()[:48]


def utc_from_unix(value: Any, *, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RowError(f"{what}: {value!r} is not a Unix time in seconds") from exc


def utc_from_rfc3339(value: Any, *, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError(f"{what}: {value!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise RowError(f"{what}: {value!r} has no time zone")
    return parsed.astimezone(UTC)


def time_fields(start: datetime, end: datetime) -> dict[str, Any]:
    day = start.date()
    return {
        "usage_start": start,
        "usage_end": end,
        "usage_date": day,
        "billing_period": date(day.year, day.month, 1),
    }


def count(result: Mapping[str, Any], name: str, *, what: str) -> int:
    value = result.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value < 0 or value != int(value):
        raise RowError(f"{what}: {name} is {value!r}, expected a whole number of at least 0")
    return int(value)


def model_fields(catalog: Catalog, source: str, model: str | None) -> tuple[dict[str, str], CatalogModel | None]:
    found = model_for(catalog, source, model or "")
    if found is None:
        return {
            "model_id": "",
            "model_ref": model or "",
            "model_family": "",
            "model_tier": "",
            "model_provider": "",
        }, None
    return {
        "model_id": found.model_id,
        "model_ref": "",
        "model_family": found.family,
        "model_tier": found.tier,
        "model_provider": found.provider,
    }, found


def identity(
    ctx: SyncContext,
    *,
    scope_kind: str,
    scope_id: str | None,
    api_key_id: str | None = None,
    user_id: str | None = None,
    extra_tags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Who and for what: the ids as delivered in `tags` (`billing_scope` is what reconciliation matches bills
    and usage on), `user_id`, the API key as principal, and the labels (see labels())."""
    scope = scope_id or ""
    tags: dict[str, Any] = {
        "provider_connection": str(ctx.connection_id),
        f"{scope_kind}_id": scope,
        "billing_scope": f"{ctx.connection_id}:{scope}",
    }
    if ctx.organization_id:
        tags["organization_id"] = ctx.organization_id
    if api_key_id:
        tags["api_key_id"] = api_key_id
    if user_id:
        tags["user_id"] = user_id
    tags.update(extra_tags or {})
    fields: dict[str, Any] = {"user_id": user_id or "", **labels(ctx, scope_kind=scope_kind, tags=tags)}
    if api_key_id:
        fields.update(iam_principal=f"{ctx.principal_prefix}:key/{api_key_id}", principal_type="api_key")
    return fields


DEFAULT_SCOPE_NAMES = {"workspace": "Default Workspace"}  # Anthropic's usage says workspace_id null for it


def labels(ctx: SyncContext, *, scope_kind: str, tags: Mapping[str, Any]) -> dict[str, Any]:
    """The names users know, from a row's ids: the project/workspace name as application (else its id), the
    API key's name as principal_name (else its id), both names also in `tags`; then the tenant's tag mapping
    and this connection's mapping (scope id -> dimensions) override. Every mapped dimension is returned
    (blank when nothing sets it), so relabelling a loaded row gives what loading it now would."""
    tags = {k: v for k, v in tags.items() if k not in (f"{scope_kind}_name", "api_key_name")}
    scope = str(tags.get(f"{scope_kind}_id") or "")
    scope_name = ctx.scope_names.get(scope) or ("" if scope else DEFAULT_SCOPE_NAMES.get(scope_kind, ""))
    if scope_name:
        tags[f"{scope_kind}_name"] = scope_name
    key_id = str(tags.get("api_key_id") or "")
    key_name = ctx.key_names.get(key_id, "") if key_id else ""
    if key_name:
        tags["api_key_name"] = key_name
    dims: dict[str, str] = dict.fromkeys(MAPPED_DIMENSIONS, "")
    dims["application"] = scope_name or scope
    mapped = map_dimensions(ctx.tenant_mapping, {k: str(v) for k, v in tags.items() if isinstance(v, str)})
    dims.update({k: v for k, v in mapped.items() if k in MAPPED_DIMENSIONS})
    dims.update({k: str(v) for k, v in (ctx.mapping.get(scope) or {}).items() if k in MAPPED_DIMENSIONS and v})
    result: dict[str, Any] = {"tags": tags, **dims}
    if key_id:
        result["principal_name"] = key_name or key_id
    return result
