from __future__ import annotations

from django.test import Client

from tests.factories import billed_line


def _billed(tenant, key: str, team: str, cost: str) -> None:  # noqa: ANN001
    billed_line(tenant, cost=cost, team=team)


def test_the_openapi_docs_page_is_served(client: Client) -> None:
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Bedrock FinOps API"


def test_the_report_needs_a_login(client: Client, tenant) -> None:  # noqa: ANN001
    assert client.get("/api/v1/ledger/acme/report").status_code == 401


def test_the_report_groups_the_callers_tenant(client: Client, viewer, tenant, other_tenant) -> None:  # noqa: ANN001
    _billed(tenant, "a", "search", "1.25")
    _billed(tenant, "b", "search", "0.75")
    _billed(other_tenant, "c", "search", "99.00")
    client.force_login(viewer)
    rows = client.get("/api/v1/ledger/acme/report?group_by=team").json()
    assert rows == [
        {
            "group": {"team": "search"},
            "billed_cost_usd": "2.0000000000",
            "estimated_cost_usd": "0",
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "requests": 0,
            "unpriced_requests": 0,
            "token_source": "",
            "allocated_cost_usd": "0",
        }
    ]


def test_it_rejects_other_tenant(client: Client, outsider, tenant) -> None:  # noqa: ANN001
    client.force_login(outsider)
    assert client.get("/api/v1/ledger/acme/report").status_code == 404


def test_an_unknown_group_field_is_a_clear_400(client: Client, viewer) -> None:  # noqa: ANN001
    client.force_login(viewer)
    response = client.get("/api/v1/ledger/acme/report?group_by=colour")
    assert response.status_code == 400
    assert "colour" in response.json()["detail"]
