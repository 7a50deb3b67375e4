from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from connections.models import AuditLog, AwsConnection, Tenant
from connections.services import (
    connection_create,
    connection_delete,
    connection_set_paused,
    connection_update,
)


def _create(tenant: Tenant, **fields: object) -> AwsConnection:
    return connection_create(tenant=tenant, name=fields.pop("name", "prod"), account_id="210987654321", **fields)


def test_it_generates_a_random_external_id_and_ignores_one_given(tenant: Tenant) -> None:
    first = _create(tenant, external_id="chosen-by-user")
    second = _create(tenant, name="dev")
    assert re.fullmatch(r"[0-9a-f]{32}", first.external_id)
    assert first.external_id != "chosen-by-user"
    assert first.external_id != second.external_id
    assert first.role_name == f"BedrockFinOps-BedrockReader-{first.external_id}"
    assert AuditLog.objects.filter(action="connection.created", tenant=tenant).count() == 2


def test_the_external_id_never_changes(tenant: Tenant) -> None:
    connection = _create(tenant)
    connection.external_id = "f" * 32
    with pytest.raises(ValueError, match="never changes"):
        connection.save()
    with pytest.raises(ValueError, match="never changes"):
        connection_update(connection=AwsConnection.objects.get(pk=connection.pk), external_id="x")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("account_id", "12345", "exactly 12 digits"),
        ("role_path_prefix", "customer-managed", 'starts and ends with "/"'),
        ("regions", ["useast1"], "not an AWS region code"),
        ("role_arn", "arn:aws:iam::1:role/x", "Paste the role ARN"),
    ],
)
def test_bad_input_names_the_field(tenant: Tenant, field: str, value: object, message: str) -> None:
    fields = {"account_id": "210987654321", field: value}
    with pytest.raises(ValidationError) as caught:
        connection_create(tenant=tenant, name="bad", **fields)
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not AwsConnection.objects.exists()


def test_an_edit_is_audited_and_asks_for_a_new_validation(tenant: Tenant, tenant_admin) -> None:  # noqa: ANN001
    connection = _create(tenant)
    connection.status = AwsConnection.Status.CONNECTED
    connection.save()
    connection_update(connection=connection, actor=tenant_admin, regions=["us-east-1", "us-west-2"])
    connection.refresh_from_db()
    assert connection.regions == ["us-east-1", "us-west-2"]
    assert connection.status == AwsConnection.Status.PENDING
    entry = AuditLog.objects.get(action="connection.edited")
    assert entry.actor_label == "adam" and entry.details["fields"] == ["regions"]


def test_pause_resume_and_delete_are_audited(tenant: Tenant) -> None:
    connection = _create(tenant)
    connection_set_paused(connection=connection, paused=True)
    assert AwsConnection.objects.get(pk=connection.pk).status == AwsConnection.Status.PAUSED
    connection_set_paused(connection=connection, paused=False)
    assert AwsConnection.objects.get(pk=connection.pk).status == AwsConnection.Status.PENDING
    connection_delete(connection=connection)
    assert not AwsConnection.objects.exists()
    actions = list(AuditLog.objects.filter(tenant=tenant).order_by("id").values_list("action", flat=True))
    assert actions == ["connection.created", "connection.paused", "connection.resumed", "connection.deleted"]


def test_create_connection_prints_the_id_and_external_id(db) -> None:  # noqa: ANN001
    out = StringIO()
    call_command(
        "create_connection",
        "--tenant=newco",
        "--name=org",
        "--account-id=210987654321",
        "--mode=organization",
        "--member-role-name=AWSControlTowerExecution",
        "--role-path-prefix=/customer-managed/",
        "--regions=us-east-1,eu-west-1",
        "--cur-bucket=cur-bucket",
        "--cur-prefix=cur2",
        "--cur-export-name=bedrock-cur2",
        "--log-group-arn=arn:aws:logs:us-east-1:210987654321:log-group:/aws/bedrock/invocations",
        stdout=out,
    )
    connection = AwsConnection.objects.get(name="org")
    text = out.getvalue()
    assert "Tenant 'newco' did not exist; created it." in text
    assert f"id: {connection.pk}" in text and f"external_id: {connection.external_id}" in text
    assert connection.mode == AwsConnection.Mode.ORGANIZATION
    assert connection.member_role_name == "AWSControlTowerExecution"
    assert connection.role_path_prefix == "/customer-managed/"
    assert connection.regions == ["us-east-1", "eu-west-1"]


def test_create_connection_refuses_a_bad_account_id_naming_the_option(db) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="--account-id: An AWS account id is exactly 12 digits"):
        call_command("create_connection", "--tenant=newco", "--name=x", "--account-id=123", stdout=StringIO())


def test_a_customer_admin_sees_only_their_connections_and_cannot_edit_the_external_id(
    client: Client,
    tenant_admin,
    tenant,
    other_tenant,  # noqa: ANN001
) -> None:
    ours = _create(tenant, name="ours-prod")
    theirs = connection_create(tenant=other_tenant, name="theirs-secret", account_id="111122223333")
    client.force_login(tenant_admin)
    listing = client.get("/admin/connections/awsconnection/").content.decode()
    assert "ours-prod" in listing and "theirs-secret" not in listing
    assert client.get(f"/admin/connections/awsconnection/{theirs.pk}/change/").status_code == 302
    page = client.get(f"/admin/connections/awsconnection/{ours.pk}/change/").content.decode()
    assert ours.external_id in page  # shown ...
    assert 'name="external_id"' not in page  # ... but not an input
