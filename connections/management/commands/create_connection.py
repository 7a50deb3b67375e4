from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.models import AwsConnection
from connections.services import connection_create, tenant_get_or_create


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = "Create an AWS connection for a tenant and print its id and the ExternalId generated for it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Tenant slug (created when it does not exist).")
        parser.add_argument("--name", required=True)
        parser.add_argument("--account-id", required=True, help="The 12-digit AWS account id.")
        parser.add_argument("--mode", choices=["single", "organization"], default="single")
        parser.add_argument("--member-role-name", default="OrganizationAccountAccessRole")
        parser.add_argument("--role-path-prefix", default="", help='IAM path, e.g. "/customer-managed/".')
        parser.add_argument(
            "--regions", type=_csv, default=["us-east-1"], help="Comma-separated, e.g. us-east-1,us-west-2"
        )
        parser.add_argument("--cur-bucket", default="")
        parser.add_argument("--cur-prefix", default="")
        parser.add_argument("--cur-export-name", default="")
        parser.add_argument("--log-group-arn", default="")
        parser.add_argument("--log-bucket", default="")
        parser.add_argument("--log-prefix", default="")
        parser.add_argument("--role-arn", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, created = tenant_get_or_create(slug=options["tenant"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if created:
            self.stdout.write(f"Tenant {tenant.slug!r} did not exist; created it.")
        mode = (
            AwsConnection.Mode.ORGANIZATION if options["mode"] == "organization" else AwsConnection.Mode.SINGLE_ACCOUNT
        )
        try:
            connection = connection_create(
                tenant=tenant,
                name=options["name"],
                account_id=options["account_id"],
                mode=mode,
                member_role_name=options["member_role_name"],
                role_path_prefix=options["role_path_prefix"],
                regions=options["regions"],
                cur_bucket=options["cur_bucket"],
                cur_prefix=options["cur_prefix"],
                cur_export_name=options["cur_export_name"],
                log_group_arn=options["log_group_arn"],
                log_bucket=options["log_bucket"],
                log_prefix=options["log_prefix"],
                role_arn=options["role_arn"],
            )
        except ValidationError as exc:
            problems = "; ".join(f"--{k.replace('_', '-')}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Connection not created: {problems}") from exc
        self.stdout.write(f"id: {connection.pk}")
        self.stdout.write(f"external_id: {connection.external_id}")
        self.stdout.write(f"role_name: {connection.role_name}")
        self.stdout.write(
            f"Next: python manage.py connection_template {connection.pk} > role.yaml, deploy it, "
            "then set the role ARN and run diagnose_connection."
        )
