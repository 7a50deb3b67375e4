"""Secrets in the admin: never a filter, a search or a page's content, for staff and for customer admins."""

from __future__ import annotations

import pytest
from django.test import Client

from connections.admin_site import is_sensitive_lookup
from connections.models import AwsConnection, Tenant
from connections.services import audit_log_record
from tests.factories import billed_line


@pytest.fixture(params=["staff", "tenant_admin"])
def admin_client(request: pytest.FixtureRequest, client: Client, tenant: Tenant) -> Client:
    client.force_login(request.getfixturevalue(request.param))
    return client


def _prefixes(secret: str) -> tuple[str, str]:
    """A prefix of the secret and one of the same length that is not."""
    wrong = "".join("0" if c != "0" else "1" for c in secret[:6])
    return secret[:6], wrong


def test_a_hash_secret_lookup_is_refused_the_same_way_whether_it_matches_or_not(admin_client: Client, tenant) -> None:  # noqa: ANN001
    right, wrong = _prefixes(tenant.hash_secret)

    for lookup in ("hash_secret__startswith", "hash_secret", "hash_secret__exact", "hash_secret__gte"):
        matching = admin_client.get(f"/admin/connections/tenant/?{lookup}={right}")
        other = admin_client.get(f"/admin/connections/tenant/?{lookup}={wrong}")
        assert matching.status_code == other.status_code == 400, lookup
        assert matching.content == other.content  # no yes/no answer in the body either
        assert tenant.hash_secret.encode() not in matching.content


def test_secrets_cannot_be_reached_through_a_relation(client: Client, staff, tenant, tenant_admin) -> None:  # noqa: ANN001
    billed_line(tenant, cost="1.00")
    client.force_login(staff)
    right, _ = _prefixes(tenant.hash_secret)

    for url in (
        f"/admin/ledger/spendevent/?tenant__hash_secret__startswith={right}",
        f"/admin/connections/membership/?tenant__hash_secret__startswith={right}",
        "/admin/connections/membership/?user__password__startswith=pbkdf2",
        "/admin/auth/user/?password__startswith=pbkdf2",
        "/admin/connections/auditlog/?actor__password__startswith=pbkdf2",
    ):
        assert client.get(url).status_code == 400, url


def test_connection_external_ids_are_not_filterable(admin_client: Client, tenant) -> None:  # noqa: ANN001
    connection = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")

    response = admin_client.get(
        f"/admin/connections/awsconnection/?external_id__startswith={connection.external_id[:4]}"
    )

    assert response.status_code == 400


def test_only_the_admins_own_filters_are_accepted(client: Client, staff, tenant_admin, tenant) -> None:  # noqa: ANN001
    AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    audit_log_record(tenant=tenant, action="test.entry")
    allowed = [
        "/admin/connections/awsconnection/?status__exact=pending",
        "/admin/connections/awsconnection/?mode__exact=SingleAccount&status__exact=pending",
        "/admin/connections/membership/?role__exact=admin",
        "/admin/connections/auditlog/?action__exact=test.entry",
        "/admin/connections/auditlog/?created_at__year=2026&created_at__month=1",
        "/admin/ledger/spendevent/?usage_date__year=2026",
        "/admin/connections/tenant/?q=Acme",
    ]
    refused = [
        "/admin/connections/tenant/?name__startswith=A",  # not a filter of that admin
        "/admin/connections/awsconnection/?role_arn__contains=Admin",
        "/admin/connections/auditlog/?details__icontains=x",
    ]
    for user in (staff, tenant_admin):
        client.force_login(user)
        for url in allowed:
            assert client.get(url).status_code == 200, (user, url)
        for url in refused:
            assert client.get(url).status_code == 400, (user, url)

    client.force_login(staff)
    assert client.get(f"/admin/connections/membership/?tenant__id__exact={tenant.pk}").status_code == 200
    client.force_login(tenant_admin)  # customers have no tenant filter, so no tenant lookup either
    assert client.get(f"/admin/connections/membership/?tenant__id__exact={tenant.pk}").status_code == 400


def test_search_does_not_match_the_secret(admin_client: Client, tenant) -> None:  # noqa: ANN001
    by_name = admin_client.get("/admin/connections/tenant/?q=Acme")
    by_secret = admin_client.get(f"/admin/connections/tenant/?q={tenant.hash_secret[:12]}")

    assert b"Acme Corp" in by_name.content
    assert by_secret.status_code == 200
    assert b"Acme Corp" not in by_secret.content


def test_the_secret_is_on_no_admin_page(admin_client: Client, tenant) -> None:  # noqa: ANN001
    secret = tenant.hash_secret.encode()
    pages = [
        "/admin/",
        "/admin/connections/tenant/",
        f"/admin/connections/tenant/{tenant.pk}/change/",
        f"/admin/connections/tenant/{tenant.pk}/history/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert secret not in response.content, url


def test_staff_do_not_see_the_secret_when_deleting_a_tenant(client: Client, staff, tenant) -> None:  # noqa: ANN001
    client.force_login(staff)

    response = client.get(f"/admin/connections/tenant/{tenant.pk}/delete/")

    assert response.status_code == 200
    assert tenant.hash_secret.encode() not in response.content


def test_sensitive_lookups_are_recognised_anywhere_on_the_path() -> None:
    for lookup in ("hash_secret", "tenant__hash_secret__startswith", "user__password", "external_id__exact"):
        assert is_sensitive_lookup(lookup), lookup
    for lookup in ("status__exact", "tenant__id__exact", "created_at__year", "input_tokens__gte", "dedupe_key"):
        assert not is_sensitive_lookup(lookup), lookup
