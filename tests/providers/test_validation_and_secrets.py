"""Validation answers with a remedy (bad key, no admin scope, empty organization); the key is encrypted at
rest, shown masked, and never in the audit log or the logs."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection as db

from connections.models import AuditLog
from providers.models import ProviderConnection
from providers.services import provider_connection_create, provider_connection_validate
from providers.sync import provider_sync

from .conftest import (
    ANTHROPIC,
    ANTHROPIC_KEY,
    OPENAI,
    OPENAI_KEY,
    load,
    mock_anthropic_names,
    mock_openai,
    mock_openai_names,
)


def test_a_revoked_key_is_reported_with_where_to_create_an_admin_key(openai_connection, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{OPENAI}/usage/completions", status=401, json=load("openai/error_401.json"))
    result = provider_connection_validate(connection=openai_connection)
    assert not result.ok and result.status == "invalid"
    assert "401" in result.message
    assert "https://platform.openai.com/settings/organization/admin-keys" in result.remedy
    openai_connection.refresh_from_db()
    assert openai_connection.status == "invalid" and openai_connection.last_remedy == result.remedy


def test_a_project_key_is_told_it_lacks_admin_scope(anthropic_connection, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{ANTHROPIC}/usage_report/messages", status=403, json=load("anthropic/error_403.json"))
    result = provider_connection_validate(connection=anthropic_connection)
    assert result.status == "invalid" and "no admin scope" in result.message
    assert "project or standard API key" in result.remedy and "sk-ant-admin" in result.remedy


def test_an_empty_organization_validates_but_says_there_is_no_usage(openai_connection, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{OPENAI}/usage/completions", json=load("openai/usage_empty.json"))
    mock_openai_names(rsps)
    result = provider_connection_validate(connection=openai_connection)
    assert result.ok and result.status == "empty" and "no usage" in result.message


def test_a_key_with_usage_validates(anthropic_connection, rsps) -> None:  # noqa: ANN001
    rsps.get(f"{ANTHROPIC}/usage_report/messages", json=load("anthropic/usage_messages.json"))
    mock_anthropic_names(rsps)
    result = provider_connection_validate(connection=anthropic_connection)
    assert result.ok and result.status == "valid"
    sent = rsps.calls[0].request.headers
    assert sent["x-api-key"] == ANTHROPIC_KEY and sent["anthropic-version"] == "2023-06-01"


def test_a_bad_key_stops_the_sync_after_the_first_endpoint(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai_names(rsps, status=401)
    rsps.get(f"{OPENAI}/usage/completions", status=401, json=load("openai/error_401.json"))
    result = provider_sync(connection=openai_connection, today=date(2026, 11, 26))
    # The names are listed first: the key is refused there and nothing else is asked.
    assert result.status == "failed" and [e.endpoint for e in result.endpoints] == ["names"]
    assert len(rsps.calls) == 1
    openai_connection.refresh_from_db()
    assert openai_connection.status == "invalid" and "admin-keys" in openai_connection.last_remedy


def test_the_key_is_encrypted_at_rest(openai_connection) -> None:  # noqa: ANN001
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT api_key_encrypted, key_last4 FROM {ProviderConnection._meta.db_table} WHERE id = %s",
            [openai_connection.pk],
        )
        stored, last4 = cursor.fetchone()
    assert OPENAI_KEY not in stored and OPENAI_KEY[4:20] not in stored
    assert last4 == "WXYZ"
    assert ProviderConnection.objects.get(pk=openai_connection.pk).api_key == OPENAI_KEY
    assert openai_connection.masked_key == "…WXYZ"
    assert OPENAI_KEY not in repr(openai_connection) and OPENAI_KEY not in str(openai_connection)


def test_the_key_is_never_in_the_audit_log_or_the_logs(openai_connection, rsps, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.DEBUG)
    rsps.get(f"{OPENAI}/costs", status=429, headers={"retry-after": "1"}, json={})
    mock_openai(rsps)
    provider_connection_validate(connection=openai_connection)
    provider_sync(connection=openai_connection, since=date(2026, 11, 1), until=date(2026, 11, 2), sleep=lambda s: None)
    entries = AuditLog.objects.filter(tenant=openai_connection.tenant)
    actions = set(entries.values_list("action", flat=True))
    assert {"provider.created", "provider.validated", "provider.synced"} <= actions
    for entry in entries:
        assert OPENAI_KEY not in str(entry.details) and OPENAI_KEY not in entry.target
    assert OPENAI_KEY not in caplog.text and OPENAI_KEY[-12:] not in caplog.text


def test_a_key_that_is_not_an_admin_key_shape_is_refused_with_where_to_get_one(tenant) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError) as error:
        provider_connection_create(tenant=tenant, kind="anthropic", name="x", api_key="not-a-key")
    assert "console.anthropic.com/settings/admin-keys" in str(error.value)


def test_a_rotated_secret_key_asks_for_the_key_again(openai_connection, settings) -> None:  # noqa: ANN001
    from providers.crypto import SecretUnreadable

    settings.FINOPS_SECRETS_KEY = "another-key"
    with pytest.raises(SecretUnreadable, match="enter the key again"):
        _ = ProviderConnection.objects.get(pk=openai_connection.pk).api_key
