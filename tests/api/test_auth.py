"""Who may call what: Bearer tokens and the session, a token's tenant limit, roles on writes, CSRF, and the
audit of writes made with a token."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from connections.api_auth import API_WRITE
from connections.models import AuditLog, Membership, Tenant
from connections.services import api_token_create, api_token_revoke
from recommendations.models import Recommendation
from tests.api.conftest import bearer, token_for


@pytest.fixture
def card(tenant: Tenant) -> Recommendation:
    return Recommendation.objects.create(
        tenant=tenant,
        kind=Recommendation.Kind.MODEL_ROUTING,
        fingerprint="route-search",
        title="Route search to a smaller model",
        scope={"team": "search"},
        monthly_savings_usd=Decimal("120.50"),
    )


def test_a_token_and_the_session_both_work(client: Client, viewer, tenant: Tenant) -> None:  # noqa: ANN001
    token = token_for(viewer)
    assert client.get("/api/v1/ledger/acme/report", **bearer(token)).status_code == 200

    session = Client()
    session.force_login(viewer)
    assert session.get("/api/v1/ledger/acme/report").status_code == 200


def test_no_token_a_bad_token_or_a_revoked_one_is_a_401(client: Client, viewer, tenant: Tenant) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="script")
    assert client.get("/api/v1/ledger/acme/report").status_code == 401
    assert client.get("/api/v1/ledger/acme/report", HTTP_AUTHORIZATION="Bearer bfo_nope").status_code == 401
    api_token_revoke(token=token, actor=viewer)

    response = client.get("/api/v1/ledger/acme/report", **bearer(plain))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    # Even with a session alongside: a token that was sent and is not live is refused, not ignored.
    client.force_login(viewer)
    assert client.get("/api/v1/ledger/acme/report", **bearer(plain)).status_code == 401


def test_a_token_acts_as_its_user_not_as_the_session_beside_it(client: Client, viewer, outsider, other_tenant) -> None:  # noqa: ANN001
    client.force_login(outsider)  # a session of someone who may see globex
    token = token_for(viewer)

    assert client.get("/api/v1/ledger/globex/report", **bearer(token)).status_code == 404
    assert client.get("/api/v1/ledger/acme/report", **bearer(token)).status_code == 200


def test_a_token_limited_to_one_tenant_gets_404_on_the_users_other_tenants(client: Client, viewer) -> None:  # noqa: ANN001
    acme = Tenant.objects.get(slug="acme")
    initech = Tenant.objects.create(slug="initech", name="Initech")
    Membership.objects.create(user=viewer, tenant=initech, role=Membership.Role.ADMIN)
    limited = token_for(viewer, tenant=acme)
    everywhere = token_for(viewer)

    assert client.get("/api/v1/ledger/acme/events", **bearer(limited)).status_code == 200
    assert client.get("/api/v1/ledger/initech/events", **bearer(limited)).status_code == 404
    assert client.get("/api/v1/ledger/initech/events", **bearer(everywhere)).status_code == 200


def test_a_staff_token_limited_to_a_tenant_sees_only_that_one(client: Client, staff, tenant, other_tenant) -> None:  # noqa: ANN001
    limited = token_for(staff, tenant=other_tenant)

    assert client.get("/api/v1/ledger/globex/events", **bearer(limited)).status_code == 200
    assert client.get("/api/v1/ledger/acme/events", **bearer(limited)).status_code == 404
    assert client.get("/api/v1/ledger/acme/events", **bearer(token_for(staff))).status_code == 200


def test_a_viewer_gets_403_on_writes(client: Client, viewer, card: Recommendation) -> None:  # noqa: ANN001
    token = token_for(viewer)
    url = f"/api/v1/recommendations/acme/{card.pk}"

    accept = client.post(f"{url}/accept", **bearer(token))
    dismiss = client.post(f"{url}/dismiss", {"reason": "no"}, content_type="application/json", **bearer(token))

    assert (accept.status_code, dismiss.status_code) == (403, 403)
    assert "viewer" in accept.json()["detail"]
    card.refresh_from_db()
    assert card.status == Recommendation.Status.OPEN


@pytest.mark.parametrize("role", [Membership.Role.ANALYST, Membership.Role.ADMIN])
def test_analysts_and_admins_write(client: Client, viewer, card: Recommendation, role: str) -> None:  # noqa: ANN001
    Membership.objects.filter(user=viewer).update(role=role)
    response = client.post(f"/api/v1/recommendations/acme/{card.pk}/accept", **bearer(token_for(viewer)))

    assert response.status_code == 200 and response.json()["status"] == "accepted"


def test_a_write_with_a_token_is_audited_with_its_prefix_and_endpoint(client: Client, analyst, card) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=analyst, name="triage bot")
    url = f"/api/v1/recommendations/acme/{card.pk}/dismiss"

    response = client.post(url, {"reason": "already planned"}, content_type="application/json", **bearer(plain))

    assert response.status_code == 200
    entry = AuditLog.objects.get(action=API_WRITE)
    assert entry.tenant == card.tenant and entry.actor == analyst
    assert entry.details["token_prefix"] == token.prefix and plain not in str(entry.details)
    assert (entry.details["method"], entry.details["endpoint"], entry.details["status"]) == ("POST", url, 200)
    # The service's own entry is there too, by the token's user.
    assert AuditLog.objects.filter(action="recommendation.dismissed", actor=analyst).count() == 1


def test_a_refused_write_with_a_token_is_audited_too(client: Client, viewer, card) -> None:  # noqa: ANN001
    token, plain = api_token_create(user=viewer, name="curious")

    client.post(f"/api/v1/recommendations/acme/{card.pk}/accept", **bearer(plain))
    client.post(f"/api/v1/recommendations/globex/{card.pk}/accept", **bearer(plain))

    statuses = sorted(e.details["status"] for e in AuditLog.objects.filter(action=API_WRITE))
    assert statuses == [403, 404]
    # The probe of a tenant the token cannot see is logged for staff, not into that tenant's log.
    assert AuditLog.objects.get(action=API_WRITE, details__status=404).tenant is None
    assert not AuditLog.objects.filter(action="recommendation.accepted").exists()


def test_reads_and_session_writes_make_no_api_write_entry(client: Client, analyst, card) -> None:  # noqa: ANN001
    client.get("/api/v1/recommendations/acme/", **bearer(token_for(analyst)))
    client.force_login(analyst)
    client.post(f"/api/v1/recommendations/acme/{card.pk}/accept")

    assert not AuditLog.objects.filter(action=API_WRITE).exists()
    assert AuditLog.objects.filter(action="recommendation.accepted", actor=analyst).exists()


def test_session_writes_need_the_csrf_token_and_bearer_writes_do_not(analyst, card) -> None:  # noqa: ANN001
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(analyst)
    url = f"/api/v1/recommendations/acme/{card.pk}/accept"

    assert browser.post(url).status_code == 403
    card.refresh_from_db()
    assert card.status == Recommendation.Status.OPEN

    script = Client(enforce_csrf_checks=True)
    assert script.post(url, **bearer(token_for(analyst))).status_code == 200


def test_a_nul_character_anywhere_is_a_400_not_a_server_error(client: Client, analyst, card) -> None:  # noqa: ANN001
    # PostgreSQL cannot store or compare text with a NUL: the schemathesis run found it (tests/test_api_schemathesis.py)
    token = token_for(analyst)
    dismiss = f"/api/v1/recommendations/acme/{card.pk}/dismiss"

    responses = [
        client.get("/api/v1/ledger/acme/events?team=a%00b", **bearer(token)),
        client.get("/api/v1/explore/acme/query?f.team=%00", **bearer(token)),
        client.get("/api/v1/ledger/ac%00me/events", **bearer(token)),
        client.post(dismiss, {"reason": "no\x00pe"}, content_type="application/json", **bearer(token)),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400, 400]
    assert "NUL" in responses[0].json()["detail"]
    card.refresh_from_db()
    assert card.status == Recommendation.Status.OPEN
    ok = client.post(dismiss, {"reason": "fine"}, content_type="application/json", **bearer(token))
    assert ok.status_code == 200
