from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from budgets.models import Budget
from connections.models import AlertChannel, ApiToken, AuditLog, AwsConnection, Membership, Tenant
from connections.services import api_token_create
from connections.tasks import validate_connection
from finops.explorer.models import SavedView
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check
from lifecycle.deletion import (
    DeletionError,
    deletion_request_cancel,
    deletion_request_create,
    deletion_requests_execute_due,
)
from lifecycle.models import DeletionRequest
from lifecycle.services import lifecycle_nightly
from recommendations.models import Recommendation
from tests.lifecycle.conftest import NOW, Row, audit_actions


def _snapshot(tenant: Tenant) -> tuple[int, int, list[dict]]:
    return (
        SpendEvent.objects.filter(tenant=tenant).count(),
        SpendDaily.objects.filter(tenant=tenant).count(),
        list(SpendDaily.objects.filter(tenant=tenant).order_by("id").values()),
    )


def test_without_confirm_the_command_shows_the_plan_and_requests_nothing(tenant: Tenant, ledgers: dict) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="--confirm acme"):
        call_command("delete_tenant_data", "acme", "--all", stdout=out)
    plan = {line.split()[0] + " " + line.split()[1]: line.split()[-1] for line in out.getvalue().splitlines()[1:]}
    assert plan["ledger rows"] == f"{len(ledgers['acme']):,}"
    with pytest.raises(CommandError, match="--confirm acme"):
        call_command("delete_tenant_data", "acme", "--all", "--confirm", "globex", stdout=StringIO())
    assert not DeletionRequest.objects.exists()
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers["acme"])


def test_a_request_waits_for_its_grace_period_then_runs_once_with_a_receipt(
    tenant: Tenant, other_tenant: Tenant, ledgers: dict[str, list[Row]]
) -> None:
    before = date(2025, 9, 1)
    expected = sum(1 for r in ledgers["acme"] if r.usage_date < before)
    theirs = _snapshot(other_tenant)
    call_command("delete_tenant_data", "acme", "--before", "2025-09-01", "--confirm", "acme", stdout=StringIO())
    request = DeletionRequest.objects.get()
    assert request.due_at - request.requested_at == timedelta(days=30)

    assert deletion_requests_execute_due(now=request.due_at - timedelta(seconds=1)) == []
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers["acme"])

    assert [r.pk for r in deletion_requests_execute_due(now=request.due_at)] == [request.pk]
    request.refresh_from_db()
    assert request.state == "executed"
    assert request.receipt["ledger_rows"] == expected
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers["acme"]) - expected
    assert not SpendEvent.objects.filter(tenant=tenant, usage_date__lt=before).exists()
    assert rollup_check(tenant_id=tenant.pk) == []
    receipt = AuditLog.objects.get(tenant=tenant, action="lifecycle.deletion_executed")
    assert receipt.details["counts"] == request.receipt
    assert _snapshot(other_tenant) == theirs

    # once: a second run (or a second worker) finds nothing to do
    assert deletion_requests_execute_due(now=request.due_at + timedelta(days=1)) == []
    assert AuditLog.objects.filter(action="lifecycle.deletion_executed").count() == 1


def test_a_cancelled_request_deletes_nothing_when_the_nightly_job_runs(tenant: Tenant, ledgers: dict) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(retention_months=600)  # so that retention removes nothing here
    ours = _snapshot(tenant)
    call_command("delete_tenant_data", "acme", "--all", "--confirm", "acme", stdout=StringIO())
    call_command("delete_tenant_data", "acme", "--cancel", stdout=StringIO())
    request = DeletionRequest.objects.get()
    assert request.state == "cancelled"

    result = lifecycle_nightly(now=request.due_at + timedelta(days=1))

    assert result["deletions_executed"] == []
    assert _snapshot(tenant) == ours
    assert "lifecycle.deletion_cancelled" in audit_actions(tenant)
    assert not AuditLog.objects.filter(action__in=["lifecycle.tenant_erased", "lifecycle.deletion_executed"]).exists()
    with pytest.raises(DeletionError, match="cancelled"):
        deletion_request_cancel(request=request)


def test_a_cancelled_request_leaves_every_row(tenant: Tenant, ledgers: dict, viewer) -> None:  # noqa: ANN001
    ours = _snapshot(tenant)
    request = deletion_request_create(tenant=tenant, scope="all", now=NOW)
    deletion_request_cancel(request=request)
    assert deletion_requests_execute_due(now=NOW + timedelta(days=31)) == []
    assert _snapshot(tenant) == ours
    assert Membership.objects.filter(tenant=tenant).count() == 1


def test_one_pending_request_per_tenant(tenant: Tenant) -> None:
    call_command("delete_tenant_data", "acme", "--all", "--confirm", "acme", stdout=StringIO())
    with pytest.raises(CommandError, match="already has a pending deletion request"):
        call_command("delete_tenant_data", "acme", "--before", "2025-01-01", "--confirm", "acme", stdout=StringIO())


def _tenant_with_everything(tenant: Tenant, user) -> AwsConnection:  # noqa: ANN001
    connection = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    Budget.objects.create(tenant=tenant, name="All", amount_usd=Decimal(100))
    Recommendation.objects.create(tenant=tenant, kind="anomaly", fingerprint="f", title="t")
    SavedView.objects.create(user=user, tenant=tenant, name="Mine", querystring="g=team")
    AlertChannel.objects.create(tenant=tenant, kind="webhook", target="https://hooks.example.com/T0/B0/secret")
    api_token_create(user=user, name="script", tenant=tenant)
    return connection


def test_all_removes_connections_and_members_and_keeps_a_tombstone(
    tenant: Tenant, other_tenant: Tenant, ledgers: dict, tenant_admin, outsider, client: Client
) -> None:  # noqa: ANN001
    connection = _tenant_with_everything(tenant, tenant_admin)
    _tenant_with_everything(other_tenant, outsider)
    external_id, hash_secret = connection.external_id, tenant.hash_secret
    theirs = _snapshot(other_tenant)
    out = StringIO()
    call_command("delete_tenant_data", "acme", "--all", "--confirm", "acme", "--now", stdout=out)

    for model in (SpendEvent, SpendDaily, AwsConnection, Membership, Budget, Recommendation, SavedView, AlertChannel):
        assert not model.objects.filter(tenant=tenant).exists(), model
    assert not ApiToken.objects.filter(tenant=tenant).exists()
    # the ExternalId is gone with its connection: nothing can assume a role with it any more
    assert not AwsConnection.objects.filter(external_id=external_id).exists()
    assert validate_connection(connection.pk)["skipped"] == "the connection no longer exists"
    # the tombstone: the tenant row, the request, and one audit entry with the receipt
    tenant.refresh_from_db()
    assert tenant.slug == "acme" and tenant.settings == {} and tenant.hash_secret != hash_secret
    assert audit_actions(tenant) == ["lifecycle.tenant_erased"]
    tombstone = AuditLog.objects.get(tenant=tenant)
    request = DeletionRequest.objects.get(tenant=tenant)
    assert tombstone.details["counts"] == request.receipt
    assert request.receipt["ledger_rows"] == len(ledgers["acme"])
    assert request.receipt["connections"] == 1 and request.receipt["memberships"] == 1
    # the other tenant: untouched
    assert _snapshot(other_tenant) == theirs
    assert AwsConnection.objects.filter(tenant=other_tenant).count() == 1
    assert Membership.objects.filter(tenant=other_tenant).count() == 1
    assert AuditLog.objects.filter(tenant=other_tenant).exists()
    # the former admin is an outsider now
    client.force_login(tenant_admin)
    assert client.get("/t/acme/data/").status_code == 404


def test_the_admin_action_requests_and_cancels_for_staff(tenant: Tenant, staff, client: Client) -> None:  # noqa: ANN001
    client.force_login(staff)
    url = "/admin/connections/tenant/"
    step = client.post(url, {"action": "request_deletion", "_selected_action": [tenant.pk]})
    assert step.status_code == 200 and b"Type <code>acme</code> to confirm" in step.content
    assert not DeletionRequest.objects.exists()
    wrong = client.post(
        url,
        {"action": "request_deletion", "_selected_action": [tenant.pk], "apply": "1", "scope": "all", "confirm": "x"},
    )
    assert b"Type the tenant slugs exactly" in wrong.content and not DeletionRequest.objects.exists()
    done = client.post(
        url,
        {
            "action": "request_deletion",
            "_selected_action": [tenant.pk],
            "apply": "1",
            "scope": "before",
            "before": "2025-03-01",
            "confirm": "acme",
        },  # fmt: skip
    )
    assert done.status_code == 302
    request = DeletionRequest.objects.get()
    assert (request.scope, request.before, request.requested_by_label) == ("before", date(2025, 3, 1), "stella")
    client.post(url, {"action": "cancel_deletion", "_selected_action": [tenant.pk]})
    request.refresh_from_db()
    assert request.state == "cancelled" and request.cancelled_by_label == "stella"


def test_customer_admins_see_their_requests_but_no_deletion_actions(
    tenant: Tenant, other_tenant: Tenant, tenant_admin, client: Client
) -> None:  # noqa: ANN001
    ours = deletion_request_create(tenant=tenant, scope="all")
    theirs = deletion_request_create(tenant=other_tenant, scope="before", before=date(2025, 1, 1))
    client.force_login(tenant_admin)
    tenants = client.get("/admin/connections/tenant/")
    assert tenants.status_code == 200 and b"request_deletion" not in tenants.content
    refused = client.post(
        "/admin/connections/tenant/", {"action": "request_deletion", "_selected_action": [tenant.pk], "apply": "1"}
    )
    assert refused.status_code in (200, 302)
    assert DeletionRequest.objects.count() == 2
    listing = client.get("/admin/lifecycle/deletionrequest/")
    assert listing.status_code == 200 and b"Acme Corp" in listing.content and b"Globex" not in listing.content
    assert client.get(f"/admin/lifecycle/deletionrequest/{ours.pk}/change/").status_code == 200
    assert client.get(f"/admin/lifecycle/deletionrequest/{theirs.pk}/change/").status_code == 302
    client.post(
        "/admin/lifecycle/deletionrequest/", {"action": "cancel_requests", "_selected_action": [ours.pk, theirs.pk]}
    )
    assert {r.state for r in DeletionRequest.objects.all()} == {"pending"}
