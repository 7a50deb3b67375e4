"""Generate the synthetic company, import it through the real importers, create the demo logins.

``--healthy`` sets up the same company without the six planted stories (``generate_demo(...,
stories=False)``) as a separate tenant with its own data dir and customer admin, so that it never
touches the story-full demo."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from budgets.models import Budget
from budgets.services import budget_create
from connections.models import AwsConnection, Membership
from connections.services import connection_create, membership_grant, tenant_get_or_create
from finops.demo.azure import write_azure_export
from finops.demo.generator import APP_PROFILE_ARN, generate_demo
from finops.demo.vertex import write_vertex_export
from finops.ledger.models import SpendEvent
from finops.ledger.services import catalog_alias_add
from ingestion.models import ImportRun
from ingestion.providers_import import import_azure_costs, import_gcp_billing
from ingestion.services import import_cur, import_invocation_logs

APP_PROFILE_MODEL = "anthropic.claude-sonnet-4-6"

DEMO_TENANT = ("acme", "Acme Corp (demo)")
HEALTHY_TENANT = ("acme-healthy", "Acme Corp (healthy demo)")
HEALTHY_SUFFIX = "-healthy"  # appended to --data-dir with --healthy
STAFF = ("staff", "staff-demo-pass")
CUSTOMER_ADMIN = ("acme-admin", "acme-demo-pass")
HEALTHY_ADMIN = ("acme-healthy-admin", "acme-healthy-demo-pass")
MARKER = ".demo-complete.json"
# (name, explorer filters, monthly amount, basis): a team budget on allocated dollars, a model on billed ones.
DEMO_BUDGETS = (
    ("Data science", [{"dimension": "team", "values": ["data-science"], "exclude": False}], Decimal(9000), "allocated"),
    (
        "Claude Opus 4.6",
        [{"dimension": "model", "values": ["anthropic.claude-opus-4-6-v1"], "exclude": False}],
        Decimal(8000),
        "billed",
    ),
)


class Command(BaseCommand):
    help = (
        "Set up the demo: generate data (once), import it, create a staff user and a customer admin. "
        "Tenant 'acme' gets the Acme Corp company with six planted stories for the recommenders; with "
        f"--healthy, tenant '{HEALTHY_TENANT[0]}' gets the same company without them (data in "
        f"<data-dir>{HEALTHY_SUFFIX}, customer admin {HEALTHY_ADMIN[0]}), leaving the story-full demo alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data-dir", type=Path, default=Path("var/demo-data"))
        parser.add_argument("--end-date", type=date.fromisoformat, help="Last day of demo data (default yesterday).")
        parser.add_argument("--days", type=int, default=60)
        parser.add_argument("--force", action="store_true", help="Regenerate and re-import even if present.")
        parser.add_argument(
            "--healthy",
            action="store_true",
            help=f"A healthy company, without the six stories (no runaway agent, no flagship model for "
            f"classification, prompt caching, no provisioned throughput, no LEGACY model, no restated month), "
            f"as tenant '{HEALTHY_TENANT[0]}' with data in <data-dir>{HEALTHY_SUFFIX}: a recommender run on it "
            f"should find nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        healthy: bool = options["healthy"]
        data_dir: Path = options["data_dir"]
        if healthy:
            data_dir = Path(f"{data_dir}{HEALTHY_SUFFIX}")
        marker = data_dir / MARKER
        say = self.stdout.write
        if marker.exists() and not options["force"]:
            summary = json.loads(marker.read_text())
            if summary.get("stories", True) == healthy:
                kind = "with" if summary.get("stories", True) else "without"
                raise CommandError(
                    f"Demo data in {data_dir} was generated {kind} stories; pass --force to regenerate it."
                )
            say(f"Demo data already generated in {data_dir} (up to {summary['end_date']}); reusing it.")
        else:
            company = "a healthy demo company (no stories)" if healthy else "the demo company"
            say(f"Generating {company} into {data_dir} ...")
            result = generate_demo(
                data_dir, end_date=options["end_date"], days=options["days"], progress=say, stories=not healthy
            )
            summary = {
                "stories": not healthy,
                "end_date": str(options["end_date"] or "yesterday"),
                "cur_manifests": [str(p) for p in result.cur_manifests],
                "cur_first_delivery": [str(p) for p in result.cur_first_delivery],
                "invocation_log_dir": str(result.invocation_log_dir),
                "requests": result.request_count,
                "cur_rows": result.cur_row_count,
            }
            end = options["end_date"] or (datetime.now(UTC).date() - timedelta(days=1))
            start = end - timedelta(days=options["days"] - 1)
            summary["azure_export"] = str(write_azure_export(data_dir, start_date=start, end_date=end))
            summary["vertex_export"] = str(write_vertex_export(data_dir, start_date=start, end_date=end))
            marker.write_text(json.dumps(summary, indent=2))
            say(f"Generated {result.request_count:,} invocation records and {result.cur_row_count:,} CUR rows.")

        slug, name = HEALTHY_TENANT if healthy else DEMO_TENANT
        tenant, created = tenant_get_or_create(slug=slug, name=name)
        if created:
            say(f"Created tenant {tenant.slug!r}.")
        loaded = SpendEvent.objects.filter(tenant=tenant).count()
        if loaded and not options["force"]:
            say(f"Tenant {tenant.slug!r} already has {loaded:,} ledger rows; skipping the import.")
        else:
            # The demo's application inference profile wraps Claude Sonnet 4.6; the inventory sync records
            # that for a connected account. Here it is set by hand, as an admin would map it.
            catalog_alias_add(
                model_id=APP_PROFILE_MODEL, alias=APP_PROFILE_ARN, kind="inference_profile", tenant=tenant
            )
            self._import(tenant, summary)

        if not AwsConnection.objects.filter(tenant=tenant).exists():
            connection = connection_create(
                tenant=tenant,
                name="acme-prod",
                account_id="111111111111",
                regions=["us-east-1", "us-west-2", "eu-west-1"],
                cur_bucket="acme-cur-bucket",
                cur_prefix="cur2",
                cur_export_name="bedrock-cur2",
                log_group_arn="arn:aws:logs:us-east-1:111111111111:log-group:/aws/bedrock/modelinvocations",
            )
            say(
                f"Created a sample AWS connection {connection.name!r} (pending: no role deployed) at "
                f"/connections/{connection.pk}/"
            )

        if not Budget.objects.filter(tenant=tenant).exists():
            for name, scope, amount, basis in DEMO_BUDGETS:
                budget_create(
                    tenant=tenant, actor=None, name=name, scope=scope, amount_usd=amount, basis=basis, period="monthly"
                )
            say(f"Created {len(DEMO_BUDGETS)} sample budgets at /t/{tenant.slug}/budgets/")

        staff = self._user(*STAFF, is_staff=True)
        customer_admin = HEALTHY_ADMIN if healthy else CUSTOMER_ADMIN
        admin = self._user(*customer_admin, is_staff=False)
        if not Membership.objects.filter(user=admin, tenant=tenant, role=Membership.Role.ADMIN).exists():
            membership_grant(tenant=tenant, user=admin, role=Membership.Role.ADMIN)
        say("")
        say("Demo ready. Log in at http://127.0.0.1:8000/ with:")
        say(f"  FinOps staff (all tenants):        {staff.username} / {STAFF[1]}")
        say(f"  Customer admin (tenant {tenant.slug}):   {admin.username} / {customer_admin[1]}")

    def _import(self, tenant: Any, summary: dict[str, Any]) -> None:
        say = self.stdout.write
        steps = [
            ("CUR first delivery of the restated month", import_cur, summary["cur_first_delivery"]),
            ("CUR final delivery (manifests)", import_cur, summary["cur_manifests"]),
            ("Invocation logs", import_invocation_logs, [summary["invocation_log_dir"]]),
            # The other platforms (a marker written before one existed has none: that demo goes without it).
            ("Azure OpenAI cost export", import_azure_costs, [p for p in [summary.get("azure_export")] if p]),
            ("Vertex AI billing export", import_gcp_billing, [p for p in [summary.get("vertex_export")] if p]),
        ]
        for label, importer, paths in steps:
            if not paths:
                continue
            say(f"Importing {label} ...")
            run = importer(tenant=tenant, paths=[Path(p) for p in paths], progress=say)
            say(
                f"  {run.get_status_display()}: {run.rows_read:,} read, {run.rows_loaded:,} loaded, "
                f"{run.rows_skipped:,} skipped, {run.rows_rejected:,} rejected, {run.rows_replaced:,} replaced."
            )
            if run.status == ImportRun.Status.FAILED:
                raise CommandError(f"Demo import failed: {run.message}")

    @transaction.atomic
    def _user(self, username: str, password: str, *, is_staff: bool) -> Any:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": is_staff, "is_superuser": is_staff}
        )
        if created:
            user.set_password(password)
            user.save()
        return user
