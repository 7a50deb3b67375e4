from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from connections.models import AuditLog, Membership, Tenant
from connections.services import audit_log_record
from finops.ledger.models import SpendEvent
from tests.factories import billed_line


def _event(tenant: Tenant, key: str, model: str, cost: str) -> SpendEvent:
    return billed_line(tenant, cost=cost, model_id=model)


@pytest.fixture
def logged_in_admin(client: Client, tenant_admin) -> Client:  # noqa: ANN001
    client.force_login(tenant_admin)
    return client


def test_a_customer_admin_gets_into_the_admin_without_being_staff(logged_in_admin: Client) -> None:
    response = logged_in_admin.get("/admin/")
    assert response.status_code == 200


def test_a_viewer_does_not_get_into_the_admin(client: Client, viewer) -> None:  # noqa: ANN001
    client.force_login(viewer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_lists_only_the_admins_tenant_spend(logged_in_admin: Client, tenant, other_tenant) -> None:  # noqa: ANN001
    _event(tenant, "a", "ours.model-v1", "1.00")
    _event(other_tenant, "b", "theirs.secret-model", "2.00")
    response = logged_in_admin.get("/admin/ledger/spendevent/")
    assert response.status_code == 200
    assert b"ours.model-v1" in response.content
    assert b"theirs.secret-model" not in response.content
    assert b"Globex" not in response.content  # no tenant filter listing other tenants


def test_it_rejects_other_tenant_rows_by_url(logged_in_admin: Client, other_tenant) -> None:  # noqa: ANN001
    theirs = _event(other_tenant, "b", "theirs.secret-model", "2.00")
    response = logged_in_admin.get(f"/admin/ledger/spendevent/{theirs.pk}/change/")
    assert response.status_code == 302  # the admin redirects "does not exist" to the index
    assert b"theirs.secret-model" not in response.content


def test_it_shows_only_own_tenants_and_memberships(logged_in_admin: Client, tenant, other_tenant, outsider) -> None:  # noqa: ANN001
    tenants = logged_in_admin.get("/admin/connections/tenant/")
    assert b"Acme Corp" in tenants.content and b"Globex" not in tenants.content
    memberships = logged_in_admin.get("/admin/connections/membership/")
    assert b"adam" in memberships.content and b"otto" not in memberships.content
    response = logged_in_admin.get(f"/admin/connections/tenant/{other_tenant.pk}/change/")
    assert response.status_code == 302


def test_the_audit_log_is_read_only_and_tenant_scoped(logged_in_admin: Client, tenant, other_tenant) -> None:  # noqa: ANN001
    ours = audit_log_record(tenant=tenant, action="test.ours", target="x")
    audit_log_record(tenant=other_tenant, action="test.theirs", target="y")
    listing = logged_in_admin.get("/admin/connections/auditlog/")
    assert b"test.ours" in listing.content and b"test.theirs" not in listing.content
    assert logged_in_admin.get("/admin/connections/auditlog/add/").status_code == 403
    change = logged_in_admin.post(f"/admin/connections/auditlog/{ours.pk}/change/", {"action": "tampered"})
    assert change.status_code == 403
    assert AuditLog.objects.get(pk=ours.pk).action == "test.ours"


def test_the_audit_log_cannot_be_changed_or_deleted_in_code(tenant) -> None:  # noqa: ANN001
    entry = audit_log_record(tenant=tenant, action="test.entry")
    entry.action = "changed"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditLog.objects.filter(pk=entry.pk).delete()


def test_staff_see_every_tenant(client: Client, staff, tenant, other_tenant) -> None:  # noqa: ANN001
    _event(other_tenant, "b", "theirs.secret-model", "2.00")
    client.force_login(staff)
    assert b"theirs.secret-model" in client.get("/admin/ledger/spendevent/").content
    assert b"Globex" in client.get("/admin/connections/tenant/").content


def test_a_customer_admin_cannot_grant_membership_in_another_tenant(
    logged_in_admin: Client,
    tenant_admin,
    other_tenant,  # noqa: ANN001
) -> None:
    response = logged_in_admin.post(
        "/admin/connections/membership/add/",
        {"user": tenant_admin.pk, "tenant": other_tenant.pk, "role": "admin"},
    )
    assert response.status_code == 200  # the form is shown again with an error
    assert not Membership.objects.filter(user=tenant_admin, tenant=other_tenant).exists()


def test_price_edits_are_audited(client: Client, staff) -> None:  # noqa: ANN001
    from finops.ledger.models import ModelPrice

    price = ModelPrice.objects.filter(model__model_id="amazon.nova-lite-v1:0", token_type="input").first()
    client.force_login(staff)
    data = {
        "model": price.model_id,
        "token_type": price.token_type,
        "route": price.route,
        "service_tier": price.service_tier,
        "region": price.region,
        "variant": price.variant,
        "price_usd": "0.07",
        "unit": price.unit,
        "effective_from": price.effective_from.isoformat(),
        "effective_to": "",
        "source": "staff correction",
        "as_of": "2026-11-20",
    }
    response = client.post(f"/admin/ledger/modelprice/{price.pk}/change/", data)
    assert response.status_code == 302
    price.refresh_from_db()
    assert price.price_usd == Decimal("0.07")
    entry = AuditLog.objects.get(action="price.changed")
    assert entry.actor_label == "stella" and "price_usd" in entry.details["fields"]
