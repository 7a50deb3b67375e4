"""Recommendation endpoints: the list (filters, pages), one card, accept and dismiss."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from connections.models import AuditLog, Tenant
from recommendations.models import Recommendation
from tests.api.conftest import bearer, token_for

KINDS = [Recommendation.Kind.MODEL_ROUTING, Recommendation.Kind.PROMPT_CACHING, Recommendation.Kind.ANOMALY]


@pytest.fixture
def cards(tenant: Tenant, other_tenant: Tenant) -> list[Recommendation]:
    made = [
        Recommendation.objects.create(
            tenant=tenant,
            kind=KINDS[i % 3],
            fingerprint=f"card-{i}",
            title=f"Card {i}",
            monthly_savings_usd=Decimal(10 * i + 5) if i % 3 != 2 else None,
            monthly_impact_usd=Decimal(7 * i) if i % 3 == 2 else None,
            status=Recommendation.Status.DISMISSED if i == 4 else Recommendation.Status.OPEN,
        )
        for i in range(7)
    ]
    Recommendation.objects.create(tenant=other_tenant, kind=KINDS[0], fingerprint="theirs", title="Not yours")
    return made


def test_the_list_is_the_tenants_cards_largest_first_in_pages(client: Client, viewer, cards) -> None:  # noqa: ANN001
    token = token_for(viewer)
    first = client.get("/api/v1/recommendations/acme/?page_size=4", **bearer(token)).json()
    second = client.get("/api/v1/recommendations/acme/?page_size=4&page=2", **bearer(token)).json()

    items = first["items"] + second["items"]
    assert first["pagination"] == {"page": 1, "page_size": 4, "pages": 2, "count": 7}
    assert sorted(i["id"] for i in items) == sorted(c.pk for c in cards)
    savings = [Decimal(i["monthly_savings_usd"]) for i in items if i["monthly_savings_usd"] is not None]
    assert savings == sorted(savings, reverse=True)
    without = [i["monthly_savings_usd"] is None for i in items]
    assert without == sorted(without)  # cards without savings (impact only) come last, on either database
    by_id = {c.pk: c for c in cards}
    for item in items:
        assert Decimal(item["value_usd"]) == by_id[item["id"]].value_usd


def test_the_list_filters_by_kind_and_status(client: Client, viewer, cards) -> None:  # noqa: ANN001
    token = token_for(viewer)
    routing = client.get("/api/v1/recommendations/acme/?kind=model_routing", **bearer(token)).json()["items"]
    dismissed = client.get("/api/v1/recommendations/acme/?status=dismissed", **bearer(token)).json()["items"]

    assert {i["id"] for i in routing} == {c.pk for c in cards if c.kind == "model_routing"}
    assert [i["id"] for i in dismissed] == [cards[4].pk]
    bad = client.get("/api/v1/recommendations/acme/?status=maybe", **bearer(token))
    assert bad.status_code == 400 and "status='maybe'" in bad.json()["detail"]
    assert client.get("/api/v1/recommendations/acme/?kind=magic", **bearer(token)).status_code == 400


def test_one_card_and_a_card_of_another_tenant(client: Client, viewer, cards) -> None:  # noqa: ANN001
    token = token_for(viewer)
    card = client.get(f"/api/v1/recommendations/acme/{cards[1].pk}", **bearer(token)).json()
    theirs = Recommendation.objects.get(fingerprint="theirs")

    assert (card["title"], card["measured"]) == ("Card 1", None)
    assert client.get(f"/api/v1/recommendations/acme/{theirs.pk}", **bearer(token)).status_code == 404
    assert client.post(f"/api/v1/recommendations/acme/{theirs.pk}/accept", **bearer(token)).status_code == 404


def test_an_analyst_accepts_and_dismisses_with_a_reason(client: Client, analyst, cards) -> None:  # noqa: ANN001
    token = token_for(analyst)

    accepted = client.post(f"/api/v1/recommendations/acme/{cards[0].pk}/accept", **bearer(token))
    dismissed = client.post(
        f"/api/v1/recommendations/acme/{cards[1].pk}/dismiss",
        {"reason": "We already route this"},
        content_type="application/json",
        **bearer(token),
    )

    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert dismissed.status_code == 200 and dismissed.json()["dismissed_reason"] == "We already route this"
    cards[0].refresh_from_db()
    cards[1].refresh_from_db()
    assert (cards[0].status, cards[1].status) == ("accepted", "dismissed")
    assert AuditLog.objects.filter(action__in=["recommendation.accepted", "recommendation.dismissed"]).count() == 2


def test_dismissing_needs_a_reason(client: Client, analyst, cards) -> None:  # noqa: ANN001
    token = token_for(analyst)
    url = f"/api/v1/recommendations/acme/{cards[1].pk}/dismiss"

    blank = client.post(url, {"reason": "  "}, content_type="application/json", **bearer(token))
    missing = client.post(url, {}, content_type="application/json", **bearer(token))

    assert blank.status_code == 400 and "Say why" in blank.json()["detail"]
    assert missing.status_code == 400 and "reason: Field required" in missing.json()["detail"]
    cards[1].refresh_from_db()
    assert cards[1].status == "open"
