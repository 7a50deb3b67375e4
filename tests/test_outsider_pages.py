"""Every page that belongs to a tenant (or to an object of a tenant, or to another user) answers 404 to an
outsider, for GET and POST, with the objects really there. The routes are read from the URL configuration,
so a new page cannot skip this test: a route this file does not know how to fill fails it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from budgets.models import Budget
from connections.models import ApiToken, AwsConnection, Tenant
from connections.services import api_token_create
from finops.explorer.models import SavedView
from providers.services import provider_connection_create
from recommendations.models import Recommendation
from tests.factories import billed_line

# Routes that belong to the caller (not to a tenant) or are public: nothing to hide.
PUBLIC = {
    "",
    "favicon.ico",
    "support/connections/",  # staff only: 403/redirect, tested with the support pages
    "account/tokens/",  # the caller's own tokens
}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _page_routes() -> list[str]:
    return sorted(
        route
        for route in set(_routes(get_resolver().url_patterns))
        if not route.startswith(("admin/", "api/", "accounts/", "static/")) and route not in PUBLIC
    )


@pytest.fixture
def objects(tenant: Tenant, viewer: Any) -> dict[str, int]:
    billed_line(tenant, cost="12.25", team="search")
    budget = Budget.objects.create(tenant=tenant, name="Search", amount_usd=Decimal("100"), period="monthly")
    card = Recommendation.objects.create(
        tenant=tenant, kind="model_routing", fingerprint="fp", title="Route it", monthly_savings_usd=Decimal(5)
    )
    view = SavedView.objects.create(user=viewer, tenant=tenant, name="Mine", querystring="g=team")
    connection = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    token, _ = api_token_create(user=viewer, name="script")
    provider = provider_connection_create(
        tenant=tenant, kind="openai", name="OpenAI", api_key="sk-admin-outsider-test-0123456789"
    )
    return {"budgets": budget.pk, "recommendations": card.pk, "saved": view.pk, "connections": connection.pk,
            "tokens": token.pk, "providers": provider.pk}  # fmt: skip


def _fill(route: str, objects: dict[str, int]) -> str:
    """The route with the victim tenant's slug and the pk of its real object of that kind."""
    url = "/" + route.replace("<slug:tenant_slug>", "acme").replace("<str:dimension>", "team")
    if "<int:pk>" in url:
        owner = next((kind for kind in objects if f"/{kind}/<int:pk>" in url), None)
        assert owner is not None, f"{route}: say which object its pk names in tests/test_outsider_pages.py"
        url = url.replace("<int:pk>", str(objects[owner]))
    assert not re.search(r"<[^>]+>", url), f"{route}: fill its parameter in tests/test_outsider_pages.py"
    return url


def test_every_tenant_page_is_listed() -> None:
    routes = _page_routes()
    assert "t/<slug:tenant_slug>/explore/" in routes and "connections/<int:pk>/" in routes
    assert len(routes) >= 30


def test_an_outsider_gets_404_on_every_page(client: Client, outsider: Any, objects: dict[str, int]) -> None:
    """GET and POST each: 404, or 405 when the page does not take that method (answered before anything is
    looked up, so it tells nothing); every page is 404 for the method it does take."""
    client.force_login(outsider)
    answers: dict[str, dict[str, int]] = {}
    for route in _page_routes():
        url = _fill(route, objects) + ("?value=search" if "entity" in route else "")
        answers[url] = {method: getattr(client, method)(url).status_code for method in ("get", "post")}
    assert {url: got for url, got in answers.items() if set(got.values()) - {404, 405}} == {}
    assert [url for url, got in answers.items() if 404 not in got.values()] == []
    # nothing was changed by the outsider's posts
    assert Budget.objects.filter(pk=objects["budgets"]).exists()
    assert Recommendation.objects.get(pk=objects["recommendations"]).status == "open"
    assert SavedView.objects.filter(pk=objects["saved"]).exists()
    assert ApiToken.objects.get(pk=objects["tokens"]).revoked_at is None
    assert AwsConnection.objects.filter(pk=objects["connections"]).exists()
