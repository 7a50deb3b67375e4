"""Reads for tenants. Staff see every tenant; everyone else only the tenants they are a member of."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from connections.models import ApiToken, AuditLog, AwsConnection, Membership, Tenant


def tenants_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Tenant]:
    if not user.is_authenticated:
        return Tenant.objects.none()
    if user.is_staff:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user).distinct()


def tenant_for_user(*, user: AbstractBaseUser | AnonymousUser, slug: str) -> Tenant:
    """The tenant if the user may see it; 404 otherwise, so outsiders learn nothing."""
    tenant = tenants_for_user(user=user).filter(slug=slug).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def tenant_ids_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[int]:
    return list(tenants_for_user(user=user).values_list("id", flat=True))


def membership_role(*, user: AbstractBaseUser, tenant: Tenant) -> str | None:
    if user.is_staff:
        return Membership.Role.ADMIN
    membership = Membership.objects.filter(user=user, tenant=tenant).first()
    return membership.role if membership else None


def tenant_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def connections_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[AwsConnection]:
    return AwsConnection.objects.filter(tenant__in=tenants_for_user(user=user)).select_related("tenant")


def connection_for_user(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> AwsConnection:
    """The connection if the user may see its tenant; 404 otherwise."""
    connection = connections_for_user(user=user).filter(pk=pk).first()
    if connection is None:
        raise Http404("No such connection.")
    return connection


def connection_by_name_or_id(*, value: str) -> AwsConnection | None:
    """For support commands: a numeric id, or a name (unique within a tenant; `tenant/name` when ambiguous)."""
    queryset = AwsConnection.objects.select_related("tenant")
    if value.isdigit():
        found = queryset.filter(pk=int(value)).first()
        if found is not None:
            return found
    if "/" in value:
        slug, name = value.split("/", 1)
        return queryset.filter(tenant__slug=slug, name=name).first()
    matches = list(queryset.filter(name=value)[:2])
    if len(matches) > 1:
        raise ValueError(f"More than one connection is named {value!r}: use its id or TENANT/NAME.")
    return matches[0] if matches else None


def connection_health(*, tenant_slug: str = "", status: str = "") -> QuerySet[AwsConnection]:
    """Every connection of every tenant (support staff), optionally filtered by tenant and status."""
    queryset = AwsConnection.objects.select_related("tenant").order_by("tenant__name", "name")
    if tenant_slug:
        queryset = queryset.filter(tenant__slug=tenant_slug)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def validation_started_at(connection: AwsConnection) -> datetime:
    """When the running validation was asked for: the latest request's audit time, else the last save."""
    started = (
        AuditLog.objects.filter(
            tenant_id=connection.tenant_id,
            action="connection.validation_requested",
            details__connection_id=connection.pk,
        )
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return started or connection.updated_at


def api_tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (staff see everyone's in the admin, not here)."""
    return ApiToken.objects.filter(user=user).select_related("tenant").order_by("-created_at", "-id")


def api_token_for_user(*, user: AbstractBaseUser, pk: int) -> ApiToken:
    """One of the user's own tokens; 404 for anyone else's."""
    token = api_tokens_for_user(user=user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token
