"""The explorer in a real browser under the Content-Security-Policy: the chart is drawn, a click on a bar drills
down (static/js/explorer.js), the filter form's value list is swapped in by htmx, and nothing is refused.

Needs Debian's chromium at /usr/bin/chromium, like tests/test_browser.py (whose browser session it reuses)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from connections.models import Tenant
from tests.explorer.pages import params_of
from tests.factories import billed_line
from tests.test_browser import CHROMIUM, Session, browser  # noqa: F401 (the browser fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
LAST_DAY = date(2026, 6, 10)
TEAMS = ("search", "mobile", "platform")


@pytest.fixture
def spend(tenant: Tenant) -> Tenant:
    for offset in range(10):
        for index, team in enumerate(TEAMS):
            billed_line(tenant, cost=f"{(index + 1) * 10}.25", day=LAST_DAY - timedelta(days=offset), team=team,
                        region="us-east-1" if index else "eu-west-1")  # fmt: skip
    return tenant


@pytest.fixture
def session(browser: Any, live_server: Any, viewer: Any) -> Iterator[Session]:  # noqa: F811
    session = Session(browser, live_server.url)
    session.context.set_default_timeout(10_000)
    session.page.set_viewport_size({"width": 1400, "height": 1000})
    session.log_in("vera", "pw-vera-123")
    yield session
    session.context.close()


def test_a_click_on_a_bar_drills_into_its_group(session: Session, spend: Tenant) -> None:
    page = session.page
    session.open("/t/acme/explore/?preset=30d&g=team")
    expect(page.locator(".drill-chart .plotly-figure[data-drill-wired=true]")).to_have_count(1)
    assert page.locator(".drill-chart g.trace.bars").count() == len(TEAMS)
    table_width = page.evaluate("(() => { const s = document.querySelector('.table-scroll'); "
                                "return [s.scrollWidth, s.clientWidth]; })()")  # fmt: skip
    assert table_width[0] <= table_width[1]  # the whole table fits at 1400 pixels

    bar = page.locator(".drill-chart g.trace.bars").first.locator("path").last
    with page.expect_navigation():
        bar.click(force=True)

    params = params_of(page.url)
    assert params["g"] == ["application"] and params["f.team"][0] in TEAMS
    expect(page.locator(".chip")).to_have_count(1)
    assert session.problems == []


def test_the_filter_form_lists_the_values_of_the_chosen_dimension(session: Session, spend: Tenant) -> None:
    page = session.page
    session.open("/t/acme/explore/?preset=30d&g=team")

    page.select_option("select[name=add_dim]", "region")  # htmx swaps in the region's values
    expect(page.locator("input[name=add_for]")).to_have_value("region")
    page.select_option("select[name=add_val]", "eu-west-1")
    page.select_option("select[name=add_mode]", "exclude")
    with page.expect_navigation():
        page.click("text=Add filter")

    assert params_of(page.url)["x.region"] == ["eu-west-1"]
    expect(page.locator(".chip")).to_have_text("Region is not eu-west-1 ×")
    assert session.problems == []
