"""Shared fixtures: one tenant with a viewer and an admin, and an outsider in another tenant."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from hypothesis import settings as hypothesis_settings

from connections.models import Membership, Tenant

FIXTURES = Path(__file__).parent / "fixtures"

# Property tests: a fixed, fast set in every CI run; `make fuzz` explores thousands of new examples.
hypothesis_settings.register_profile("ci", max_examples=150, derandomize=True, database=None)
hypothesis_settings.register_profile("fuzz", max_examples=3000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach AWS: fake credentials so a stray client cannot use real ones."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture(autouse=True)
def _backend_account(settings) -> None:  # noqa: ANN001
    """The account customers' roles trust; moto's default account, so assumed roles work in moto."""
    settings.FINOPS_BACKEND_ACCOUNT_ID = "123456789012"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def tenant(db) -> Tenant:  # noqa: ANN001
    return Tenant.objects.create(slug="acme", name="Acme Corp")


@pytest.fixture
def other_tenant(db) -> Tenant:  # noqa: ANN001
    return Tenant.objects.create(slug="globex", name="Globex")


@pytest.fixture
def viewer(tenant: Tenant):  # noqa: ANN201
    user = get_user_model().objects.create_user("vera", password="pw-vera-123")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.VIEWER)
    return user


@pytest.fixture
def tenant_admin(tenant: Tenant):  # noqa: ANN201
    user = get_user_model().objects.create_user("adam", password="pw-adam-123", is_staff=False)
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def outsider(other_tenant: Tenant):  # noqa: ANN201
    user = get_user_model().objects.create_user("otto", password="pw-otto-123")
    Membership.objects.create(user=user, tenant=other_tenant, role=Membership.Role.ADMIN)
    return user


@pytest.fixture
def staff(db):  # noqa: ANN001, ANN201
    return get_user_model().objects.create_user("stella", password="pw-stella-123", is_staff=True, is_superuser=True)


CHROMIUM_PATH = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    browser_tests = [item for item in items if "browser" in item.keywords]
    if browser_tests and not CHROMIUM_PATH.exists():
        if os.environ.get("CI") or os.environ.get("FINOPS_REQUIRE_BROWSER"):
            # In CI the browser tests must run: a missing browser fails the run instead of skipping them.
            raise pytest.UsageError(
                f"{len(browser_tests)} browser tests need Chromium at {CHROMIUM_PATH} and CI requires them: "
                "install it with `apt-get install chromium` (.ci/run does when it runs as root)."
            )
        no_browser = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM_PATH}: apt-get install chromium")
        for item in browser_tests:
            item.add_marker(no_browser)
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
