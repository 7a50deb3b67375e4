from __future__ import annotations

from django.test import Client


def test_a_customer_admin_logs_into_the_admin_with_the_login_form(client: Client, tenant_admin) -> None:  # noqa: ANN001
    response = client.post("/admin/login/?next=/admin/", {"username": "adam", "password": "pw-adam-123"})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_viewer_is_refused_by_the_admin_login_with_a_reason(client: Client, viewer) -> None:  # noqa: ANN001
    response = client.post("/admin/login/?next=/admin/", {"username": "vera", "password": "pw-vera-123"})
    assert response.status_code == 200
    assert "cannot use the admin" in response.content.decode()


def test_a_viewer_logs_into_the_dashboards(client: Client, viewer) -> None:  # noqa: ANN001
    response = client.post("/accounts/login/", {"username": "vera", "password": "pw-vera-123", "next": "/t/acme/"})
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    assert client.get("/t/acme/").status_code == 200


def test_a_wrong_password_says_so(client: Client, viewer) -> None:  # noqa: ANN001
    response = client.post("/accounts/login/", {"username": "vera", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_pages_send_anonymous_users_to_the_login_page(client: Client, tenant) -> None:  # noqa: ANN001
    response = client.get("/t/acme/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/t/acme/")
