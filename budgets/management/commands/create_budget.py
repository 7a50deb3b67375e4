"""Create a budget for a tenant: a scope of explorer filters, an amount per month or quarter, thresholds, channels."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgets.scope import default_thresholds, parse_filter, parse_threshold
from budgets.services import budget_create
from connections.selectors import tenant_by_slug

FLAGS = {"amount_usd": "--amount", "scope": "--filter", "thresholds": "--threshold", "emails": "--email",
         "webhooks": "--webhook", "name": "--name", "period": "--period", "basis": "--basis"}  # fmt: skip


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(
            " ".join(msgs) if field == NON_FIELD_ERRORS else f"{FLAGS.get(field, field)}: {' '.join(msgs)}"
            for field, msgs in exc.message_dict.items()
        )
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create a budget: an amount per month or quarter for a scope of spend, with alert thresholds and channels."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--name", required=True, help="Unique within the tenant.")
        parser.add_argument("--amount", required=True, help="USD per period, e.g. 5000.")
        parser.add_argument("--period", choices=["monthly", "quarterly"], default="monthly")
        parser.add_argument(
            "--basis",
            choices=["allocated", "billed", "estimated"],
            default="allocated",
            help="allocated (default; team, user and application scopes), billed (account, model), estimated.",
        )
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="DIM=VALUE",
            help="team=search includes, team!=search excludes; several values with commas; repeat for more.",
        )
        parser.add_argument(
            "--threshold",
            action="append",
            default=[],
            metavar="KIND:PCT",
            help="actual:80 or forecast:100; repeat for more (default actual:80, actual:100, forecast:100).",
        )
        parser.add_argument("--email", action="append", default=[], help="Alert this address; repeat for more.")
        parser.add_argument("--webhook", action="append", default=[], help="Slack-compatible https webhook; repeat.")
        parser.add_argument(
            "--no-tenant-channels", action="store_true", help="Do not send the alerts to the tenant's alert channels."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant {options['tenant']!r}.")
        try:
            amount = Decimal(str(options["amount"]).replace(",", "").lstrip("$"))
        except InvalidOperation as exc:
            raise CommandError(f"--amount {options['amount']!r} is not a number of dollars, e.g. 5000.") from exc
        try:
            scope = [parse_filter(text) for text in options["filter"]]
            thresholds = [parse_threshold(text) for text in options["threshold"]] or default_thresholds()
            budget = budget_create(
                tenant=tenant,
                actor=None,
                name=options["name"],
                amount_usd=amount,
                period=options["period"],
                basis=options["basis"],
                scope=scope,
                thresholds=thresholds,
                emails=list(options["email"]),
                webhooks=list(options["webhook"]),
                use_tenant_channels=not options["no_tenant_channels"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        thresholds_text = ", ".join(f"{t['kind']} {t['pct']}%" for t in budget.thresholds) or "none"
        self.stdout.write(
            f"Created budget {budget.pk} {budget.name!r} for {tenant.slug}: ${budget.amount_usd:,.2f} "
            f"{budget.get_period_display().lower()}, {budget.basis} dollars; scope: {budget.scope_words}; "
            f"thresholds: {thresholds_text}."
        )
