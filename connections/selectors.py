"""Reads for tenants. Staff see every tenant; everyone else only the tenants they are a member of."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from connections.models import Membership, Tenant


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
