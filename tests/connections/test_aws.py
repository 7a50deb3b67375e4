"""connections.aws: clients, the credential cache, audited role assumptions, errors, endpoints."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from moto.sts.models import sts_backends

from connections import aws
from connections.models import AuditLog, Tenant
from tests.connections.test_validation import (  # noqa: F401 (aws_env is a fixture, used by name)
    CUSTOMER,
    ROLE_NAME,
    aws_env,
    make_connection,
)


def assumed_roles(account: str = CUSTOMER) -> list[Any]:
    return list(sts_backends[account]["aws"].assumed_roles)


def role_audits() -> list[AuditLog]:
    return list(AuditLog.objects.filter(action="connection.role_assumed").order_by("id"))


@pytest.mark.usefixtures("aws_env")
def test_clients_use_standard_retries_and_our_user_agent():
    client = aws.client(aws.backend_session(), "s3", "eu-west-1")

    assert client.meta.config.retries["mode"] == "standard"
    assert "bedrock-finops" in client.meta.config.user_agent_extra
    assert client.meta.region_name == "eu-west-1"


def test_the_backend_session_starts_in_the_configured_region(settings: Any):
    settings.FINOPS_AWS_REGION = "eu-central-1"

    assert aws.backend_session().region_name == "eu-central-1"
    assert aws.client(aws.backend_session(), "sts").meta.region_name == "eu-central-1"


@pytest.mark.usefixtures("aws_env")
def test_assuming_the_role_passes_the_external_id_and_is_audited(tenant: Tenant):
    connection = make_connection(tenant)

    session = aws.assume_connection_role(connection)

    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{CUSTOMER}:assumed-role/{ROLE_NAME}/bedrock-finops-{connection.pk}"
    (assumed,) = assumed_roles()
    assert assumed.external_id == connection.external_id
    assert assumed.role_arn == connection.role_arn
    (entry,) = role_audits()
    assert entry.tenant == tenant
    assert entry.target == connection.role_arn
    assert entry.details["ok"] is True
    assert entry.actor_label == "system"


@pytest.mark.usefixtures("aws_env")
def test_cache_hits_are_not_audited_and_do_not_assume_again(tenant: Tenant):
    connection = make_connection(tenant)

    first = aws.assume_connection_role(connection)
    second = aws.assume_connection_role(connection)

    assert first is second
    assert len(assumed_roles()) == 1
    assert len(role_audits()) == 1


@pytest.mark.usefixtures("aws_env")
def test_cached_credentials_are_refreshed_five_minutes_before_they_expire(tenant: Tenant):
    connection = make_connection(tenant)
    start = aws._utcnow()
    first = aws.assume_connection_role(connection, now=start)
    expires = aws._cache[(connection.role_arn, connection.external_id)].expires_at
    assert timedelta(minutes=55) < expires - start <= timedelta(hours=1, minutes=1)

    assert aws.assume_connection_role(connection, now=expires - timedelta(minutes=6)) is first
    assert len(role_audits()) == 1

    refreshed = aws.assume_connection_role(connection, now=expires - timedelta(minutes=4))

    assert refreshed is not first
    assert len(assumed_roles()) == 2
    assert len(role_audits()) == 2


@pytest.mark.usefixtures("aws_env")
def test_clearing_the_cache_forces_a_new_assumption(tenant: Tenant):
    connection = make_connection(tenant)
    aws.assume_connection_role(connection)

    aws.clear_credential_cache()
    aws.assume_connection_role(connection)

    assert len(role_audits()) == 2


@pytest.mark.usefixtures("aws_env")
def test_each_role_and_external_id_has_its_own_cache_entry(tenant: Tenant):
    one = make_connection(tenant, name="one")
    two = make_connection(tenant, name="two")

    aws.assume_connection_role(one)
    aws.assume_connection_role(two)

    assert {a.external_id for a in assumed_roles()} == {one.external_id, two.external_id}
    assert len(role_audits()) == 2


@pytest.mark.usefixtures("aws_env")
def test_a_failed_assumption_is_audited_and_raises_aws_error(tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    real_client = aws.client

    def client(session: Any, service: str, region: str | None = None) -> Any:
        made = real_client(session, service, region)
        stubber = Stubber(made)
        stubber.add_client_error(
            "assume_role", service_error_code="AccessDenied", service_message="not authorized", http_status_code=403
        )
        stubber.activate()
        return made

    monkeypatch.setattr(aws, "client", client)
    connection = make_connection(tenant)

    with pytest.raises(aws.AwsError) as caught:
        aws.assume_connection_role(connection)

    assert caught.value.code == "AccessDenied"
    assert caught.value.access_denied
    assert caught.value.operation == "sts:AssumeRole"
    (entry,) = role_audits()
    assert entry.details == {
        "connection_id": connection.pk,
        "ok": False,
        "error": "AccessDenied",
        "message": "not authorized",
    }


def test_a_connection_without_role_arn_raises_without_calling_aws(tenant: Tenant):
    with pytest.raises(aws.AwsError, match="RoleArnMissing"):
        aws.assume_connection_role(make_connection(tenant, role_arn=""))
    assert role_audits() == []


def test_the_member_role_respects_custom_name_and_path(tenant: Tenant):
    connection = make_connection(tenant, member_role_name="FinOpsMember", role_path_prefix="/customer-managed/")

    assert aws.member_role_arn(connection, "444455556666") == (
        "arn:aws:iam::444455556666:role/customer-managed/FinOpsMember"
    )
    connection.role_path_prefix = ""
    assert aws.member_role_arn(connection, "444455556666") == "arn:aws:iam::444455556666:role/FinOpsMember"


@pytest.mark.usefixtures("aws_env")
def test_the_member_role_is_assumed_from_the_connection_role_cached_and_audited(tenant: Tenant):
    connection = make_connection(tenant, member_role_name="FinOpsMember", role_path_prefix="/cm/")
    member = "444455556666"

    session = aws.assume_member_role(connection, member)
    again = aws.assume_member_role(connection, member)

    assert session is again
    identity = aws.client(session, "sts").get_caller_identity()
    assert identity["Account"] == member
    (assumed,) = assumed_roles(member)
    assert assumed.role_arn == f"arn:aws:iam::{member}:role/cm/FinOpsMember"
    assert assumed.session_name == f"bedrock-finops-{connection.pk}-{member}"
    targets = [(e.target, e.details.get("member_account_id")) for e in role_audits()]
    assert targets == [(connection.role_arn, None), (assumed.role_arn, member)]


@pytest.mark.parametrize(
    ("exc", "code", "denied"),
    [
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListMetrics"),
            "AccessDeniedException",
            True,
        ),
        (
            # An emulator answering a JSON client in XML: botocore reports the status as the code.
            ClientError(
                {
                    "Error": {"Code": "403", "Message": "<Error><Code>AccessDenied</Code><Message>x</Message></Error>"},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "GetMetricData",
            ),
            "AccessDenied",
            True,
        ),
        (NoCredentialsError(), "NoCredentialsError", False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "EndpointConnectionError", False),
        (NotImplementedError("The x action has not been implemented"), "NotImplemented", False),
    ],
)
def test_aws_error_wraps_every_botocore_failure_with_its_code(exc: Exception, code: str, denied: bool):
    with pytest.raises(aws.AwsError) as caught, aws.aws_errors("svc:Op"):
        raise exc

    assert caught.value.code == code
    assert caught.value.access_denied is denied
    assert caught.value.operation == "svc:Op"


# --- AWS_ENDPOINT_URL --------------------------------------------------------------------------

CALLER_IDENTITY = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
<GetCallerIdentityResult><Arn>arn:aws:iam::000011112222:user/emulator</Arn><UserId>AIDAEMULATOR</UserId>
<Account>000011112222</Account></GetCallerIdentityResult>
<ResponseMetadata><RequestId>emulator-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"""


@pytest.fixture
def local_emulator() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A tiny local STS emulator on 127.0.0.1 that records what reaches it (the full moto-server run is in
    test_validation.py)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            seen.append({"body": body, "agent": self.headers.get("User-Agent", ""), "host": self.headers["Host"]})
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(CALLER_IDENTITY)))
            self.end_headers()
            self.wfile.write(CALLER_IDENTITY)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"])
def test_the_standard_endpoint_variables_send_calls_to_a_local_emulator(
    variable: str, local_emulator: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
):
    url, seen = local_emulator
    monkeypatch.setenv(variable, url)

    sts = aws.client(aws.backend_session(), "sts")

    assert sts.meta.endpoint_url == url
    assert aws.caller_account(aws.backend_session()) == "000011112222"
    assert len(seen) == 1
    assert "Action=GetCallerIdentity" in seen[0]["body"]
    assert "bedrock-finops" in seen[0]["agent"]
    assert seen[0]["host"] == url.removeprefix("http://")
