"""Template context every page shares."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from connections.admin_site import is_tenant_admin


def navigation(request: HttpRequest) -> dict[str, Any]:
    """`can_admin`: whether the Admin link leads somewhere (staff, or an admin of a tenant); read lazily."""
    user = getattr(request, "user", None)
    return {
        "can_admin": SimpleLazyObject(
            lambda: bool(user is not None and user.is_authenticated and (user.is_staff or is_tenant_admin(user)))
        )
    }
