"""The tenant overview page and the selector behind it."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connections.models import Tenant
from finops.dashboards import selectors
from finops.ledger.models import SpendEvent
from tests.factories import ledger_row

_keys = itertools.count()

LATEST = date(2025, 3, 31)


def spend(
    tenant: Tenant,
    *,
    day: date = LATEST,
    basis: str = "billed",
    cost: str | None = "0",
    model_id: str = "anthropic.claude-sonnet-4",
    **fields: object,
) -> SpendEvent:
    """One ledger row; billed rows look like CUR lines, estimated rows like invocation-log requests."""
    start = datetime.combine(day, time(12), tzinfo=UTC)
    kind = "billed_line" if basis == "billed" else "request"
    defaults: dict[str, object] = {"requests": 0 if kind == "billed_line" else 1}
    defaults.update(fields)
    return ledger_row(
        tenant=tenant,
        record_kind=defaults.pop("record_kind", kind),
        cost_basis=basis,
        dedupe_key=f"test:{next(_keys)}",
        usage_start=start,
        usage_end=start + timedelta(hours=1),
        usage_date=day,
        billing_period=day.replace(day=1),
        model_id=model_id,
        cost_usd=None if cost is None else Decimal(cost),
        **defaults,
    )


def login(client: Client, user: object) -> Client:
    client.force_login(user)
    return client


def url(slug: str = "acme") -> str:
    return f"/t/{slug}/"


# --- the page ----------------------------------------------------------------------------------


def test_it_shows_billed_and_estimated_totals_side_by_side(client, tenant, viewer):
    spend(
        tenant,
        day=LATEST,
        basis="billed",
        cost="1234.50",
        line_item_type="Usage",
        token_type="input",
        usage_category="tokens",
    )
    spend(
        tenant,
        day=LATEST - timedelta(days=1),
        basis="billed",
        cost="0.25",
        line_item_type="Usage",
        token_type="output",
        usage_category="tokens",
    )
    spend(tenant, day=LATEST, basis="estimated", cost="10.10")
    spend(tenant, day=LATEST - timedelta(days=2), basis="estimated", cost="5.05")
    billed = Decimal("1234.50") + Decimal("0.25")  # 1,234.75
    estimated = Decimal("10.10") + Decimal("5.05")  # 15.15

    response = login(client, viewer).get(url())

    assert response.status_code == 200
    content = response.content.decode()
    assert "$1,234.75" in content
    assert "$15.15" in content
    assert "+$1,219.60" in content  # billed minus estimated
    assert "1,249.90" not in content  # the two bases are never added together
    page = response.context["overview"]
    assert page.billed_cost_usd == billed
    assert page.estimated_cost_usd == estimated
    assert isinstance(page.billed_cost_usd, Decimal)
    assert page.difference_pct == Decimal("8050.2")  # (1234.75 - 15.15) / 15.15 * 100


def test_it_never_shows_another_tenants_spend(client, tenant, other_tenant, viewer):
    spend(tenant, basis="billed", cost="100.00", team="search")
    spend(other_tenant, basis="billed", cost="98765.43", model_id="globex.secret-model-zz", team="globex-skunkworks")
    spend(other_tenant, basis="estimated", cost="4321.09", model_id="globex.secret-model-zz", unpriced=True)

    content = login(client, viewer).get(url()).content.decode()

    assert "$100.00" in content
    assert "98,765.43" not in content
    assert "4,321.09" not in content
    assert "globex.secret-model-zz" not in content
    assert "globex-skunkworks" not in content


def test_it_lists_top_models_and_teams_with_untagged_spend_labelled(client, tenant, viewer):
    spend(tenant, basis="billed", cost="30.00", model_id="amazon.nova-pro", team="search")
    spend(tenant, basis="billed", cost="20.00", model_id="anthropic.claude-sonnet-4", team="")
    spend(tenant, basis="estimated", cost="7.00", model_id="amazon.nova-pro", team="search", input_tokens=1500)

    response = login(client, viewer).get(url())

    page = response.context["overview"]
    assert [m["label"] for m in page.top_models] == ["amazon.nova-pro", "anthropic.claude-sonnet-4"]
    assert page.top_models[0]["billed_cost_usd"] == Decimal("30.00")
    assert page.top_models[0]["estimated_cost_usd"] == Decimal("7.00")
    assert page.top_models[0]["tokens"] == 1500
    assert [t["label"] for t in page.top_teams] == ["search", "(untagged)"]
    assert "(untagged)" in response.content.decode()


def test_top_models_carry_the_catalogs_names(client, tenant, viewer):
    from finops.ledger.models import ModelCatalog

    known = ModelCatalog.objects.get(model_id="anthropic.claude-opus-4-6-v1")
    spend(tenant, basis="billed", cost="3.00", model_id=known.model_id)
    spend(tenant, basis="billed", cost="1.00", model_id="", model_ref="acme.custom-model")

    page = login(client, viewer).get(url()).context["overview"]

    assert [(m["label"], m["key"]) for m in page.top_models] == [
        (known.name, known.model_id),
        ("acme.custom-model", "acme.custom-model"),
    ]


def test_it_defaults_to_the_last_30_days_that_have_data(client, tenant, viewer):
    spend(tenant, day=LATEST, cost="1.00")
    spend(tenant, day=LATEST - timedelta(days=29), cost="2.00")  # first day of the window
    spend(tenant, day=LATEST - timedelta(days=30), cost="400.00")  # one day too early

    page = login(client, viewer).get(url()).context["overview"]

    assert (page.start, page.end) == (date(2025, 3, 2), LATEST)
    assert page.billed_cost_usd == Decimal("3.00")


def test_it_filters_by_the_dates_in_the_query_string(client, tenant, viewer):
    spend(tenant, day=date(2025, 1, 10), cost="5.00")
    spend(tenant, day=date(2025, 1, 20), cost="7.00")
    spend(tenant, day=LATEST, cost="900.00")

    response = login(client, viewer).get(url(), {"start": "2025-01-01", "end": "2025-01-15"})

    page = response.context["overview"]
    assert (page.start, page.end) == (date(2025, 1, 1), date(2025, 1, 15))
    assert page.billed_cost_usd == Decimal("5.00")
    assert 'value="2025-01-01"' in response.content.decode()


def test_it_shows_an_error_and_the_default_range_for_an_invalid_date(client, tenant, viewer):
    spend(tenant, day=LATEST, cost="12.00")

    response = login(client, viewer).get(url(), {"start": "2025-02-30", "end": "yesterday"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "“2025-02-30” is not a valid start date" in content
    assert "“yesterday” is not a valid end date" in content
    page = response.context["overview"]
    assert (page.start, page.end) == (LATEST - timedelta(days=29), LATEST)
    assert page.billed_cost_usd == Decimal("12.00")


def test_it_rejects_a_start_after_the_end(client, tenant, viewer):
    spend(tenant, day=LATEST, cost="12.00")

    response = login(client, viewer).get(url(), {"start": "2025-03-20", "end": "2025-03-01"})

    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()
    assert response.context["overview"].end == LATEST


def test_it_counts_unpriced_requests_and_names_their_models(client, tenant, viewer):
    spend(tenant, basis="billed", cost="50.00")
    spend(tenant, basis="estimated", cost="1.00", input_tokens=100, output_tokens=10)
    for _ in range(3):
        spend(
            tenant,
            basis="estimated",
            cost=None,
            unpriced=True,
            model_id="",
            model_ref="acme.mystery-model-v1",
            input_tokens=1000,
            output_tokens=200,
        )
    spend(tenant, basis="estimated", cost=None, unpriced=True, model_id="", model_ref="other.unknown", input_tokens=5)

    response = login(client, viewer).get(url())

    page = response.context["overview"]
    assert page.unpriced_requests == 4
    assert page.unpriced_tokens == 3 * 1200 + 5
    assert page.unpriced_models[0] == {
        "label": "acme.mystery-model-v1",
        "inference_profile_arn": "",
        "requests": 3,
        "tokens": 3600,
        "kind": "model",
        "action": page.unpriced_models[0]["action"],
    }
    assert "not in the catalog" in page.unpriced_models[0]["action"]
    content = response.content.decode()
    assert "acme.mystery-model-v1" in content
    assert "3,605 tokens" in content
    assert 'class="card warn"' in content


def test_it_shows_an_empty_state_for_a_tenant_without_spend(client, tenant, viewer):
    response = login(client, viewer).get(url())

    assert response.status_code == 200
    content = response.content.decode()
    assert "No spend yet" in content
    assert "import CUR or invocation logs" in content
    assert "python manage.py import_cur ... --tenant acme" in content


def test_it_renders_only_the_fragment_for_htmx(client, tenant, viewer):
    spend(tenant, cost="42.00")

    response = login(client, viewer).get(url(), HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="overview-content"' in content
    assert "$42.00" in content
    assert "HX-Request" in response["Vary"]


def test_it_renders_the_whole_page_without_htmx(client, tenant, viewer):
    spend(tenant, cost="42.00")

    content = login(client, viewer).get(url()).content.decode()

    assert "<html" in content
    assert "Bedrock FinOps" in content
    assert "vendor/htmx.min.js" in content
    assert "vendor/plotly.min.js" in content
    assert 'hx-push-url="true"' in content


# --- access --------------------------------------------------------------------------------------


def test_it_returns_404_to_an_outsider(client, tenant, outsider):
    spend(tenant, cost="10.00")

    assert login(client, outsider).get(url()).status_code == 404


def test_it_returns_404_for_an_unknown_tenant(client, viewer):
    assert login(client, viewer).get(url("no-such-tenant")).status_code == 404


def test_it_redirects_anonymous_users_to_login(client, tenant):
    response = client.get(url())

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_staff_can_see_any_tenant(client, tenant, other_tenant, staff):
    spend(other_tenant, cost="77.00")

    response = login(client, staff).get(url("globex"))

    assert response.status_code == 200
    assert "$77.00" in response.content.decode()


# --- home ----------------------------------------------------------------------------------------


def test_home_redirects_a_member_of_one_tenant_to_its_overview(client, viewer):
    response = login(client, viewer).get("/")

    assert response.status_code == 302
    assert response["Location"] == "/t/acme/"


def test_home_lists_every_tenant_for_staff(client, tenant, other_tenant, staff):
    response = login(client, staff).get("/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'href="/t/acme/"' in content
    assert 'href="/t/globex/"' in content


def test_home_shows_an_empty_state_without_a_tenant(client, db):
    user = get_user_model().objects.create_user("nobody", password="pw-nobody-123")

    response = login(client, user).get("/")

    assert response.status_code == 200
    assert "You are not a member of any tenant yet" in response.content.decode()


def test_home_redirects_anonymous_users_to_login(client, db):
    assert client.get("/").status_code == 302


# --- the selector --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_overview_selector_uses_a_small_constant_number_of_queries(
    tenant, other_tenant, django_assert_max_num_queries
):
    for offset in range(20):
        day = LATEST - timedelta(days=offset)
        for n in range(3):
            spend(tenant, day=day, basis="billed", cost="1.10", model_id=f"model-{n}", team=f"team-{offset % 4}")
            spend(tenant, day=day, basis="estimated", cost="0.90", model_id=f"model-{n}", input_tokens=10)
        spend(tenant, day=day, basis="estimated", cost=None, unpriced=True, model_id="", model_ref=f"ref-{offset}")
    spend(other_tenant, day=LATEST, cost="999.00")

    # SQLite: latest date, 4 grouped reports x 2, unpriced totals and top refs, unparsed lines and list prices.
    with django_assert_max_num_queries(13):
        page = selectors.overview(tenant=tenant)

    assert page.billed_cost_usd == Decimal("1.10") * 60
    assert page.estimated_cost_usd == Decimal("0.90") * 60
    assert page.unpriced_requests == 20
    assert len(page.daily) == 20
    assert len(page.unpriced_models) == 5


def test_a_model_without_a_price_is_not_shown_as_zero_dollars(client, tenant, viewer):
    spend(
        tenant, basis="estimated", cost=None, unpriced=True, model_id="", model_ref="acme.nopriced-v9", input_tokens=7
    )
    html = login(client, viewer).get(url()).content.decode()
    top_models = html[html.index("Top models") :]
    row = top_models[top_models.index("acme.nopriced-v9") :]
    row = row[: row.index("</tr>")]
    cells = [cell.split(">", 1)[1] for cell in row.split("<td")[1:]]
    billed, estimated = cells[0], cells[1]  # the row starts inside the label cell
    assert billed.startswith("$0.00")  # truly nothing billed for it
    assert "no price" in estimated and "$" not in estimated


def test_it_splits_billed_dollars_by_kind_and_compares_only_token_usage_with_the_estimate(client, tenant, viewer):
    spend(tenant, basis="billed", cost="30.00", line_item_type="Usage", token_type="input", usage_category="tokens")
    spend(tenant, basis="billed", cost="12.50", line_item_type="Usage", token_type="output", usage_category="tokens")
    spend(
        tenant,
        basis="billed",
        cost="1452.00",
        line_item_type="Usage",
        token_type="model_unit_hour",
        usage_category="provisioned_throughput",
    )
    spend(tenant, basis="billed", cost="-500.00", line_item_type="Credit", model_id="")
    spend(tenant, basis="billed", cost="62.50", line_item_type="Tax", model_id="")
    spend(tenant, basis="estimated", cost="40.00", input_tokens=1000)

    page = selectors.overview(tenant=tenant)

    assert page.billed_cost_usd == Decimal("30.00") + Decimal("12.50") + Decimal("1452.00") - 500 + Decimal("62.50")
    assert dict(page.billed_breakdown) == {
        "Token usage": Decimal("42.50"),
        "Provisioned throughput": Decimal("1452.00"),
        "Credits, refunds, tax and fees": Decimal("-437.50"),
    }
    assert page.difference_usd == Decimal("2.50")  # 42.50 billed for tokens - 40.00 estimated
    content = login(client, viewer).get(url()).content.decode()
    assert "Provisioned throughput: $1,452.00" in content
    assert "+$2.50" in content
