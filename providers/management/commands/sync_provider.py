"""Sync one OpenAI or Anthropic connection now: `manage.py sync_provider NAME_OR_ID [--since DATE] [--until DATE]
[--tenant SLUG] [--json]`. Progress goes to stderr with --json, so stdout holds only the JSON document."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.cli import cli_date, cli_tenant
from providers.models import ProviderConnection
from providers.sync import SyncBusy, provider_sync


def _connection(name_or_id: str, tenant_slug: str | None) -> ProviderConnection:
    found = ProviderConnection.objects.select_related("tenant")
    if tenant_slug:
        found = found.filter(tenant=cli_tenant(tenant_slug))
    matches = list(found.filter(pk=int(name_or_id))) if name_or_id.isdigit() else []
    matches = matches or list(found.filter(name=name_or_id))
    if not matches:
        known = ", ".join(f"{c.pk} {c.name!r} ({c.tenant.slug})" for c in found.order_by("pk")[:20]) or "none"
        raise CommandError(f"No provider connection {name_or_id!r}. Known: {known}.")
    if len(matches) > 1:
        tenants = ", ".join(c.tenant.slug for c in matches)
        raise CommandError(
            f"{len(matches)} connections are named {name_or_id!r} (tenants {tenants}): add --tenant SLUG or use the id."
        )
    return matches[0]


class Command(BaseCommand):
    help = "Sync an OpenAI or Anthropic connection (usage and costs) into the ledger now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="The connection's id or name.")
        parser.add_argument("--since", type=cli_date, help="First day to read (YYYY-MM-DD); default: the watermark.")
        parser.add_argument("--until", type=cli_date, help="Last day to read (YYYY-MM-DD, included); default: today.")
        parser.add_argument("--tenant", help="The tenant's slug, when two tenants use the same connection name.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = _connection(str(options["connection"]), options.get("tenant"))
        since, until = options.get("since"), options.get("until")
        if since and until and since > until:
            raise CommandError(f"--since {since} is after --until {until}.")
        out = self.stderr if options["json"] else self.stdout
        try:
            result = provider_sync(
                connection=connection,
                since=cli_date(since) if since else None,
                until=cli_date(until) if until else None,
                trigger="command",
                progress=out.write,
            )
        except SyncBusy as exc:
            raise CommandError(str(exc)) from exc
        summary = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, sort_keys=True))
        else:
            for e in result.endpoints:
                line = (
                    f"{e.endpoint}: {e.status}, {e.fetched} fetched, {e.loaded} loaded, {e.skipped} unchanged, "
                    f"{e.replaced} replaced"
                )
                self.stdout.write(line + (f"\n  {e.error}\n  remedy: {e.remedy}" if e.error else ""))
            for message in result.messages:
                self.stdout.write(f"note: {message}")
            self.stdout.write(f"sync {result.status}")
        if result.status == "failed":
            raise CommandError(f"the sync of {connection.name!r} failed; see the errors above")
