"""The support commands: connection_template and diagnose_connection."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from connections.models import AuditLog, AwsConnection, Tenant
from connections.reporting import diagnosis_text
from connections.services import connection_create, connection_set_paused
from connections.validation import CheckResult
from connections.validation import connection_validate as real_connection_validate

GREEN = [
    {"key": "assume_role", "label": "Assume the role", "status": "green", "message": "Assumed.", "findings": []},
    {"key": "cur_bucket", "label": "List the CUR export", "status": "skipped", "message": "No bucket.", "findings": []},
]
RED = [
    GREEN[0],
    {
        "key": "log_group",
        "label": "Read the invocation log group",
        "status": "red",
        "message": "The log group does not exist.",
        "findings": [
            {
                "code": "log_group_missing",
                "title": "The log group does not exist",
                "cause": "No log group /aws/bedrock/invocations.",
                "remedy": "aws logs create-log-group --log-group-name /aws/bedrock/invocations\nthen retry",
                "evidence": "ResourceNotFoundException",
            }
        ],
    },
]


def make_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {"name": "prod", "account_id": "210987654321", "regions": ["us-east-1"]}
    values.update(fields)
    return connection_create(tenant=tenant, **values)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Replace the AWS part: store canned results the way connection_validate does."""
    state: dict[str, Any] = {"results": GREEN, "calls": 0}

    def validate(*, connection: AwsConnection, actor: Any = None) -> list[CheckResult]:
        state["calls"] += 1
        connection.last_validation = state["results"]
        connection.status = "connected" if state["results"] is GREEN else "degraded"
        connection.save()
        return [CheckResult.from_dict(r) for r in state["results"]]

    monkeypatch.setattr("connections.management.commands.diagnose_connection.connection_validate", validate)
    return state


# --- connection_template ---------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "parse"), [("yaml", yaml.safe_load), ("json", json.loads)])
def test_connection_template_prints_a_template_with_the_external_id(tenant, fmt, parse):
    connection = make_connection(tenant)

    output = run("connection_template", str(connection.pk), "--format", fmt)

    template = parse(output)
    assert template["Parameters"]["ExternalId"]["Default"] == connection.external_id
    assert template["Resources"]["Role"]["Type"] == "AWS::IAM::Role"
    entry = AuditLog.objects.get(action="connection.template_downloaded")
    assert entry.details == {"connection_id": connection.pk, "artifact": "role_template", "format": fmt}
    assert entry.actor_label == "system"


def test_connection_template_finds_a_connection_by_name_or_tenant_and_name(tenant, other_tenant):
    acme = make_connection(tenant, name="prod")
    make_connection(other_tenant, name="prod", account_id="111122223333")

    output = run("connection_template", "acme/prod")

    assert acme.external_id in output
    with pytest.raises(CommandError, match="More than one connection is named 'prod'"):
        run("connection_template", "prod")


def test_connection_template_refuses_without_a_backend_account(tenant, settings):
    connection = make_connection(tenant)
    settings.FINOPS_BACKEND_ACCOUNT_ID = ""

    with pytest.raises(CommandError, match="FINOPS_BACKEND_ACCOUNT_ID is not set"):
        run("connection_template", str(connection.pk))
    assert not AuditLog.objects.filter(action="connection.template_downloaded").exists()


@pytest.mark.parametrize("command", ["connection_template", "diagnose_connection"])
def test_an_unknown_connection_is_a_clear_command_error(db, command):
    with pytest.raises(CommandError, match="No connection 'nope'"):
        run(command, "nope")


# --- diagnose_connection ------------------------------------------------------------------------


def test_diagnose_prints_the_diagnosis_text_and_exits_1_when_a_check_is_red(tenant, canned):
    connection = make_connection(tenant)
    canned["results"] = RED
    out = StringIO()

    with pytest.raises(SystemExit) as exited:
        call_command("diagnose_connection", "prod", stdout=out)

    assert exited.value.code == 1
    connection.refresh_from_db()
    assert out.getvalue() == diagnosis_text(connection)
    assert "[FAIL] Read the invocation log group" in out.getvalue()
    assert "Remedy: aws logs create-log-group" in out.getvalue()
    assert canned["calls"] == 1


def test_diagnose_exits_0_when_every_check_is_green(tenant, canned):
    connection = make_connection(tenant)

    output = run("diagnose_connection", str(connection.pk))

    connection.refresh_from_db()
    assert output == diagnosis_text(connection)
    assert "[OK  ] Assume the role" in output
    assert canned["calls"] == 1


def test_diagnose_no_refresh_shows_the_stored_result_without_validating(tenant, canned):
    connection = make_connection(tenant)
    connection.last_validation = RED
    connection.save()

    with pytest.raises(SystemExit) as exited:
        run("diagnose_connection", str(connection.pk), "--no-refresh")

    assert exited.value.code == 1
    assert canned["calls"] == 0


def test_diagnose_no_refresh_exits_1_before_any_validation_when_the_configuration_is_incomplete(tenant, canned):
    make_connection(tenant)  # no role ARN yet

    with pytest.raises(SystemExit) as exited:
        run("diagnose_connection", "prod", "--no-refresh")

    assert exited.value.code == 1
    assert canned["calls"] == 0


def test_diagnose_does_not_validate_a_paused_connection(tenant, canned):
    connection = make_connection(tenant)
    connection.last_validation = GREEN
    connection.save()
    connection_set_paused(connection=connection, paused=True)

    output = run("diagnose_connection", "prod")

    assert "The connection is paused" in output
    assert canned["calls"] == 0


def test_diagnose_uses_the_real_validation_service(tenant):
    """Guard for the monkeypatch target above: the command calls connections.validation.connection_validate."""
    from connections.management.commands import diagnose_connection

    assert diagnose_connection.connection_validate is real_connection_validate
