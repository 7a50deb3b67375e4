from __future__ import annotations

import re
from datetime import UTC, date, datetime

from django.test import Client

from connections.models import Tenant
from lifecycle.deletion import deletion_request_cancel, deletion_request_create
from tests.lifecycle.conftest import Row


def _text(response) -> str:  # noqa: ANN001
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_page_shows_retention_and_the_oldest_data_kept(
    client: Client, viewer, tenant: Tenant, ledgers: dict[str, list[Row]]
) -> None:  # noqa: ANN001
    Tenant.objects.filter(pk=tenant.pk).update(retention_months=18)
    client.force_login(viewer)
    response = client.get("/t/acme/data/")
    assert response.status_code == 200
    text = _text(response)
    oldest = min(r.usage_date for r in ledgers["acme"])
    assert oldest == date(2025, 1, 3)
    assert '<dd data-testid="oldest">3 Jan 2025</dd>' in text
    assert "18 months and the current month" in text
    assert f"{len(ledgers['acme']):,}" in text
    assert 'data-testid="pending-deletion"' not in text
    assert 'href="/t/acme/data/"' in text  # in the navigation


def test_the_page_shows_a_pending_deletion_with_its_due_date(client: Client, viewer, tenant: Tenant) -> None:  # noqa: ANN001
    request = deletion_request_create(tenant=tenant, scope="all", now=datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
    client.force_login(viewer)
    text = _text(client.get("/t/acme/data/"))
    assert 'data-testid="pending-deletion"' in text
    assert "Due <strong>1 Jul 2026 09:30 UTC</strong>" in text
    assert request.due_at == datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    deletion_request_cancel(request=request)
    text = _text(client.get("/t/acme/data/"))
    assert 'data-testid="pending-deletion"' not in text
    assert "Cancelled" in text


def test_an_outsider_gets_404(client: Client, outsider, tenant: Tenant) -> None:  # noqa: ANN001
    deletion_request_create(tenant=tenant, scope="all")
    client.force_login(outsider)
    assert client.get("/t/acme/data/").status_code == 404
    assert client.post("/t/acme/data/").status_code == 405


def test_staff_see_any_tenant(client: Client, staff, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(staff)
    assert client.get("/t/acme/data/").status_code == 200
