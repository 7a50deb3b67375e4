"""Provider pages: admins add, validate, sync and delete; members read; outsiders get 404; the key never
appears on a page (only its last four characters)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import AuditLog
from providers.models import ProviderConnection

from .conftest import OPENAI, OPENAI_KEY, load


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _url(name: str, connection: ProviderConnection | None = None, slug: str = "acme") -> str:
    kwargs = {"tenant_slug": slug} | ({"pk": connection.pk} if connection else {})
    return reverse(f"providers:{name}", kwargs=kwargs)


def test_the_list_shows_the_masked_key_only(openai_connection, viewer) -> None:  # noqa: ANN001
    page = _client(viewer).get(_url("list"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "OpenAI prod" in body and "…WXYZ" in body
    assert OPENAI_KEY not in body and "Add a provider" not in body  # viewers read only


def test_an_admin_adds_a_connection_and_the_key_is_not_rendered_back(tenant_admin, tenant) -> None:  # noqa: ANN001
    client = _client(tenant_admin)
    assert client.get(_url("new")).status_code == 200
    bad = client.post(_url("new"), {"kind": "openai", "name": "x", "api_key": "sk-admin-short"})
    assert bad.status_code == 400 and "sk-admin-short" not in bad.content.decode()
    assert "admin-keys" in bad.content.decode()
    done = client.post(_url("new"), {"kind": "openai", "name": "OpenAI prod", "api_key": OPENAI_KEY})
    connection = ProviderConnection.objects.get(tenant=tenant, name="OpenAI prod")
    assert done.status_code == 302 and done["Location"] == _url("detail", connection)
    detail = client.get(done["Location"]).content.decode()
    assert "…WXYZ" in detail and OPENAI_KEY not in detail


def test_the_detail_page_validates_and_shows_the_remedy(openai_connection, tenant_admin, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{OPENAI}/usage/completions", status=403, json=load("openai/error_403.json"))
    page = _client(tenant_admin).post(_url("validate", openai_connection), HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="validation"' in body and "<html" not in body  # the fragment only
    assert "project or standard API key" in body


def test_sync_now_queues_a_sync(
    openai_connection, tenant_admin, django_capture_on_commit_callbacks, monkeypatch
) -> None:  # noqa: ANN001, E501
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        page = _client(tenant_admin).post(_url("sync", openai_connection))
    assert page.status_code == 302
    assert queued == [("providers.tasks.sync_provider_task", openai_connection.pk, "manual")]


def test_an_admin_deletes_a_connection(openai_connection, tenant_admin) -> None:  # noqa: ANN001
    client = _client(tenant_admin)
    assert client.get(_url("delete", openai_connection)).status_code == 200
    assert client.post(_url("delete", openai_connection)).status_code == 302
    assert not ProviderConnection.objects.filter(pk=openai_connection.pk).exists()
    assert AuditLog.objects.filter(action="provider.deleted").count() == 1


@pytest.mark.parametrize("name", ["new", "validate", "sync", "delete"])
def test_members_who_are_not_admins_cannot_change_connections(openai_connection, viewer, name: str) -> None:  # noqa: ANN001
    connection = None if name == "new" else openai_connection
    assert _client(viewer).post(_url(name, connection), {}).status_code == 403
    assert ProviderConnection.objects.filter(pk=openai_connection.pk).exists()


@pytest.mark.parametrize("name", ["detail", "validate", "sync", "delete"])
def test_outsiders_get_404(openai_connection, outsider, name: str) -> None:  # noqa: ANN001
    client = _client(outsider)
    method = client.get if name == "detail" else client.post
    assert method(_url(name, openai_connection)).status_code == 404
    # Their own tenant's URL with our connection's id: still 404.
    assert method(_url(name, openai_connection, slug="globex")).status_code == 404
    assert client.get(_url("list")).status_code == 404
