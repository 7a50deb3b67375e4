"""Every endpoint of the ledger, explorer, recommendation and connection routers answers 404 to a caller who
may not see the tenant: with a token, with a session, and with a token limited to another tenant. The list
below must name every such operation of the OpenAPI schema, so a new endpoint cannot skip this test."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from connections.models import AwsConnection, Tenant
from finops.api import api
from recommendations.models import Recommendation
from tests.api.conftest import bearer, token_for

MINE = ("/api/v1/ledger/", "/api/v1/explore/", "/api/v1/recommendations/", "/api/v1/connections/")
OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/v1/ledger/{tenant_slug}/report", None),
    ("get", "/api/v1/ledger/{tenant_slug}/events", None),
    ("get", "/api/v1/ledger/{tenant_slug}/chargeback?period=2026-06", None),
    ("get", "/api/v1/explore/{tenant_slug}/query", None),
    ("get", "/api/v1/explore/{tenant_slug}/query.csv", None),
    ("get", "/api/v1/explore/{tenant_slug}/unit-economics", None),
    ("get", "/api/v1/recommendations/{tenant_slug}/", None),
    ("get", "/api/v1/recommendations/{tenant_slug}/{card_id}", None),
    ("post", "/api/v1/recommendations/{tenant_slug}/{card_id}/accept", None),
    ("post", "/api/v1/recommendations/{tenant_slug}/{card_id}/dismiss", {"reason": "not ours"}),
    ("get", "/api/v1/connections/{tenant_slug}/", None),
    ("get", "/api/v1/connections/{tenant_slug}/{connection_id}", None),
    ("get", "/api/v1/connections/{tenant_slug}/sync", None),
    ("get", "/api/v1/connections/{tenant_slug}/sync/runs", None),
    ("post", "/api/v1/connections/{tenant_slug}/{connection_id}/sync", None),
]


def test_the_list_names_every_operation_of_these_routers() -> None:
    schema = api.get_openapi_schema()
    found = {
        (method, path) for path, operations in schema["paths"].items() if path.startswith(MINE) for method in operations
    }
    assert found == {(method, path.split("?")[0]) for method, path, _ in OPERATIONS}


@pytest.fixture
def objects(tenant: Tenant) -> dict[str, Any]:
    card = Recommendation.objects.create(
        tenant=tenant, kind="model_routing", fingerprint="fp", title="Route it", monthly_savings_usd=Decimal(5)
    )
    connection = AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id="111122223333", role_arn="arn:aws:iam::111122223333:role/BedrockFinOps"
    )
    return {"tenant_slug": "acme", "card_id": card.pk, "connection_id": connection.pk}


def _call(client: Client, method: str, path: str, body: dict[str, Any] | None, objects, **headers: str) -> int:  # noqa: ANN001
    url = path.format(**objects)
    if method == "get":
        return client.get(url, **headers).status_code
    return client.post(url, body or {}, content_type="application/json", **headers).status_code


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_an_outsiders_token_gets_404(client: Client, outsider, objects, method, path, body) -> None:  # noqa: ANN001
    assert _call(client, method, path, body, objects, **bearer(token_for(outsider))) == 404


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_an_outsiders_session_gets_404(client: Client, outsider, objects, method, path, body) -> None:  # noqa: ANN001
    client.force_login(outsider)
    assert _call(client, method, path, body, objects) == 404


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_a_token_limited_to_another_tenant_gets_404(client: Client, tenant_admin, objects, method, path, body) -> None:  # noqa: ANN001
    elsewhere = Tenant.objects.create(slug="initech", name="Initech")
    tenant_admin.memberships.create(tenant=elsewhere, role="admin")
    token = token_for(tenant_admin, tenant=elsewhere)

    assert _call(client, method, path, body, objects, **bearer(token)) == 404
    # The same user's unlimited token gets through (this is what the 404 is about, not a broken URL).
    assert _call(client, method, path, body, objects, **bearer(token_for(tenant_admin))) in (200, 202)


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_no_credentials_get_401(client: Client, objects, method, path, body) -> None:  # noqa: ANN001
    assert _call(client, method, path, body, objects) == 401


def test_a_token_limited_to_another_tenant_reaches_no_router_at_all(client: Client, tenant_admin, objects) -> None:  # noqa: ANN001
    """Every operation of the whole API (other routers' too, e.g. budgets and exports) holds the limit."""
    elsewhere = Tenant.objects.create(slug="initech", name="Initech")
    tenant_admin.memberships.create(tenant=elsewhere, role="admin")
    token = token_for(tenant_admin, tenant=elsewhere)
    ids = {**objects, "budget_id": 1}
    answers = {}
    for path, operations in api.get_openapi_schema()["paths"].items():
        if "{tenant_slug}" not in path:
            continue
        url = path.format(**{k: ids.get(k, 1) for k in ("tenant_slug", "card_id", "connection_id", "budget_id")})
        for method in operations:
            response = getattr(client, method)(url, {}, content_type="application/json", **bearer(token))
            answers[f"{method} {path}"] = response.status_code

    assert answers and all(status in (400, 404) for status in answers.values()), answers  # 400: a missing parameter
    assert answers["get /api/v1/budgets/{tenant_slug}/"] == 404
