"""The pages in a real browser under the Content-Security-Policy: no violation, charts drawn, htmx still swapping.

Needs Debian's chromium at /usr/bin/chromium (`make test` and .ci/run install it when they can)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from connections.models import AwsConnection, Tenant
from connections.services import audit_log_record
from tests.factories import billed_line

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path("/tmp")
LAST_DAY = date(2026, 6, 3)

pytestmark = [
    pytest.mark.browser,
    # live_server needs committed data; serialized_rollback puts back the price catalog that migrations seed.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Reports every violation to Python as it happens, before any page script runs.
WATCH_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the tests' set-up are still sync.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()


class Session:
    """A logged-in browser tab that records console errors and CSP violations."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.context.expose_function("cspViolation", lambda text: self.problems.append(f"CSP violation: {text}"))
        self.context.add_init_script(WATCH_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type in {"error", "warning"}:
            self.problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def open(self, path: str) -> Any:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        return response

    def log_in(self, username: str, password: str) -> None:
        self.open("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"csp-{name}.png"), full_page=True)


@pytest.fixture
def session(browser: Any, live_server: Any, staff: Any) -> Iterator[Session]:
    session = Session(browser, live_server.url)
    session.log_in("stella", "pw-stella-123")
    yield session
    session.context.close()


@pytest.fixture
def spend(tenant: Tenant) -> Tenant:
    """Thirty days of billed spend on two models, so the overview draws both of its charts."""
    for offset in range(30):
        day = LAST_DAY - timedelta(days=offset)
        billed_line(tenant, cost=f"{20 + offset % 7}.50", day=day, model_id="anthropic.claude-sonnet-4")
        billed_line(tenant, cost=f"{5 + offset % 3}.25", day=day, model_id="amazon.nova-lite-v1:0")
    return tenant


def _charts_drawn(session: Session) -> list[int]:
    """How many Plotly SVG layers each chart of the page has (0: not drawn)."""
    return session.page.locator(".plotly-figure").evaluate_all(
        "(figures) => figures.map((f) => f.querySelectorAll('svg.main-svg').length)"
    )


def test_the_overview_draws_its_charts_and_filters_with_htmx_without_a_violation(session: Session, spend) -> None:  # noqa: ANN001
    page = session.page
    session.open("/t/acme/")
    page.wait_for_selector(".plotly-figure svg.main-svg")

    assert len(_charts_drawn(session)) == 2 and all(_charts_drawn(session))
    expect(page.locator(".period")).to_have_text("5 May 2026 – 3 Jun 2026")
    session.screenshot("overview")
    # The mode bar, styled by static/vendor/plotly.css; its PNG export draws the SVG through a blob: image.
    page.hover(".plotly-figure .nsewdrag")
    camera = page.locator(".plotly-figure").first.locator(".modebar-btn[data-title='Download plot as a PNG']")
    expect(camera).to_be_visible()
    page.locator(".plotly-figure").first.screenshot(path=str(SCREENSHOTS / "csp-trend-modebar.png"))
    with page.expect_download() as download:
        camera.click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    page.fill("input[name=start]", "2026-05-25")
    page.fill("input[name=end]", "2026-06-01")
    page.click("#overview-content button[type=submit]")

    expect(page.locator(".period")).to_have_text("25 May 2026 – 1 Jun 2026")  # swapped in by htmx
    assert page.url.endswith("/t/acme/?start=2026-05-25&end=2026-06-01")  # hx-push-url
    # (Locator waits: Playwright's wait_for_function evaluates a string, which the policy refuses.)
    expect(page.locator("#overview-content .plotly-figure[data-drawn=true]")).to_have_count(2)
    assert all(_charts_drawn(session))
    trend_days = page.evaluate("document.querySelector('.plotly-figure').data[0].x")
    assert (trend_days[0], trend_days[-1]) == ("2026-05-25", "2026-06-01")  # the new figure, not the old one
    session.screenshot("overview-filtered")
    page.set_viewport_size({"width": 900, "height": 900})  # responsive figures resize; swapped-out ones are gone

    page.go_back()  # htmx fetches the page again (no snapshots, see base.html); the figures are drawn again
    expect(page.locator(".period")).to_have_text("5 May 2026 – 3 Jun 2026")
    expect(page.locator("#overview-content .plotly-figure[data-drawn=true]")).to_have_count(2)
    assert len(page.evaluate("document.querySelector('.plotly-figure').data[0].x")) == 30
    assert all(_charts_drawn(session))
    page.set_viewport_size({"width": 1280, "height": 900})

    assert session.problems == []

    # The watch works: an inline script is refused and reported.
    page.evaluate("document.body.append(Object.assign(document.createElement('script'), {text: 'window.x = 1'}))")
    for _ in range(40):
        if session.problems:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("window.x") is None
    assert any("script-src" in problem for problem in session.problems), session.problems


def test_the_connection_pages_work_without_a_violation(session: Session, tenant: Tenant) -> None:
    connection = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    page = session.page
    session.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=session.base_url)

    session.open("/connections/t/acme/")
    expect(page.get_by_role("link", name="prod")).to_be_visible()
    session.screenshot("connections")
    session.open(f"/connections/{connection.pk}/")
    copy = page.locator("[data-copy=deploy-command]")
    copy.click()
    expect(copy).to_have_text("Copied")  # static/js/app.js, formerly an inline script
    assert "aws cloudformation deploy" in page.evaluate("navigator.clipboard.readText()")
    session.screenshot("connection-detail")
    session.open("/support/connections/")
    page.select_option("select[name=status]", "pending")  # hx-trigger="change": swapped in by htmx
    expect(page).to_have_url(re.compile(r"/support/connections/\?tenant=&status=pending$"))
    expect(page.locator("tr[data-connection]")).to_have_count(1)

    assert session.problems == []


def test_the_admin_and_the_api_docs_work_without_a_violation(session: Session, tenant: Tenant) -> None:
    audit_log_record(tenant=tenant, action="test.entry", target="x")
    page = session.page

    session.open("/admin/")
    session.open("/admin/connections/tenant/")
    session.open(f"/admin/connections/tenant/{tenant.pk}/change/")
    session.screenshot("admin-tenant")
    session.open("/admin/connections/auditlog/")  # read-only: no actions, a date hierarchy
    session.open("/admin/connections/auditlog/?created_at__year=2026")
    expect(page.locator("#result_list")).to_contain_text("test.entry")
    session.screenshot("admin-auditlog")
    session.open("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Bedrock FinOps API")
    # Open an operation: its selects are drawn with data: SVG images from Swagger UI's stylesheet.
    page.click(".opblock-summary-path[data-path='/api/v1/ledger/{tenant_slug}/report']")
    page.click("button.try-out__btn")
    expect(page.locator(".swagger-ui select").first).to_be_visible()
    session.screenshot("api-docs")

    assert session.problems == []


def test_the_lockout_page_shows_in_the_browser(browser: Any, live_server: Any, viewer: Any) -> None:
    session = Session(browser, live_server.url)
    try:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            session.log_in("vera", "wrong")

        assert "Too many login attempts" in session.page.locator("main").inner_text()
        session.screenshot("locked-out")
        # The browser logs the 429 itself as a failed resource; nothing else may go wrong.
        assert [p for p in session.problems if "429" not in p] == []
    finally:
        session.context.close()
