"""Fixtures for the API tests: a tenant with real-format data (the CUR and invocation-log fixtures, imported
by the importers, so reconciliation and the daily rollup are as in production), an analyst, and tokens."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from connections.models import Membership, Tenant
from connections.services import api_token_create
from ingestion.services import import_cur, import_invocation_logs
from tests.fixtures import make_fixtures as mf

BILLS = [mf.CUR_DIR / "cur2-bedrock-2026-06.csv", mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"]
LOGS = [mf.LOG_DIR / "invocations.jsonl", mf.LOG_DIR / "reconcile-2026-08.jsonl"]


@pytest.fixture
def loaded(tenant: Tenant) -> Tenant:
    import_invocation_logs(tenant=tenant, paths=LOGS)
    import_cur(tenant=tenant, paths=BILLS)
    return tenant


@pytest.fixture
def analyst(tenant: Tenant) -> Any:
    user = get_user_model().objects.create_user("ana", password="pw-ana-123")
    Membership.objects.create(user=user, tenant=tenant, role=Membership.Role.ANALYST)
    return user


def token_for(user: Any, tenant: Tenant | None = None, name: str = "test") -> str:
    return api_token_create(user=user, name=name, tenant=tenant)[1]


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def api(client: Client) -> Client:
    """A client with no session: every call carries its own token."""
    return client
