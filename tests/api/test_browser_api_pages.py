"""The API docs and the API tokens page in a real browser under the Content-Security-Policy: nothing loaded from
another host, no violation, the copy button working. Screenshots in /tmp/csp-api-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from connections.models import ApiToken
from connections.services import api_token_authenticate
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, Session

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # committed data for the live server
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def tab(chromium: Any, live_server: Any, viewer: Any) -> Iterator[Session]:
    session = Session(chromium, live_server.url)
    session.outside: list[str] = []  # type: ignore[misc]
    host = urlsplit(live_server.url).netloc
    session.page.on(
        "request",
        lambda r: (
            session.outside.append(r.url)  # type: ignore[attr-defined]
            if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != host
            else None
        ),
    )
    session.log_in("vera", "pw-vera-123")
    yield session
    session.context.close()


def test_the_api_docs_load_only_from_this_site_and_try_a_call(tab: Session) -> None:
    page = tab.page
    tab.open("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Bedrock FinOps API")
    expect(page.locator("button.authorize")).to_be_visible()
    page.click(".opblock-summary-path[data-path='/api/v1/ledger/{tenant_slug}/events']")
    page.click("button.try-out__btn")
    page.fill("input[placeholder='tenant_slug']", "acme")
    page.click("button.execute")
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    tab.screenshot("api-docs-offline")

    assert tab.problems == []
    assert tab.outside == []  # type: ignore[attr-defined]


def test_the_tokens_page_creates_a_token_and_copies_it(tab: Session) -> None:
    page = tab.page
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tab.base_url)
    tab.open("/account/tokens/")
    expect(page.locator(".empty")).to_contain_text("no API tokens yet")
    page.fill("#id_name", "notebook")
    page.select_option("#id_tenant", label="Acme Corp")
    with page.expect_navigation():
        page.click("button.primary")

    copy = page.locator("[data-copy=new-token-value]")
    copy.click()
    expect(copy).to_have_text("Copied")
    token = page.evaluate("navigator.clipboard.readText()")
    assert api_token_authenticate(token=token) == ApiToken.objects.get(name="notebook")
    tab.screenshot("api-tokens")

    page.click("tr[data-token] button.danger")
    expect(page.locator("tr[data-token] .status")).to_have_text("revoked")
    assert api_token_authenticate(token=token) is None
    assert tab.problems == []
