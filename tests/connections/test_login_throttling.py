"""Login throttling (django-axes) on both login pages: the dashboards' and the admin's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory

from connections.throttling import client_ip_address

LIMIT = settings.AXES_FAILURE_LIMIT
LOGINS = {
    # url, user fixture, user name, password, a page only that user may open once logged in
    "dashboards": ("/accounts/login/", "viewer", "vera", "pw-vera-123", "/t/acme/"),
    "admin": ("/admin/login/?next=/admin/", "tenant_admin", "adam", "pw-adam-123", "/admin/"),
}


@pytest.fixture(params=sorted(LOGINS))
def login_page(request: pytest.FixtureRequest) -> tuple[str, str, str, str]:
    url, user_fixture, username, password, page = LOGINS[request.param]
    request.getfixturevalue(user_fixture)
    return url, username, password, page


def _fail(client: Client, url: str, username: str, times: int, **extra: str) -> list[int]:
    return [client.post(url, {"username": username, "password": "wrong"}, **extra).status_code for _ in range(times)]


def test_the_defaults_are_five_failures_and_fifteen_minutes() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_it_locks_a_user_out_after_the_failure_limit_and_refuses_the_right_password(client: Client, login_page) -> None:  # noqa: ANN001
    url, username, password, page = login_page

    assert _fail(client, url, username, LIMIT - 1) == [200] * (LIMIT - 1)  # the form again, with its error
    assert _fail(client, url, username, 1) == [429]  # the last allowed failure locks
    response = client.post(url, {"username": username, "password": password})

    assert response.status_code == 429
    content = response.content.decode()
    assert "Too many login attempts" in content
    assert "Try again in 15 minutes" in content
    assert 'class="topbar"' in content  # the app's page, not a bare text
    assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    assert client.get(page).status_code == 302  # still sent to a login page


def test_the_lockout_page_says_when_to_try_again(client: Client, viewer) -> None:  # noqa: ANN001
    _fail(client, "/accounts/login/", "vera", LIMIT)
    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123"})

    attempt = AccessAttempt.objects.get(username="vera")
    retry_at = attempt.attempt_time + timedelta(minutes=15)
    retry_at = retry_at.replace(second=0, microsecond=0) + timedelta(minutes=1)  # rounded up to the minute
    assert f"after <strong>{retry_at:%-d %b %Y %H:%M} UTC</strong>" in response.content.decode()


def test_another_user_from_the_same_address_can_still_log_in(client: Client, viewer, tenant_admin) -> None:  # noqa: ANN001
    _fail(client, "/accounts/login/", "vera", LIMIT)

    response = client.post("/accounts/login/", {"username": "adam", "password": "pw-adam-123"})

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_same_user_from_another_address_can_still_log_in(client: Client, viewer) -> None:  # noqa: ANN001
    _fail(client, "/accounts/login/", "vera", LIMIT, REMOTE_ADDR="198.51.100.7")

    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123"})

    assert response.status_code == 302


def test_a_successful_login_resets_the_failures(client: Client, login_page) -> None:  # noqa: ANN001
    url, username, password, page = login_page
    _fail(client, url, username, LIMIT - 1)
    assert client.post(url, {"username": username, "password": password}).status_code == 302
    client.logout()

    assert _fail(client, url, username, LIMIT - 1) == [200] * (LIMIT - 1)  # counted from zero again
    assert client.post(url, {"username": username, "password": password}).status_code == 302
    assert client.get(page).status_code == 200


def test_the_lockout_ends_after_the_cool_off(client: Client, viewer) -> None:  # noqa: ANN001
    _fail(client, "/accounts/login/", "vera", LIMIT)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16))

    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123"})

    assert response.status_code == 302


def test_nobody_starts_locked_out(client: Client, viewer) -> None:  # noqa: ANN001
    # Attempts live in the database, rolled back after each test: other tests' failures never carry over.
    assert not AccessAttempt.objects.exists()
    assert client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123"}).status_code == 302


def test_the_client_address_is_remote_addr_unless_proxies_are_trusted(settings) -> None:  # noqa: ANN001
    factory = RequestFactory()
    request = factory.post("/accounts/login/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")

    settings.FINOPS_TRUSTED_PROXY_COUNT = 0
    assert client_ip_address(request) == "10.0.0.2"  # a client cannot choose its address by sending the header
    settings.FINOPS_TRUSTED_PROXY_COUNT = 1
    assert client_ip_address(request) == "203.0.113.9"  # what our proxy saw; "1.2.3.4" is the client's claim
    settings.FINOPS_TRUSTED_PROXY_COUNT = 2
    assert client_ip_address(request) == "1.2.3.4"
    settings.FINOPS_TRUSTED_PROXY_COUNT = 3
    assert client_ip_address(request) == "10.0.0.2"  # fewer entries than proxies: not what the proxies sent


def test_behind_a_proxy_users_at_other_addresses_are_not_locked_out(client: Client, viewer, settings) -> None:  # noqa: ANN001
    settings.FINOPS_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    _fail(client, "/accounts/login/", "vera", LIMIT, HTTP_X_FORWARDED_FOR="203.0.113.9", **proxy)

    locked = client.post(
        "/accounts/login/",
        {"username": "vera", "password": "pw-vera-123"},
        HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9",  # the attacker claiming another address
        **proxy,
    )
    elsewhere = Client().post(
        "/accounts/login/",
        {"username": "vera", "password": "pw-vera-123"},
        HTTP_X_FORWARDED_FOR="198.51.100.1",
        **proxy,
    )

    assert locked.status_code == 429
    assert elsewhere.status_code == 302
