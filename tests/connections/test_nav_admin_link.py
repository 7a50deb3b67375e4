"""The Admin link is offered only to those the admin lets in: staff and tenant admins."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

LINK = '<a href="/admin/">Admin</a>'


@pytest.mark.parametrize(("who", "shown"), [("viewer", False), ("tenant_admin", True), ("staff", True)])
def test_the_admin_link_follows_admin_access(client: Client, request: Any, tenant: Any, who: str, shown: bool) -> None:
    user = request.getfixturevalue(who)
    client.force_login(user)
    page = client.get("/t/acme/").content.decode()
    assert (LINK in page) is shown
    assert (client.get("/admin/").status_code == 200) is shown  # the link and the door agree
