"""Reads behind the explorer's pages beyond the grouped table (selectors.py): saved views and the entity
pages (one principal, user, application, agent or model). Always scoped by tenant (and by user for views)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, QuerySet

from connections.models import Tenant
from finops.explorer.models import SavedView
from finops.explorer.query import DIMENSIONS, DimFilter, ExplorerQuery
from finops.explorer.selectors import Row, aggregate, cells, label, model_names, table
from recommendations.models import Recommendation
from recommendations.selectors import recommendations_naming

# The dimensions with a page of their own, and the key a recommendation's scope names them by.
ENTITY_SCOPE_KEYS = {
    "principal": "iam_principal",
    "user": "user_id",
    "application": "application",
    "agent": "agent_id",
    "model": "model_id",
}
ENTITY_DIMENSIONS = tuple(ENTITY_SCOPE_KEYS)
TOP_ROWS = 10


# --- saved views ----------------------------------------------------------------------------------


def saved_views_for(*, user: AbstractBaseUser, tenant: Tenant) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user=user, tenant=tenant)


def saved_view_for(*, user: AbstractBaseUser, tenant: Tenant, pk: int) -> SavedView | None:
    """The user's own view in this tenant; None for anyone else's (the view answers 404)."""
    return saved_views_for(user=user, tenant=tenant).filter(pk=pk).first()


# --- entity pages ---------------------------------------------------------------------------------


@dataclass
class TopTable:
    title: str
    dimension: str
    rows: list[Row]
    more: int  # groups beyond the rows shown


@dataclass
class Entity:
    dimension: str
    value: str
    label: str
    query: ExplorerQuery  # the page's range and basis, filtered to the entity
    total: Row
    daily: list[dict[str, Any]]  # usage_date, billed_cost_usd, estimated_cost_usd (never added together)
    tops: list[TopTable]
    recommendations: list[Recommendation]
    aliases: list[str] = field(default_factory=list)  # principal names seen for a principal's ARN

    @property
    def has_spend(self) -> bool:
        return bool(self.total.sums.events)


def entity_query(query: ExplorerQuery, dimension: str, value: str) -> ExplorerQuery:
    """The query of an entity's page: its range and basis, filtered to the entity alone, no grouping."""
    return replace(query, filters=(DimFilter(dimension, (value,)),), group_by=(), sort="cost", page=1)


def _daily(tenant: Tenant, query: ExplorerQuery) -> list[dict[str, Any]]:
    grouped = aggregate(cells(tenant, query), {"day": F("usage_date")})
    return [
        {"usage_date": date.fromisoformat(day), "billed_cost_usd": s.billed, "estimated_cost_usd": s.estimated}
        for (day,), s in sorted(grouped.items())
    ]


def _top(tenant: Tenant, query: ExplorerQuery, dimension: str, title: str) -> TopTable:
    rows, _ = table(tenant, replace(query, group_by=(dimension,)))
    return TopTable(title=title, dimension=dimension, rows=rows[:TOP_ROWS], more=max(0, len(rows) - TOP_ROWS))


def _principal_names(tenant: Tenant, query: ExplorerQuery) -> list[str]:
    names = cells(tenant, query).exclude(principal_name="").values_list("principal_name", flat=True).distinct()
    return sorted(set(names[:20]))


def entity(tenant: Tenant, query: ExplorerQuery, dimension: str, value: str) -> Entity:
    """One entity over the query's range: its total and unit economics, daily billed and estimated cost, its top
    models (or, for a model, its top principals and applications) and its open recommendations."""
    if dimension not in ENTITY_SCOPE_KEYS:
        raise ValueError(f"No entity page for {dimension!r}: use one of {', '.join(ENTITY_DIMENSIONS)}.")
    q = entity_query(query, dimension, value)
    _, total = table(tenant, q)
    if dimension == "model":
        tops = [
            _top(tenant, q, "principal", "Top callers: IAM principals"),
            _top(tenant, q, "application", "Top callers: applications"),
        ]
    else:
        tops = [_top(tenant, q, "model", "Top models")]
    aliases = _principal_names(tenant, q) if dimension == "principal" else []
    matches = {ENTITY_SCOPE_KEYS[dimension]: [value]}
    if aliases:
        matches["principal_name"] = aliases
    names = model_names() if dimension == "model" else None
    return Entity(
        dimension=dimension,
        value=value,
        label=label(dimension, value, names=names),
        query=q,
        total=total,
        daily=_daily(tenant, q),
        tops=tops,
        recommendations=list(recommendations_naming(tenant=tenant, matches=matches)) if value else [],
        aliases=aliases,
    )


def dimension_label(dimension: str) -> str:
    return DIMENSIONS[dimension].label
