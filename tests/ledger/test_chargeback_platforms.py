"""Chargeback across platforms: each platform bills separately, so grouped by source each platform's rows add
up to its own invoice, and --source / source= limit a chargeback to some platforms' invoices."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from connections.models import Membership, Tenant
from connections.services import api_token_create
from finops.ledger.chargeback import ChargebackError, chargeback
from finops.ledger.models import SpendEvent
from tests.exports.platforms_ledger import JUNE, billed_by_source, load_five_platforms

pytestmark = pytest.mark.django_db


@pytest.fixture
def five() -> Tenant:
    return load_five_platforms(Tenant.objects.create(slug="acme", name="Acme"))


def test_grouped_by_source_each_platforms_rows_add_up_to_its_own_invoice(five: Tenant) -> None:
    expected = billed_by_source(five)
    assert set(expected) == {"bedrock", "openai", "anthropic", "azure_openai", "vertex"}

    rows, invoice = chargeback(tenant=five, period=JUNE, fields=["source", "team"])

    per_source: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        assert row["source"], row  # unattributed and shared rows too carry their platform
        per_source[row["source"]] += row["billed_cost_usd"]
    assert dict(per_source) == expected
    assert invoice == sum(expected.values())
    unattributed = {row["source"] for row in rows if row.get("unattributed")}
    assert {"azure_openai", "vertex"} <= unattributed  # bills no request explains: nothing to allocate them to


def test_one_platforms_chargeback_sums_to_that_platforms_invoice(five: Tenant) -> None:
    expected = billed_by_source(five)
    for source in ("bedrock", "openai"):
        rows, invoice = chargeback(tenant=five, period=JUNE, fields=["team"], sources=[source])
        assert invoice == expected[source]
        assert sum((r["billed_cost_usd"] for r in rows), Decimal(0)) == expected[source]
    # requests counted are that platform's only
    rows, _ = chargeback(tenant=five, period=JUNE, fields=["team"], sources=["openai"])
    openai_requests = sum(
        e.requests for e in SpendEvent.objects.filter(tenant=five, billing_period=JUNE, source="openai")
    )
    assert sum(r["requests"] for r in rows) == openai_requests


def test_the_command_and_the_api_take_the_platform(five: Tenant) -> None:
    expected = billed_by_source(five)
    out = StringIO()
    call_command(
        "chargeback", tenant="acme", period="2026-06", by="team", source=["anthropic"], format="json", stdout=out
    )
    assert sum(Decimal(r["billed_cost_usd"]) for r in json.loads(out.getvalue())) == expected["anthropic"]
    out = StringIO()
    call_command("chargeback", tenant="acme", period="2026-06", by="source", source=["openai,vertex"], stdout=out)
    assert f"${expected['openai'] + expected['vertex']:,.2f}" in out.getvalue()

    user = get_user_model().objects.create_user("ana", password="pw-ana-123")
    Membership.objects.create(user=user, tenant=five, role=Membership.Role.ANALYST)
    token = api_token_create(user=user, name="t", tenant=five)[1]
    response = Client().get(
        "/api/v1/ledger/acme/chargeback?period=2026-06&group_by=source&source=bedrock,azure_openai",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert Decimal(data["invoice_total_usd"]) == expected["bedrock"] + expected["azure_openai"]
    assert {r["source"] for r in data["rows"]} == {"bedrock", "azure_openai"}
    bad = Client().get("/api/v1/ledger/acme/chargeback?period=2026-06&source=aws", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bad.status_code == 400 and "Unknown source" in bad.json()["detail"]


def test_an_unknown_platform_is_a_clear_error(five: Tenant) -> None:
    with pytest.raises(ChargebackError, match="Unknown source.*Choose from: bedrock"):
        chargeback(tenant=five, period=JUNE, fields=["team"], sources=["aws"])
    with pytest.raises(CommandError, match="Unknown source"):
        call_command("chargeback", tenant="acme", period="2026-06", by="team", source=["aws"], stdout=StringIO())
