"""/api/v1/budgets/{tenant}/: members read (paginated), admins write, outsiders get 404, bad input a clear 400."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from budgets.models import Budget
from budgets.services import budget_create
from connections.models import AuditLog, Tenant
from tests.budgets.conftest import bill, raw_billed, rebuild

BASE = "/api/v1/budgets/acme/"
HOOK = "https://hooks.example.com/services/T/B/secret-token"


def post(client: Client, url: str, body: dict, method: str = "post"):  # noqa: ANN201
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def budget(tenant: Tenant) -> Budget:
    return budget_create(
        tenant=tenant,
        actor=None,
        name="Search",
        amount_usd=Decimal("2000"),
        basis="billed",
        scope=[{"dimension": "team", "values": ["search"]}],
        webhooks=[HOOK],
    )


def test_the_api_needs_a_login(client: Client, budget: Budget) -> None:
    assert client.get(BASE).status_code == 401


def test_it_rejects_other_tenant_on_every_endpoint(client: Client, outsider, budget: Budget) -> None:  # noqa: ANN001
    client.force_login(outsider)
    one = f"{BASE}{budget.pk}"
    assert client.get(BASE).status_code == 404
    assert client.get(one).status_code == 404
    assert post(client, BASE, {"name": "x", "amount_usd": "1"}).status_code == 404
    assert post(client, one, {"name": "x", "amount_usd": "1"}, "put").status_code == 404
    assert post(client, one, {"name": "x"}, "patch").status_code == 404
    assert client.delete(one).status_code == 404
    # Their own tenant's URL with our budget's id: still 404.
    assert client.get(f"/api/v1/budgets/globex/{budget.pk}").status_code == 404
    assert client.delete(f"/api/v1/budgets/globex/{budget.pk}").status_code == 404
    assert Budget.objects.get(pk=budget.pk).name == "Search"


def test_members_read_a_paginated_list(client: Client, viewer, tenant: Tenant, budget: Budget) -> None:  # noqa: ANN001
    for i in range(54):
        budget_create(tenant=tenant, actor=None, name=f"B{i:02d}", amount_usd=Decimal("1"))
    client.force_login(viewer)
    first = client.get(BASE).json()
    assert first["count"] == 55 and len(first["items"]) == 50
    assert first["items"][0]["name"] == "B00"
    second = client.get(f"{BASE}?page=2").json()
    assert [b["name"] for b in second["items"]][-1] == "Search"
    search = second["items"][-1]
    assert search["scope_words"] == "Team is search"
    assert search["webhooks"] == ["https://hooks.example.com/…oken"]  # masked for a viewer


def test_get_says_where_the_budget_stands(client: Client, analyst, tenant: Tenant, budget: Budget) -> None:  # noqa: ANN001
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "100.00", team="search")
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "7.00", team="ads")
    rebuild(tenant)
    client.force_login(analyst)
    body = client.get(f"{BASE}{budget.pk}?as_of=2026-11-12").json()
    status = body["status"]
    assert Decimal(status["actual_usd"]) == raw_billed(tenant, date(2026, 11, 1), date(2026, 11, 12), team="search")
    assert (
        Decimal(status["forecast_low_usd"]) <= Decimal(status["forecast_usd"]) <= Decimal(status["forecast_high_usd"])
    )
    assert status["thresholds_crossed"] == [{"kind": "forecast", "pct": 100}]
    assert status["status"] == "at_risk" and status["period_start"] == "2026-11-01"
    assert status["backtest_periods"] == 2 and status["backtest_wape_pct"] is not None


def test_admins_create_change_and_delete(client: Client, tenant_admin, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    response = post(
        client,
        BASE,
        {
            "name": "Opus",
            "amount_usd": "3000",
            "basis": "billed",
            "scope": [{"dimension": "model", "values": ["anthropic.claude-opus-4-6-v1"]}],
            "webhooks": [HOOK],
        },
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["thresholds"] == [
        {"kind": "actual", "pct": 80},
        {"kind": "actual", "pct": 100},
        {"kind": "forecast", "pct": 100},
    ]
    assert created["webhooks"] == [HOOK]  # an admin sees the whole URL
    url = f"{BASE}{created['id']}"
    patched = post(client, url, {"amount_usd": "3500", "thresholds": [{"kind": "actual", "pct": 90}]}, "patch").json()
    assert patched["amount_usd"] == "3500.00" and patched["name"] == "Opus" and patched["basis"] == "billed"
    assert patched["thresholds"] == [{"kind": "actual", "pct": 90}]
    replaced = post(client, url, {"name": "Opus monthly", "amount_usd": "10"}, "put").json()
    assert replaced["basis"] == "allocated" and replaced["scope"] == [] and len(replaced["thresholds"]) == 3
    assert client.delete(url).status_code == 204
    assert not Budget.objects.filter(tenant=tenant).exists()
    actions = list(
        AuditLog.objects.filter(tenant=tenant, action__startswith="budget.").values_list("action", flat=True)
    )
    assert sorted(actions) == ["budget.changed", "budget.changed", "budget.created", "budget.deleted"]


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_writes_are_403_for_analysts_and_viewers(client: Client, request, budget: Budget, role: str) -> None:  # noqa: ANN001
    client.force_login(request.getfixturevalue(role))
    one = f"{BASE}{budget.pk}"
    assert post(client, BASE, {"name": "x", "amount_usd": "1"}).status_code == 403
    assert post(client, one, {"name": "x", "amount_usd": "1"}, "put").status_code == 403
    assert post(client, one, {"name": "x"}, "patch").status_code == 403
    assert client.delete(one).status_code == 403
    assert Budget.objects.get(pk=budget.pk).name == "Search"


def test_staff_write_any_tenant(client: Client, staff, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(staff)
    assert post(client, BASE, {"name": "x", "amount_usd": "1"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "amount_usd": "0"}, "amount_usd: The amount must be more than $0."),
        ({"name": "x", "amount_usd": "1", "scope": [{"dimension": "colour", "values": ["red"]}]}, "unknown dimension"),
        ({"name": "x", "amount_usd": "1", "scope": [{"dimension": "date", "values": ["2026-11-01"]}]}, "time bucket"),
        ({"name": "x", "amount_usd": "1", "scope": [{"dimension": "team", "values": []}]}, "one or more values"),
        ({"name": "x", "amount_usd": "1", "period": "weekly"}, "period"),
        ({"name": "x", "amount_usd": "1", "basis": "vibes"}, "basis"),
        ({"name": "x", "amount_usd": "1", "thresholds": [{"kind": "actual", "pct": 0}]}, "from 1 to 1000"),
        ({"name": "x", "amount_usd": "1", "thresholds": [{"kind": "budget", "pct": 80}]}, "use actual or forecast"),
        ({"name": "x", "amount_usd": "1", "emails": ["nope"]}, "is not an email address"),
        ({"name": "x", "amount_usd": "1", "webhooks": ["http://hooks.example.com/x"]}, "https"),
        ({"name": "Search", "amount_usd": "1"}, "already has a budget with this name"),
        ({"name": "x", "amount_usd": "lots"}, "amount_usd"),
        ({"amount_usd": "1"}, "name"),
    ],
)
def test_bad_input_is_a_clear_400(client: Client, tenant_admin, budget: Budget, body: dict, message: str) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    response = post(client, BASE, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Budget.objects.count() == 1


def test_an_unknown_budget_is_404(client: Client, tenant_admin, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    assert client.get(f"{BASE}999999").status_code == 404
    assert post(client, f"{BASE}999999", {"name": "x"}, "patch").status_code == 404


def test_odd_input_is_a_400_not_a_server_error(client: Client, tenant_admin, budget: Budget) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    response = client.get(f"{BASE}{budget.pk}?as_of=0001-01-01")
    assert response.status_code == 400 and "out of range" in response.json()["detail"]
    assert post(client, BASE, {"name": "a\x00b", "amount_usd": "1"}).status_code == 400
    bad_scope = {"name": "x", "amount_usd": "1", "scope": [{"dimension": "team", "values": ["a\x00"]}]}
    assert "NUL" in post(client, BASE, bad_scope).json()["detail"]
    assert post(client, BASE, {"name": "x", "amount_usd": "NaN"}).status_code == 400
    assert post(client, BASE, {"name": "x", "amount_usd": "1e20"}).status_code == 400
    assert Budget.objects.count() == 1
