"""Create a personal API token for a user and print it, once: only its SHA-256 is stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from connections.selectors import tenant_by_slug
from connections.services import api_token_create


class Command(BaseCommand):
    help = (
        "Create a personal API token for USERNAME (acting with their tenants and roles, or only on --tenant) "
        "and print it once; send it as `Authorization: Bearer <token>`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The user name the token acts as.")
        parser.add_argument("--tenant", default="", help="Limit the token to this tenant (slug).")
        parser.add_argument("--name", default="", help='What the token is for, e.g. "nightly export".')
        parser.add_argument("--expires-days", type=int, default=None, help="Expire the token after N days.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["user"]
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive: a token for them would be refused.")
        tenant = None
        if options["tenant"]:
            tenant = tenant_by_slug(slug=options["tenant"])
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        name = options["name"] or f"{username} (manage.py create_api_token)"
        try:
            token, plain = api_token_create(
                user=user,
                name=name,
                tenant=tenant,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                actor=None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        scope = f"tenant {tenant.slug}" if tenant else "all of the user's tenants"
        self.stderr.write(
            f"Created API token {token.name!r} ({token.prefix}…) for {username}, {scope}"
            + (f", expiring {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "")
            + ". It is shown once, below: store it now (only its hash is kept)."
        )
        self.stdout.write(plain)
