"""An analyst's whole journey in a real browser: log in with the form, explore, drill down, download the CSV of
what is shown, create a budget, accept a recommendation; then an outsider who gets 404 on every one of them.

Needs Debian's chromium at /usr/bin/chromium (see tests/conftest.py: skipped locally without it, an error in CI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from budgets.models import Budget
from connections.models import AuditLog, Tenant
from recommendations.models import Recommendation
from recommendations.services import store_cards
from tests.explorer.pages import params_of
from tests.factories import billed_line
from tests.recommendations.test_cards import card
from tests.test_browser import Session, browser  # noqa: F401 (the browser fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
LAST_DAY = date(2026, 6, 10)
DAYS = 10
# (team, application, cost per day): two applications in "search" so the drill-down has something to split.
LINES = [("search", "web", "12.25"), ("search", "ranker", "3.50"), ("mobile", "app", "7.75")]


@pytest.fixture
def spend(tenant: Tenant) -> Tenant:
    for offset in range(DAYS):
        for team, application, cost in LINES:
            billed_line(tenant, cost=cost, day=LAST_DAY - timedelta(days=offset), team=team, application=application)
    store_cards(tenant=tenant, cards=[card("500.00", app="web"), card("40.00", app="ranker")], as_of=LAST_DAY)
    return tenant


@pytest.fixture
def admin_session(browser: Any, live_server: Any, tenant_admin: Any) -> Iterator[Session]:  # noqa: F811
    session = Session(browser, live_server.url)
    session.context.set_default_timeout(10_000)
    session.page.set_viewport_size({"width": 1400, "height": 1000})
    session.log_in("adam", "pw-adam-123")
    yield session
    session.context.close()


def _csv_costs(text: str) -> dict[str, Decimal]:
    """Cost per first-column label, read from the downloaded CSV by its header."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    cost = next(i for i, name in enumerate(header) if name.lower().startswith("cost"))
    return {line[0]: Decimal(line[cost]) for line in reader}


def test_an_analyst_explores_drills_downloads_budgets_and_accepts(admin_session: Session, spend: Tenant) -> None:
    session, page = admin_session, admin_session.page
    assert page.url.endswith("/") and "/accounts/login/" not in page.url  # the form logged us in

    # Explore by team, then drill into "search" from its table link: the filter is added, the group moves on.
    session.open("/t/acme/explore/?preset=30d&g=team")
    expect(page.locator("table.explorer tbody tr, .table-scroll tbody tr").first).to_be_visible()
    with page.expect_navigation():
        page.get_by_title("Drill into search").click()
    params = params_of(page.url)
    assert params["f.team"] == ["search"] and params["g"] == ["application"]
    expect(page.locator(".chip")).to_have_count(1)

    # The table's CSV is exactly what is shown: search's two applications and their total.
    with page.expect_download() as download:
        page.get_by_test_id("csv-table").click()
    costs = _csv_costs(download.value.path().read_text())
    expected = {app: Decimal(cost) * DAYS for team, app, cost in LINES if team == "search"}
    assert {k: v for k, v in costs.items() if k in expected} == expected
    assert costs["Total"] == sum(expected.values()) and "app" not in costs

    # A budget on the team, created with the page's form.
    session.open("/t/acme/budgets/new/")
    page.fill("input[name=name]", "Search team")
    page.fill("input[name=amount_usd]", "400")
    page.select_option("select[name=scope-0-dimension]", "team")
    page.fill("input[name=scope-0-values]", "search")
    with page.expect_navigation():
        page.get_by_role("button", name="Create the budget").click()
    budget = Budget.objects.get(tenant=spend, name="Search team")
    assert page.url.endswith(f"/t/acme/budgets/{budget.pk}/")
    assert budget.amount_usd == Decimal("400") and budget.scope[0]["values"] == ["search"]
    expect(page.locator("h1")).to_contain_text("Search team")

    # The most valuable recommendation, accepted from its card.
    session.open("/t/acme/recommendations/")
    top = Recommendation.objects.filter(tenant=spend).order_by("-monthly_savings_usd").first()
    with page.expect_navigation():
        page.locator("article", has_text=top.title).get_by_role("button", name="Accept").click()
    top.refresh_from_db()
    assert top.status == "accepted"
    assert AuditLog.objects.filter(tenant=spend, action="recommendation.accepted").exists()
    expect(page.locator(".messages")).to_be_visible()  # says what happened; the card leaves the open list
    expect(page.locator("article", has_text=top.title)).to_have_count(0)
    page.select_option("select[name=status]", "accepted")
    with page.expect_navigation():
        page.get_by_role("button", name="Show").click()
    expect(page.locator("article", has_text=top.title)).to_contain_text("Accepted")
    assert session.problems == []


def test_an_outsider_gets_404_on_every_page_of_the_journey(
    browser: Any,  # noqa: F811
    live_server: Any,
    spend: Tenant,
    outsider: Any,
) -> None:
    budget = Budget.objects.create(tenant=spend, name="Secret", amount_usd=Decimal("1"), period="monthly")
    recommendation = Recommendation.objects.filter(tenant=spend).first()
    session = Session(browser, live_server.url)
    session.log_in("otto", "pw-otto-123")
    page = session.page
    try:
        for path in (
            "/t/acme/",
            "/t/acme/explore/?preset=30d&g=team",
            "/t/acme/explore/?preset=30d&g=team&format=csv&what=table",
            "/t/acme/explore/entity/team/?value=search",
            "/t/acme/budgets/",
            "/t/acme/budgets/new/",
            f"/t/acme/budgets/{budget.pk}/",
            "/t/acme/recommendations/",
            "/t/acme/exports/",
        ):
            response = page.goto(path)
            assert response is not None and response.status == 404, (path, response and response.status)
            assert "Search" not in page.content() and "12.25" not in page.content()
        # A write from the outsider's own page session: 404, nothing changed.
        token = page.context.cookies()
        assert token  # logged in
        status = page.evaluate(
            """async (url) => {
                const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.split('=')[1] || '';
                const r = await fetch(url, {method: 'POST', headers: {'X-CSRFToken': csrf}});
                return r.status;
            }""",
            f"/t/acme/recommendations/{recommendation.pk}/accept/",
        )
        assert status == 404
        recommendation.refresh_from_db()
        assert recommendation.status == "open"
    finally:
        session.context.close()
