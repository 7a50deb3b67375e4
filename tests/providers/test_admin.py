"""Provider connections in the admin: a customer admin sees and manages their tenant's only; the key's
plaintext and ciphertext never reach a page; sync runs, watermarks and names are read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from connections.models import AuditLog
from providers.models import ProviderConnection, ProviderName, ProviderSyncRun, ProviderSyncState
from providers.services import provider_connection_create

from .conftest import OPENAI_KEY

THEIR_KEY = "sk-ant-admin01-theirs-0123456789abcdefZZZZ"
NEW_KEY = "sk-admin-replacement-0123456789abcNEW9"
CONNECTION = "/admin/providers/providerconnection/"


@pytest.fixture
def theirs(other_tenant, outsider) -> ProviderConnection:  # noqa: ANN001
    connection = provider_connection_create(
        tenant=other_tenant, kind="anthropic", name="Globex Claude", api_key=THEIR_KEY, actor=outsider
    )
    ProviderSyncRun.objects.create(tenant=other_tenant, connection=connection, sync_id="s2", endpoint="costs")
    ProviderSyncState.objects.create(connection=connection, endpoint="costs", watermark={"next_day": "2026-11-20"})
    ProviderName.objects.create(connection=connection, kind="scope", object_id="wrkspc_globex", name="Globex secret")
    return connection


@pytest.fixture
def ours(openai_connection) -> ProviderConnection:  # noqa: ANN001
    ProviderSyncRun.objects.create(tenant=openai_connection.tenant, connection=openai_connection, sync_id="s1",
                                   endpoint="usage.completions", error="names could not be listed")  # fmt: skip
    ProviderSyncState.objects.create(
        connection=openai_connection, endpoint="costs", watermark={"next_day": "2026-11-21"}
    )
    ProviderName.objects.create(connection=openai_connection, kind="scope", object_id="proj_alpha", name="Search")
    return openai_connection


def _admin(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _secrets(*connections: ProviderConnection) -> list[bytes]:
    out = []
    for c in connections:
        c.refresh_from_db()
        out += [c.api_key.encode(), c.api_key_encrypted.encode(), c.api_key_encrypted[:24].encode()]
    return out


def test_a_tenant_admin_lists_only_their_tenants_connections(tenant_admin, ours, theirs) -> None:  # noqa: ANN001
    page = _admin(tenant_admin).get(CONNECTION)
    assert page.status_code == 200
    assert b"OpenAI prod" in page.content and b"\xe2\x80\xa6WXYZ" in page.content  # the masked key
    assert b"Globex Claude" not in page.content and b"Globex" not in page.content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/providers/providerconnection/{c}/change/",
        "/admin/providers/providerconnection/{c}/delete/",
        "/admin/providers/providerconnection/{c}/history/",
    ],
)
def test_another_tenants_connection_is_out_of_reach(tenant_admin, ours, theirs, url: str) -> None:  # noqa: ANN001
    page = _admin(tenant_admin).get(url.format(c=theirs.pk))
    # Django's admin answers an object outside the queryset with a redirect to the index ("does not exist").
    assert page.status_code in (302, 404)
    assert b"Globex Claude" not in page.content
    assert _admin(tenant_admin).post(f"{CONNECTION}{theirs.pk}/delete/", {"post": "yes"}).status_code in (302, 404)
    assert ProviderConnection.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    "path",
    ["/admin/providers/providersyncrun/", "/admin/providers/providersyncstate/", "/admin/providers/providername/"],
)
def test_runs_watermarks_and_names_are_scoped_and_read_only(tenant_admin, ours, theirs, path: str) -> None:  # noqa: ANN001
    client = _admin(tenant_admin)
    page = client.get(path)
    assert page.status_code == 200 and b"OpenAI prod" in page.content
    assert b"Globex" not in page.content and b"2026-11-20" not in page.content
    assert f'href="{path}add/"'.encode() not in page.content  # no add button
    assert client.get(f"{path}add/").status_code == 403


def test_the_key_never_appears_in_the_admin(tenant_admin, staff, ours, theirs) -> None:  # noqa: ANN001
    secrets = _secrets(ours, theirs)
    for user in (tenant_admin, staff):
        client = _admin(user)
        for url in (
            CONNECTION,
            f"{CONNECTION}{ours.pk}/change/",
            f"{CONNECTION}{ours.pk}/history/",
            f"{CONNECTION}{ours.pk}/delete/",
            f"{CONNECTION}add/",
            "/admin/providers/providersyncrun/",
            "/admin/connections/auditlog/",
        ):
            page = client.get(url)
            assert page.status_code == 200, url
            for secret in secrets:
                assert secret not in page.content, (url, user)
    assert _admin(staff).get(f"{CONNECTION}{theirs.pk}/change/").status_code == 200  # staff see every tenant


def test_the_key_cannot_be_filtered_on(tenant_admin, ours) -> None:  # noqa: ANN001
    prefix = ours.api_key_encrypted[:6]
    assert _admin(tenant_admin).get(f"{CONNECTION}?api_key_encrypted__startswith={prefix}").status_code == 400


def test_replacing_the_key_is_write_only_and_audited(tenant_admin, ours) -> None:  # noqa: ANN001
    client = _admin(tenant_admin)
    form = {"name": "OpenAI prod", "organization_id": "org-acme", "enabled": "on", "replace_key": NEW_KEY}
    done = client.post(f"{CONNECTION}{ours.pk}/change/", form)
    assert done.status_code == 302
    ours.refresh_from_db()
    assert ours.api_key == NEW_KEY and ours.key_last4 == "NEW9" and ours.status == "new"
    entry = AuditLog.objects.filter(action="provider.updated").latest("id")
    assert "api_key" in entry.details["fields"] and NEW_KEY not in str(entry.details)
    # A blank field keeps the key; a bad one is refused without echoing it.
    client.post(f"{CONNECTION}{ours.pk}/change/", {**form, "replace_key": "", "enabled": ""})
    ours.refresh_from_db()
    assert ours.api_key == NEW_KEY and not ours.enabled
    bad = client.post(f"{CONNECTION}{ours.pk}/change/", {**form, "replace_key": "sk-admin-short"})
    assert bad.status_code == 200 and b"sk-admin-short" not in bad.content and b"admin-keys" in bad.content


def test_a_tenant_admin_adds_a_connection_for_their_tenant_only(
    tenant_admin, tenant, other_tenant, provider_catalog
) -> None:  # noqa: ANN001, E501
    client = _admin(tenant_admin)
    form = {"tenant": tenant.pk, "kind": "openai", "name": "From admin", "organization_id": "", "enabled": "on",
            "replace_key": OPENAI_KEY}  # fmt: skip
    refused = client.post(f"{CONNECTION}add/", {**form, "tenant": other_tenant.pk})
    assert refused.status_code == 200 and not ProviderConnection.objects.filter(tenant=other_tenant).exists()
    assert b"Globex" not in client.get(f"{CONNECTION}add/").content  # not offered either
    done = client.post(f"{CONNECTION}add/", form)
    assert done.status_code == 302
    created = ProviderConnection.objects.get(tenant=tenant, name="From admin")
    assert created.api_key == OPENAI_KEY and created.created_by == tenant_admin
    assert AuditLog.objects.filter(action="provider.created", details__connection=created.pk).exists()


def test_deleting_goes_through_the_service(tenant_admin, ours) -> None:  # noqa: ANN001
    done = _admin(tenant_admin).post(f"{CONNECTION}{ours.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302 and not ProviderConnection.objects.filter(pk=ours.pk).exists()
    assert AuditLog.objects.filter(action="provider.deleted").count() == 1
