"""The overview across platforms (issue #12 follow-up): the billed figure names the bills it comes from, a
platform billed without requests shows no estimate (—, never $0.00) and is kept out of the comparisons with
the estimate, and the empty state names every way data comes in. Expected numbers from the SpendEvent rows."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from django.test import Client
from django.urls import reverse

from connections.models import Tenant
from finops.dashboards.selectors import Overview, overview
from finops.explorer.query import parse_query
from finops.explorer.selectors import explore
from finops.ledger.models import SpendEvent
from tests.explorer.test_platform_tokens import five  # noqa: F401  (the fixture)

START, END = date(2026, 6, 1), date(2026, 6, 30)
PAGE = "?start=2026-06-01&end=2026-06-30"


def _cost(tenant: Tenant, **where: object) -> Decimal:
    return sum((e.cost_usd for e in SpendEvent.objects.filter(tenant=tenant, **where)), Decimal(0))


def test_the_billed_figure_names_the_bills_it_comes_from(client: Client, five: Tenant, viewer) -> None:  # noqa: F811, ANN001
    o = overview(tenant=five, start=START, end=END)

    assert o.bills_text == (
        "From the bills: AWS CUR, OpenAI cost report, Azure cost export, Google Cloud billing export"
    )
    client.force_login(viewer)
    html = client.get(reverse("overview", kwargs={"tenant_slug": "acme"}) + PAGE).content.decode()
    assert "From the AWS bill (CUR)" not in html and o.bills_text in html


def test_one_bedrock_bill_still_reads_as_the_aws_bill() -> None:
    o = Overview(start=START, end=END, has_data=True, bill_sources=["bedrock"])

    assert o.bills_text == "From the AWS bill (CUR)"
    assert Overview(start=START, end=END, has_data=True, bill_sources=["vertex"]).bills_text == (
        "From the bills: Google Cloud billing export"
    )


def test_a_platform_billed_without_requests_has_no_estimate_not_zero(
    client: Client,
    five: Tenant,  # noqa: F811
    viewer,  # noqa: ANN001
    outsider,  # noqa: ANN001
) -> None:
    o = overview(tenant=five, start=START, end=END)

    estimate = {r["key"]: r["has_estimate"] for r in o.platforms}
    assert estimate == {"bedrock": True, "openai": True, "azure_openai": False, "vertex": False}
    client.force_login(viewer)
    url = reverse("overview", kwargs={"tenant_slug": "acme"}) + PAGE
    html = client.get(url).content.decode()
    platforms = html.split('data-testid="platforms"')[1].split("</section>")[0]
    for label in ("Azure OpenAI", "Vertex AI"):
        row = platforms.split(label)[1].split("</tr>")[0]
        assert 'data-testid="no-estimate">—' in row and "$0.00" not in row
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_comparisons_with_the_estimate_leave_out_platforms_without_requests(five: Tenant) -> None:  # noqa: F811
    o = overview(tenant=five, start=START, end=END)

    # Token usage billed on Bedrock and OpenAI (which have requests) against their requests' estimate.
    bills = {"record_kind": "billed_line", "usage_category": "tokens"}
    compared = _cost(five, source__in=["bedrock", "openai"], **bills)
    assert compared == Decimal("2.72")  # by hand: 2 days x (1.10 + 0.20 + 0.06)
    assert o.billed_token_usage_usd == compared
    assert o.difference_usd == compared - _cost(five, cost_basis="estimated")
    assert o.billed_only == [
        ("Azure OpenAI", _cost(five, source="azure_openai", **bills)),
        ("Vertex AI", _cost(five, source="vertex", **bills)),
    ]
    assert o.billed_only_usd == Decimal("2.86")  # 2 x (0.70 + 0.40) + 2 x 0.33


def test_the_empty_overview_names_every_source(client: Client, tenant: Tenant, viewer) -> None:  # noqa: ANN001
    client.force_login(viewer)
    html = client.get(reverse("overview", kwargs={"tenant_slug": "acme"})).content.decode()

    assert "No spend yet" in html
    for text in ("import_cur", "/t/acme/providers/", "import_azure_costs", "import_gcp_billing"):
        assert text in html, text


def test_the_explorer_shows_no_estimate_and_a_cost_per_request_of_the_platforms_with_requests(
    client: Client,
    five: Tenant,  # noqa: F811
    viewer,  # noqa: ANN001
) -> None:
    result = explore(five, parse_query({"start": "2026-06-01", "end": "2026-06-30", "g": "source"}, latest=None))

    requests = sum(e.requests for e in SpendEvent.objects.filter(tenant=five, record_kind="request"))
    with_requests = _cost(five, cost_basis="billed", source__in=["bedrock", "openai"])
    assert result.total.unit.cost_per_request == with_requests / requests  # Azure's and Vertex's bills not spread
    client.force_login(viewer)
    url = reverse("explore", kwargs={"tenant_slug": "acme"}) + PAGE + "&g=source&format=csv&what=table"
    lines = {line["Platform"]: line for line in csv.DictReader(io.StringIO(client.get(url).content.decode()))}
    assert lines["Vertex AI"]["Estimated (USD)"] == "" and lines["Azure OpenAI"]["Estimated (USD)"] == ""
    assert int(lines["OpenAI"]["Requests"]) == 2
    assert Decimal(lines["Amazon Bedrock"]["Estimated (USD)"]) == _cost(five, source="bedrock", cost_basis="estimated")
