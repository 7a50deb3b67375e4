"""The mapping page: tenant admins set application and team per project/workspace; saving relabels the rows
already loaded from that connection (and the rollup with them), audited; others 403, outsiders 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from connections.models import AuditLog
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check
from providers.sync import provider_sync

from .conftest import mock_openai


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def _url(connection, slug: str = "acme") -> str:  # noqa: ANN001
    return reverse("providers:mapping", kwargs={"tenant_slug": slug, "pk": connection.pk})


@pytest.fixture
def synced(openai_connection, rsps):  # noqa: ANN001, ANN201
    mock_openai(rsps)
    provider_sync(
        connection=openai_connection, since=date(2026, 11, 1), until=date(2026, 11, 2), today=date(2026, 11, 26)
    )
    return openai_connection


def test_the_page_lists_the_projects_seen_with_their_names(synced, tenant_admin) -> None:  # noqa: ANN001
    page = _client(tenant_admin).get(_url(synced))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Search backend" in body and "proj_alpha" in body
    assert "Support bot (2025)" in body and "archived" in body
    assert 'name="application:proj_alpha"' in body and 'name="team:proj_beta"' in body


def test_saving_relabels_the_loaded_rows_and_keeps_the_rollup_right(synced, tenant_admin) -> None:  # noqa: ANN001
    rows = SpendEvent.objects.filter(source="openai", tags__project_id="proj_alpha")
    count = rows.count()
    # By hand from the fixtures: proj_alpha has the 2 completions rows of page 1, 1 embeddings row, 4 cost lines.
    assert count == 2 + 1 + 4
    requests_alpha = rows.aggregate(n=Sum("requests"))["n"]
    done = _client(tenant_admin).post(_url(synced), {"application:proj_alpha": "search", "team:proj_alpha": "core",
                                                     "application:proj_beta": "", "team:proj_beta": "cx"})  # fmt: skip
    assert done.status_code == 302
    assert {(r.application, r.team) for r in rows} == {("search", "core")}
    beta = SpendEvent.objects.filter(source="openai", tags__project_id="proj_beta")
    assert {(r.application, r.team) for r in beta} == {("Support bot (2025)", "cx")}
    synced.refresh_from_db()
    assert synced.mapping == {"proj_alpha": {"application": "search", "team": "core"}, "proj_beta": {"team": "cx"}}
    assert rollup_check(tenant_id=synced.tenant_id) == []
    cells = SpendDaily.objects.filter(tenant_id=synced.tenant_id, source="openai", application="search", team="core")
    assert cells.aggregate(n=Sum("requests"))["n"] == requests_alpha
    entry = AuditLog.objects.get(action="provider.mapping_changed")
    assert entry.details["rows_relabelled"] == count + beta.count() and entry.details["periods"] == ["2026-11"]
    # Cleared again: back to the project's name; the next sync keeps what the page set.
    _client(tenant_admin).post(_url(synced), {"application:proj_alpha": "", "team:proj_alpha": ""})
    assert {(r.application, r.team) for r in rows.all()} == {("Search backend", "")}  # a fresh query
    assert rollup_check(tenant_id=synced.tenant_id) == []


def test_a_crafted_field_for_an_unseen_project_is_ignored(synced, tenant_admin) -> None:  # noqa: ANN001
    _client(tenant_admin).post(_url(synced), {"application:proj_other_tenant": "x"})
    synced.refresh_from_db()
    assert "proj_other_tenant" not in synced.mapping


def test_members_who_are_not_admins_cannot_change_the_mapping(synced, viewer) -> None:  # noqa: ANN001
    client = _client(viewer)
    assert client.get(_url(synced)).status_code == 403
    assert client.post(_url(synced), {"application:proj_alpha": "x"}).status_code == 403
    assert not SpendEvent.objects.filter(application="x").exists()


def test_outsiders_get_404(synced, outsider) -> None:  # noqa: ANN001
    client = _client(outsider)
    for slug in ("acme", "globex"):
        assert client.get(_url(synced, slug)).status_code == 404
        assert client.post(_url(synced, slug), {"application:proj_alpha": "x"}).status_code == 404
    assert not SpendEvent.objects.filter(application="x").exists()
