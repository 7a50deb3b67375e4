"""Entity pages (a principal, user, application, agent or model): numbers from the raw rows, top models or
callers, open recommendations naming it, the budgets slot; reached from the explorer; tenant isolation."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from connections.models import Tenant
from recommendations.models import Recommendation
from recommendations.selectors import recommendations_naming
from tests.explorer.pages import RANGE, ZERO, cost, dollars, events, load_fixtures, params_of, table_rows
from tests.factories import billed_line

ALICE = "arn:aws:iam::123456789012:user/alice"
SONNET = "anthropic.claude-sonnet-4-6"


def url(dimension: str, value: str, **params: object) -> str:
    return f"/t/acme/explore/entity/{dimension}/?{urlencode({'value': value, **params})}"


@pytest.fixture
def ledger(tenant: Tenant) -> Tenant:
    return load_fixtures(tenant)


@pytest.fixture
def viewer_client(client: Client, viewer) -> Client:  # noqa: ANN001
    client.force_login(viewer)
    return client


def _testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}">([^<]*)<', html)
    assert match, testid
    return match.group(1).strip()


def _card(tenant: Tenant, scope: dict, title: str, status: str = "open") -> Recommendation:
    return Recommendation.objects.create(
        tenant=tenant, kind="model_routing", fingerprint=title, title=title, scope=scope, status=status
    )


def test_a_principals_page_sums_its_rows_with_billed_and_estimated_apart(viewer_client, ledger):
    mine = [e for e in events(ledger) if e["iam_principal"] == ALICE]
    assert mine

    response = viewer_client.get(url("principal", ALICE, **RANGE))

    html = response.content.decode()
    assert response.status_code == 200
    assert _testid(html, "entity-billed") == dollars(sum((cost(e, "billed") for e in mine), ZERO))
    assert _testid(html, "entity-estimated") == dollars(sum((cost(e, "estimated") for e in mine), ZERO))
    assert _testid(html, "entity-requests") == f"{sum(e['requests'] for e in mine):,}"
    assert "<h1>IAM principal <span" in html and ALICE in html  # the short name in the title, the ARN below it


def test_a_principals_top_models_come_from_its_own_rows(viewer_client, ledger):
    want: dict[str, Decimal] = {}
    for e in events(ledger):
        if e["iam_principal"] == ALICE:
            model = e["model_id"] or e["model_ref"]
            want[model] = want.get(model, ZERO) + cost(e, "billed")

    rows, links = table_rows(viewer_client.get(url("principal", ALICE, **RANGE)).content.decode(), "top-model-table")

    assert sorted(r[1] for r in rows) == sorted(dollars(v) for v in want.values())
    assert {params_of(h[0])["value"][0] for h in links} == set(want)
    assert all(h[0].startswith("/t/acme/explore/entity/model/?") for h in links)


def test_a_models_page_shows_its_top_callers(viewer_client, ledger):
    principals: dict[str, Decimal] = {}
    for e in events(ledger):
        if (e["model_id"] or e["model_ref"]) == SONNET:
            principals[e["iam_principal"]] = principals.get(e["iam_principal"], ZERO) + cost(e, "billed")

    html = viewer_client.get(url("model", SONNET, **RANGE)).content.decode()

    rows, links = table_rows(html, "top-principal-table")
    assert {params_of(h[0])["value"][0] for h in links} == set(principals)
    assert sorted(r[1] for r in rows) == sorted(dollars(v) for v in principals.values())
    assert 'data-testid="top-application-table"' in html


def test_unit_economics_of_the_entity(viewer_client, ledger):
    mine = [e for e in events(ledger) if e["iam_principal"] == ALICE]
    billed = sum((cost(e, "billed") for e in mine), ZERO)
    calls = sum(e["requests"] for e in mine)

    html = viewer_client.get(url("principal", ALICE, **RANGE)).content.decode()

    section = html[html.index('data-testid="unit-economics"') :]
    per_request = billed / calls
    per_request = per_request.quantize(Decimal("0.01") if per_request >= 1 else Decimal("0.0001"))
    assert f"<dt>Cost per request</dt><dd>${per_request}</dd>" in section


def test_its_open_recommendations_are_listed_and_no_others(viewer_client, ledger, other_tenant):
    _card(ledger, {"iam_principal": ALICE, "model_id": SONNET}, "Alice: route to Haiku")
    _card(ledger, {"iam_principal": ALICE}, "Alice: dismissed", status="dismissed")
    _card(ledger, {"iam_principal": "arn:aws:iam::123456789012:user/bob"}, "Bob: route")
    _card(ledger, {"application": ALICE}, "Same text under another key")
    _card(other_tenant, {"iam_principal": ALICE}, "Globex: alice")

    html = viewer_client.get(url("principal", ALICE, **RANGE)).content.decode()

    section = html[html.index('data-testid="entity-recommendations"') :]
    assert "Alice: route to Haiku" in section
    for hidden in ("dismissed", "Bob: route", "Same text under another key", "Globex"):
        assert hidden not in section


def test_recommendations_naming_matches_scope_keys_on_this_database(tenant, other_tenant):
    wanted = _card(tenant, {"agent_id": "triage", "model_id": SONNET}, "agent")
    by_name = _card(tenant, {"principal_name": "alice"}, "by name")
    _card(tenant, {"agent_id": "other"}, "other agent")
    _card(other_tenant, {"agent_id": "triage"}, "other tenant")

    found = recommendations_naming(tenant=tenant, matches={"agent_id": ["triage"], "principal_name": ["alice"]})

    assert set(found) == {wanted, by_name}
    assert not recommendations_naming(tenant=tenant, matches={"agent_id": [], "bad key": ["triage"]}).exists()


def test_the_budgets_slot_is_there_and_empty_until_the_budgets_app_fills_it(viewer_client, ledger):
    response = viewer_client.get(url("application", "", **RANGE))

    assert response.context["budgets"] == []
    assert "No budget covers this application." in response.content.decode()


def test_open_in_the_explorer_filters_to_the_entity(viewer_client, ledger):
    response = viewer_client.get(url("principal", ALICE, preset="90d"))

    link = re.search(r'href="([^"]+)" data-testid="open-in-explorer"', response.content.decode()).group(1)
    params = params_of(link.replace("&amp;", "&"))
    assert params["f.principal"] == [ALICE] and params["g"] == ["model"] and params["preset"] == ["90d"]


def test_the_range_form_redirects_keeping_the_entity(viewer_client, ledger):
    response = viewer_client.get(
        url("principal", ALICE, form="bar", preset="7d", start="2026-01-01", end="2026-01-02", basis="allocated")
    )

    assert response.status_code == 302
    assert params_of(response["Location"]) == {"value": [ALICE], "preset": ["7d"], "basis": ["allocated"]}


def test_an_entity_without_spend_in_the_range_says_so(viewer_client, ledger):
    html = viewer_client.get(url("agent", "nobody", **RANGE)).content.decode()

    assert "No spend for this agent in 1 May 2026 – 30 Sep 2026" in " ".join(html.split())


def test_a_tenant_without_spend_is_told_how_to_get_some(viewer_client, tenant):
    assert "No spend yet" in viewer_client.get(url("model", SONNET)).content.decode()


def test_unknown_dimensions_and_missing_values_are_404(viewer_client, ledger):
    assert viewer_client.get(url("team", "search")).status_code == 404
    assert viewer_client.get("/t/acme/explore/entity/principal/").status_code == 404


def test_an_outsider_gets_404_and_an_anonymous_visitor_the_login(client, ledger, outsider):
    anonymous = client.get(url("principal", ALICE))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")

    client.force_login(outsider)
    for dimension in ("principal", "user", "application", "agent", "model"):
        assert client.get(url(dimension, ALICE)).status_code == 404


def test_another_tenants_rows_never_count(viewer_client, ledger, other_tenant):
    billed_line(other_tenant, cost="98765.43", iam_principal=ALICE, day=date(2026, 8, 5))

    html = viewer_client.get(url("principal", ALICE, **RANGE)).content.decode()

    assert "98,765.43" not in html


def test_the_overview_links_its_top_tables_to_the_explorer_and_models_to_their_pages(viewer_client, ledger):
    html = viewer_client.get("/t/acme/?start=2026-08-01&end=2026-08-31").content.decode()

    assert 'href="/t/acme/explore/?start=2026-08-01&amp;end=2026-08-31&amp;g=model"' in html
    assert 'href="/t/acme/explore/?start=2026-08-01&amp;end=2026-08-31&amp;g=team"' in html
    assert f"/t/acme/explore/entity/model/?value={SONNET}" in html
