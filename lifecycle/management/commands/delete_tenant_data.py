"""python manage.py delete_tenant_data SLUG (--before YYYY-MM-DD | --all) [--confirm SLUG] [--now] [--reason TEXT]
python manage.py delete_tenant_data SLUG --cancel"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.cli import cli_date, cli_tenant
from lifecycle.deletion import (
    DeletionError,
    deletion_plan,
    deletion_request_cancel,
    deletion_request_create,
    deletion_request_execute,
    grace_days,
    pending_request,
)
from lifecycle.models import DeletionRequest


class Command(BaseCommand):
    help = (
        "Request the deletion of a tenant's data: --before a date (ledger rows of earlier usage dates and records "
        "from before it) or --all (everything, connections and memberships too; an audit tombstone stays). "
        "Without --confirm SLUG it only shows what would go. The request runs after the grace period "
        "(DATA_DELETION_GRACE_DAYS, 30 by default) from the nightly job, and can be cancelled until then "
        "(--cancel); --now runs it at once (support staff, with the customer's written request)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The tenant's slug.")
        what = parser.add_mutually_exclusive_group()
        what.add_argument("--before", type=cli_date, help="Delete data of usage dates before this day (YYYY-MM-DD).")
        what.add_argument("--all", action="store_true", help="Delete everything the tenant has.")
        what.add_argument("--cancel", action="store_true", help="Cancel the tenant's pending request.")
        parser.add_argument("--confirm", default="", help="The tenant's slug again: makes the request.")
        parser.add_argument("--now", action="store_true", help="Skip the grace period and delete at once.")
        parser.add_argument("--reason", default="", help="Why (e.g. the customer's ticket); kept on the request.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = cli_tenant(options["slug"])
        if options["cancel"]:
            request = pending_request(tenant=tenant)
            if request is None:
                raise CommandError(f"Tenant {tenant.slug} has no pending deletion request.")
            try:
                deletion_request_cancel(request=request)
            except DeletionError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Cancelled deletion request #{request.pk} of {tenant.slug}: nothing will be deleted.")
            return
        if not options["before"] and not options["all"]:
            raise CommandError("Say what to delete: --before YYYY-MM-DD or --all (or --cancel a pending request).")
        scope = DeletionRequest.Scope.ALL if options["all"] else DeletionRequest.Scope.BEFORE
        before = options["before"]
        what = "ALL data of" if options["all"] else f"data before {before} of"
        self.stdout.write(f"This deletes {what} tenant {tenant.slug} ({tenant.name}):")
        for kind, count in deletion_plan(tenant=tenant, scope=scope, before=before).items():
            self.stdout.write(f"  {kind.replace('_', ' '):<16} {count:>12,}")
        if options["confirm"] != tenant.slug:
            raise CommandError(f"Nothing requested: repeat with --confirm {tenant.slug} to request this deletion.")
        try:
            request = deletion_request_create(
                tenant=tenant, scope=scope, before=before, reason=options["reason"], skip_grace=options["now"]
            )
        except DeletionError as exc:
            raise CommandError(str(exc)) from exc
        if not options["now"]:
            self.stdout.write(
                f"Requested #{request.pk}: runs from {request.due_at:%Y-%m-%d %H:%M} UTC (grace {grace_days()} days); "
                f"cancel until then with: python manage.py delete_tenant_data {tenant.slug} --cancel"
            )
            return
        deletion_request_execute(request=request)
        request.refresh_from_db()
        self.stdout.write(f"Executed #{request.pk} at {request.executed_at:%Y-%m-%d %H:%M} UTC. Receipt:")
        for kind, count in request.receipt.items():
            self.stdout.write(f"  {kind.replace('_', ' '):<16} {count:>12,}")
