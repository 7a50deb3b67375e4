"""Cross-source totals: spend on several platforms (Bedrock, OpenAI, Anthropic) in one ledger, grouped and
filtered by platform in the explorer, its API and the overview; expected sums are the ledger rows added here."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import Tenant
from finops.dashboards.selectors import overview
from finops.explorer.benchmark import generate_rows, load_rows
from finops.explorer.query import describe_filters, parse_query
from finops.explorer.selectors import explore
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_rebuild
from tests.api.conftest import bearer, token_for

END = date(2026, 11, 20)
START = date(2026, 11, 11)
ZERO = Decimal(0)
# Every third row bought from OpenAI, every third from Anthropic, the rest on Bedrock as generated.
OTHER = {
    1: {"source": "openai", "model_id": "openai/gpt-4o", "model_family": "gpt", "model_tier": "balanced",
        "model_provider": "OpenAI"},
    2: {"source": "anthropic", "model_id": "anthropic/claude-sonnet-4-5", "model_family": "claude-sonnet",
        "model_tier": "balanced", "model_provider": "Anthropic"},
}  # fmt: skip


def _load(tenant: Tenant, *, platforms: bool = True) -> Tenant:
    rows = []
    for n, row in enumerate(generate_rows(tenant_id=tenant.pk, events=900, days=10, end=END)):
        if platforms and n % 3:
            row.update(OTHER[n % 3])
        rows.append(row)
    load_rows(iter(rows), progress=lambda _: None)
    rollup_rebuild(tenant_id=tenant.pk)
    return tenant


@pytest.fixture
def mixed(tenant: Tenant) -> Tenant:
    return _load(tenant)


def _by_source(tenant: Tenant, basis: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for source, cost in SpendEvent.objects.filter(tenant=tenant, cost_basis=basis).values_list("source", "cost_usd"):
        sums[source] += cost or ZERO
    return dict(sums)


def _params(**extra: object) -> dict:
    return {"start": START.isoformat(), "end": END.isoformat(), "page_size": 1000, **extra}


@pytest.mark.parametrize("basis", ["billed", "estimated"])
def test_grouped_by_platform_each_row_is_that_platforms_ledger_rows(mixed: Tenant, basis: str) -> None:
    result = explore(mixed, parse_query(_params(g="source", basis=basis), latest=None))

    expected = _by_source(mixed, basis)
    assert set(expected) == {"bedrock", "openai", "anthropic"}
    assert {r.keys["source"]: r.cost for r in result.rows} == expected
    assert result.total.cost == sum(expected.values(), ZERO)
    assert {r.keys["source"]: r.labels["source"] for r in result.rows} == {
        "bedrock": "Amazon Bedrock",
        "openai": "OpenAI",
        "anthropic": "Anthropic",
    }


def test_a_platform_filter_keeps_only_that_platform(mixed: Tenant) -> None:
    result = explore(mixed, parse_query(_params(g="model", basis="estimated", **{"f.source": "openai"}), latest=None))

    assert [r.keys["model"] for r in result.rows] == ["openai/gpt-4o"]
    assert result.rows[0].labels["model"] == "gpt-4o (OpenAI)"  # the same model elsewhere is another row
    assert result.total.cost == _by_source(mixed, "estimated")["openai"]
    query = parse_query(_params(g="source", **{"f.source": ["openai", "anthropic"]}), latest=None)
    assert describe_filters(query.filters) == ["Platform is OpenAI, Anthropic"]
    both = explore(mixed, query)
    assert {r.keys["source"] for r in both.rows} == {"openai", "anthropic"}


def test_platform_by_model_family_compares_one_family_across_platforms(mixed: Tenant) -> None:
    result = explore(mixed, parse_query(_params(g=["family", "source"], basis="estimated"), latest=None))

    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    estimated = SpendEvent.objects.filter(tenant=mixed, cost_basis="estimated")
    for family, source, cost in estimated.values_list("model_family", "source", "cost_usd"):
        expected[(family, source)] += cost or ZERO
    assert {(r.keys["family"], r.keys["source"]): r.cost for r in result.rows} == dict(expected)
    assert {s for f, s in expected if f == "claude-sonnet"} >= {"anthropic"}


def test_the_api_groups_by_platform_and_refuses_outsiders(client: Client, mixed: Tenant, viewer, outsider) -> None:  # noqa: ANN001
    url = f"/api/v1/explore/acme/query?start={START}&end={END}&g=source&page_size=100"
    response = client.get(url, **bearer(token_for(viewer)))

    assert response.status_code == 200, response.content
    rows = response.json()["rows"]
    assert {r["keys"]["source"]: Decimal(r["cost"]) for r in rows} == _by_source(mixed, "billed")
    assert client.get(url, **bearer(token_for(outsider))).status_code == 404


def test_the_overview_shows_spend_by_platform_when_there_is_more_than_one(
    client: Client,
    mixed: Tenant,
    viewer,
    outsider,  # noqa: ANN001
) -> None:
    o = overview(tenant=mixed, start=START, end=END)

    billed, estimated = _by_source(mixed, "billed"), _by_source(mixed, "estimated")
    assert o.multi_platform
    assert {r["key"]: (r["billed_cost_usd"], r["estimated_cost_usd"]) for r in o.platforms} == {
        s: (billed[s], estimated[s]) for s in billed
    }
    assert {r["label"] for r in o.platforms} == {"Amazon Bedrock", "OpenAI", "Anthropic"}
    page = reverse("overview", kwargs={"tenant_slug": "acme"}) + f"?start={START}&end={END}"
    client.force_login(viewer)
    html = client.get(page).content.decode()
    assert 'data-testid="platforms"' in html and "Spend by platform" in html
    client.force_login(outsider)
    assert client.get(page).status_code == 404


def test_with_one_platform_the_overview_shows_nothing_new(client: Client, tenant: Tenant, viewer) -> None:  # noqa: ANN001
    _load(tenant, platforms=False)

    o = overview(tenant=tenant, start=START, end=END)

    assert [r["key"] for r in o.platforms] == ["bedrock"] and not o.multi_platform
    client.force_login(viewer)
    html = client.get(reverse("overview", kwargs={"tenant_slug": "acme"}) + f"?start={START}&end={END}").content
    assert b'data-testid="platforms"' not in html
