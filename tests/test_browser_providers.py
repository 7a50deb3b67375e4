"""The provider pages in a real browser: the Validate button (htmx) shows a refused key's result and remedy in
place, under the Content-Security-Policy; the list, detail and mapping pages are screenshotted to /tmp.

The provider is a local HTTP server (tests/providers/fake_api.py) set as FINOPS_OPENAI_BASE_URL: the live
server's requests leave this process's `responses` mocks behind. Needs Debian's chromium (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import Tenant
from providers.models import ProviderConnection
from providers.services import provider_connection_create, provider_connection_validate
from providers.sync import provider_sync
from tests.providers.conftest import OPENAI_KEY
from tests.providers.fake_api import fake_openai
from tests.test_browser import Session, browser  # noqa: F401 (the browser fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
REVOKED_KEY = "sk-admin-revoked-0123456789abcdefDEAD"


@pytest.fixture
def provider(settings: Any) -> Iterator[list[str]]:
    with fake_openai(refused={REVOKED_KEY}) as (url, asked):
        settings.FINOPS_OPENAI_BASE_URL = url
        yield asked


@pytest.fixture
def connections(
    tenant: Tenant, tenant_admin: Any, provider: list[str]
) -> tuple[ProviderConnection, ProviderConnection]:
    good = provider_connection_create(tenant=tenant, kind="openai", name="OpenAI production", api_key=OPENAI_KEY,
                                      organization_id="org-acme", actor=tenant_admin)  # fmt: skip
    today = timezone.now().date()
    provider_sync(
        connection=good, since=date(2026, 11, 1), until=date(2026, 11, 2), today=max(today, date(2026, 11, 3))
    )
    bad = provider_connection_create(tenant=tenant, kind="openai", name="OpenAI research", api_key=REVOKED_KEY,
                                     actor=tenant_admin)  # fmt: skip
    return good, bad


@pytest.fixture
def admin_session(browser: Any, live_server: Any, tenant_admin: Any) -> Iterator[Session]:  # noqa: F811
    session = Session(browser, live_server.url)
    session.context.set_default_timeout(10_000)
    session.log_in("adam", "pw-adam-123")
    yield session
    session.context.close()


def test_validate_shows_a_refused_keys_result_and_remedy_in_place(
    admin_session: Session, connections, provider
) -> None:  # noqa: ANN001, E501
    _good, bad = connections
    page = admin_session.page
    admin_session.open(f"/t/acme/providers/{bad.pk}/")
    expect(page.locator("#validation")).to_contain_text("Not validated yet")
    page.evaluate("window.beforeValidate = 'still here'")  # survives only if htmx swaps instead of reloading
    asked = len(provider)
    page.get_by_role("button", name="Validate the key").click()
    validation = page.locator("#validation")
    expect(validation).to_contain_text("Failed")
    expect(validation).to_contain_text("refused the key (HTTP 401")
    expect(validation).to_contain_text("platform.openai.com/settings/organization/admin-keys")
    assert page.evaluate("window.beforeValidate") == "still here"
    assert provider[asked:] == ["/v1/organization/usage/completions"]  # the live server asked our fake OpenAI
    expect(page.get_by_test_id("provider-status")).to_have_text("Key refused")  # swapped out of band
    assert REVOKED_KEY not in page.content()
    admin_session.screenshot("provider-validate-refused")
    page.reload()
    expect(page.get_by_test_id("provider-status")).to_have_text("Key refused")
    assert admin_session.problems == []


def test_the_provider_pages_render_for_a_screenshot(admin_session: Session, connections) -> None:  # noqa: ANN001
    good, bad = connections
    provider_connection_validate(connection=bad)
    page = admin_session.page
    admin_session.open("/t/acme/providers/")
    expect(page.get_by_test_id("provider-row")).to_have_count(2)
    problem = page.get_by_test_id("provider-problem")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("What to do: Create an Admin key")
    admin_session.screenshot("providers-list")
    admin_session.open(f"/t/acme/providers/{good.pk}/")
    expect(page.get_by_test_id("runs")).to_contain_text("names")
    expect(page.get_by_test_id("last-sync")).to_have_text("succeeded")
    admin_session.screenshot("provider-detail")
    admin_session.open(f"/t/acme/providers/{good.pk}/mapping/")
    expect(page.get_by_test_id("mapping-row")).to_have_count(2)
    expect(page.get_by_test_id("mapping")).to_contain_text("Search backend")
    admin_session.screenshot("provider-mapping")
    assert admin_session.problems == []
    assert timedelta(0) <= timezone.now() - good.created_at
