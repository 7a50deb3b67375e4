"""Writes of the explorer: saved views (each one audited)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from connections.models import Tenant
from connections.services import audit_log_record
from finops.explorer.models import NAME_MAX, QUERYSTRING_MAX, SavedView

MAX_SAVED_VIEWS = 200  # per user and tenant: a list anyone can still read


class SavedViewError(ValueError):
    """A view that cannot be saved; the message says why."""


def saved_view_save(*, user: AbstractBaseUser, tenant: Tenant, name: str, querystring: str) -> tuple[SavedView, bool]:
    """Save the view under a name (replacing the user's view of that name); (view, created)."""
    name = " ".join(name.split())
    querystring = querystring.strip().lstrip("?")
    if not name:
        raise SavedViewError("Give the view a name.")
    if len(name) > NAME_MAX:
        raise SavedViewError(f"A name of at most {NAME_MAX} characters, please.")
    if len(querystring) > QUERYSTRING_MAX or "#" in querystring:
        raise SavedViewError("This view is too large to save; remove some filter values.")
    with transaction.atomic():
        mine = SavedView.objects.filter(user=user, tenant=tenant)
        if not mine.filter(name=name).exists() and mine.count() >= MAX_SAVED_VIEWS:
            raise SavedViewError(f"You have {MAX_SAVED_VIEWS} saved views here: delete one first.")
        view, created = SavedView.objects.update_or_create(
            user=user, tenant=tenant, name=name, defaults={"querystring": querystring}
        )
        audit_log_record(
            tenant=tenant,
            actor=user,
            action="saved_view.created" if created else "saved_view.updated",
            target=name,
            details={"querystring": querystring},
        )
    return view, created


def saved_view_delete(*, view: SavedView, actor: AbstractBaseUser) -> None:
    with transaction.atomic():
        audit_log_record(
            tenant=view.tenant,
            actor=actor,
            action="saved_view.deleted",
            target=view.name,
            details={"querystring": view.querystring},
        )
        view.delete()
