"""What management commands share: a YYYY-MM-DD argument and a tenant named by its slug, each a CommandError
that says what to type when wrong."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError

from connections.models import Tenant
from connections.selectors import tenant_by_slug


def cli_date(value: str | date) -> date:
    """A date argument. `call_command(as_of="YYYY-MM-DD")` skips argparse's `type`, so text is taken here too."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date: use YYYY-MM-DD.") from exc


def cli_tenant(slug: str, *, hint: str = "") -> Tenant:
    tenant = tenant_by_slug(slug=slug)
    if tenant is None:
        raise CommandError(f"No tenant {slug!r}.{f' {hint}' if hint else ''}")
    return tenant
