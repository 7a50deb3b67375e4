"""Saved explorer views: saved per user and tenant (audited), listed on the page, opened, deleted; nobody else's."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connections.models import AuditLog, Membership, Tenant
from finops.explorer.models import SavedView
from tests.explorer.pages import params_of
from tests.factories import billed_line

SAVE = "/t/acme/explore/saved/"
VIEW = "start=2026-06-01&end=2026-06-30&g=team&x.region=us-west-2"


@pytest.fixture
def spend(tenant: Tenant) -> Tenant:
    billed_line(tenant, cost="12.50", team="search", day=date(2026, 6, 3))
    return tenant


@pytest.fixture
def colleague(tenant: Tenant):  # noqa: ANN201
    user = get_user_model().objects.create_user("cleo", password="pw-cleo-123")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ANALYST)
    return user


def _save(client: Client, name: str, querystring: str = VIEW):  # noqa: ANN202
    return client.post(SAVE, {"name": name, "querystring": querystring})


def test_a_viewer_saves_the_view_under_a_name_and_it_is_audited(client, spend, viewer):
    client.force_login(viewer)

    response = _save(client, "  Search   by team ")

    view = SavedView.objects.get()
    assert (view.user, view.tenant, view.name) == (viewer, spend, "Search by team")
    assert params_of("?" + view.querystring) == params_of("?" + VIEW)
    assert response.status_code == 302 and params_of(response["Location"]) == params_of("?" + VIEW)
    log = AuditLog.objects.get(action="saved_view.created")
    assert (log.tenant, log.actor, log.target) == (spend, viewer, "Search by team")


def test_the_page_lists_the_users_views_for_the_tenant_and_marks_the_current_one(client, spend, viewer, colleague):
    SavedView.objects.create(user=viewer, tenant=spend, name="Mine", querystring=VIEW)
    SavedView.objects.create(user=colleague, tenant=spend, name="Cleo's", querystring=VIEW)
    client.force_login(viewer)

    response = client.get(f"/t/acme/explore/?{VIEW}")

    content = response.content.decode()
    mine = SavedView.objects.get(name="Mine")
    assert f'href="/t/acme/explore/saved/{mine.pk}/" aria-current="true">Mine</a>' in content
    assert "Cleo&#x27;s" not in content and "Cleo's" not in content


def test_saving_a_name_again_replaces_that_view(client, spend, viewer):
    client.force_login(viewer)
    _save(client, "Weekly")

    _save(client, "Weekly", "preset=7d&g=model")

    view = SavedView.objects.get()
    assert view.querystring == "preset=7d&g=model"
    assert AuditLog.objects.filter(action="saved_view.updated", target="Weekly").count() == 1


def test_a_blank_name_or_a_bad_view_is_not_saved_and_says_why(client, spend, viewer):
    client.force_login(viewer)

    blank = _save(client, "   ")
    assert blank.status_code == 302
    assert [str(m) for m in client.get(blank["Location"]).context["messages"]] == ["Not saved: Give the view a name."]

    bad = _save(client, "Colours", "g=colour")
    shown = [str(m) for m in client.get(bad["Location"]).context["messages"]]
    assert len(shown) == 1 and shown[0].startswith("Not saved: Unknown group-by colour")
    assert not SavedView.objects.exists()


def test_saving_needs_a_csrf_token(spend, viewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)

    assert _save(client, "Sneaky").status_code == 403
    assert not SavedView.objects.exists()


def test_opening_a_saved_view_goes_to_its_link(client, spend, viewer):
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Mine", querystring=VIEW)
    client.force_login(viewer)

    response = client.get(f"/t/acme/explore/saved/{view.pk}/")

    assert response.status_code == 302 and response["Location"] == f"/t/acme/explore/?{VIEW}"


def test_a_saved_view_that_no_longer_parses_opens_with_the_error_shown(client, spend, viewer):
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Old", querystring="g=colour&preset=30d")
    client.force_login(viewer)

    response = client.get(f"/t/acme/explore/saved/{view.pk}/", follow=True)

    assert response.status_code == 200
    assert "Unknown group-by colour" in response.content.decode()


def test_another_users_view_is_404_to_open_and_to_delete(client, spend, viewer, colleague):
    view = SavedView.objects.create(user=colleague, tenant=spend, name="Cleo's", querystring=VIEW)
    client.force_login(viewer)

    assert client.get(f"/t/acme/explore/saved/{view.pk}/").status_code == 404
    assert client.post(f"/t/acme/explore/saved/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_a_view_is_only_reachable_under_its_own_tenant(client, spend, viewer, other_tenant):
    Membership.objects.create(user=viewer, tenant=other_tenant, role=Membership.Role.VIEWER)
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Acme view", querystring=VIEW)
    client.force_login(viewer)

    assert client.get(f"/t/globex/explore/saved/{view.pk}/").status_code == 404
    assert "Acme view" not in client.get("/t/globex/explore/").content.decode()


def test_an_outsider_gets_404_on_every_saved_view_url(client, spend, viewer, outsider):
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Mine", querystring=VIEW)
    client.force_login(outsider)

    assert _save(client, "Theirs").status_code == 404
    assert client.get(f"/t/acme/explore/saved/{view.pk}/").status_code == 404
    assert client.post(f"/t/acme/explore/saved/{view.pk}/delete/").status_code == 404
    assert not SavedView.objects.filter(name="Theirs").exists() and SavedView.objects.filter(pk=view.pk).exists()


def test_anonymous_visitors_are_sent_to_log_in(client, spend, viewer):
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Mine", querystring=VIEW)

    for response in (
        _save(client, "Anon"),
        client.get(f"/t/acme/explore/saved/{view.pk}/"),
        client.post(f"/t/acme/explore/saved/{view.pk}/delete/"),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert SavedView.objects.count() == 1


def test_deleting_a_view_is_a_post_and_is_audited(client, spend, viewer):
    view = SavedView.objects.create(user=viewer, tenant=spend, name="Mine", querystring=VIEW)
    client.force_login(viewer)

    assert client.get(f"/t/acme/explore/saved/{view.pk}/delete/").status_code == 405
    response = client.post(f"/t/acme/explore/saved/{view.pk}/delete/", {"next_query": "preset=7d&g=team"})

    assert response["Location"] == "/t/acme/explore/?" + urlencode({"preset": "7d", "g": "team"})
    assert not SavedView.objects.exists()
    log = AuditLog.objects.get(action="saved_view.deleted")
    assert (log.actor, log.target, log.details["querystring"]) == (viewer, "Mine", VIEW)


def test_customer_admins_see_only_their_tenants_views_in_the_admin(client, spend, viewer, tenant_admin, other_tenant):
    SavedView.objects.create(user=viewer, tenant=spend, name="Acme view", querystring=VIEW)
    stranger = get_user_model().objects.create_user("gus", password="pw-gus-12345")
    SavedView.objects.create(user=stranger, tenant=other_tenant, name="Globex view", querystring=VIEW)
    client.force_login(tenant_admin)

    content = client.get("/admin/explorer/savedview/").content.decode()

    assert "Acme view" in content and "Globex view" not in content
