"""Validation of a connection against a moto account: checks, stored result, status and audit.

The helpers here build a customer account in moto and are shared by the diagnostics and
organization tests."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from connections import aws
from connections.models import AuditLog, AwsConnection, Tenant
from connections.validation import CheckResult, connection_validate, diagnose, overall_status, run_checks

BACKEND = "123456789012"  # moto's account for the fake backend credentials
CUSTOMER = "111122223333"
ROLE_NAME = "BedrockFinOpsReader"
LOG_GROUP = "/aws/bedrock/invocations"
LOGGING_ROLE = f"arn:aws:iam::{CUSTOMER}:role/service-role/BedrockLogging"
CUR_BUCKET = "acme-cur"
LOG_BUCKET = "acme-bedrock-logs"
NOVA_LITE_ARN = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
PT_ARN = f"arn:aws:bedrock:us-east-1:{CUSTOMER}:provisioned-model/abc123def456"
CUR_DATA_KEY = "cur2/bedrock-cur2/data/BILLING_PERIOD=2026-06/bedrock-cur2-00001"


# --- moto account ------------------------------------------------------------------------------


@pytest.fixture
def aws_env(settings: Any) -> Iterator[None]:
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    settings.FINOPS_AWS_REGION = "us-east-1"
    aws.clear_credential_cache()
    with mock_aws():
        yield
    aws.clear_credential_cache()


def customer_session(account: str = CUSTOMER) -> boto3.session.Session:
    """A test-side session inside `account` (moto puts assumed-role sessions in the role's account)."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/test-setup", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-east-1",
    )


def make_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    account = fields.pop("account_id", CUSTOMER)
    values: dict[str, Any] = {
        "name": "prod",
        "account_id": account,
        "role_arn": f"arn:aws:iam::{account}:role/{ROLE_NAME}",
        "regions": ["us-east-1"],
    }
    values.update(fields)
    return AwsConnection.objects.create(tenant=tenant, **values)


def put_invocations(session: boto3.session.Session, region: str, count: float, *, model: str = "amazon.nova-lite-v1:0"):
    session.client("cloudwatch", region_name=region).put_metric_data(
        Namespace="AWS/Bedrock",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [{"Name": "ModelId", "Value": model}],
                "Value": count,
                "Unit": "Count",
                "Timestamp": datetime.now(UTC) - timedelta(hours=1),
            }
        ],
    )


def turn_logging_on(session: boto3.session.Session, region: str, group: str = LOG_GROUP) -> None:
    session.client("bedrock", region_name=region).put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": group, "roleArn": LOGGING_ROLE},
            "textDataDeliveryEnabled": False,
            "imageDataDeliveryEnabled": False,
            "embeddingDataDeliveryEnabled": False,
        }
    )


def create_log_group(session: boto3.session.Session, region: str, *, events: int = 1) -> str:
    logs = session.client("logs", region_name=region)
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="aws/bedrock/modelinvocations")
    if events:
        stamp = int((datetime.now(UTC) - timedelta(hours=1)).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=LOG_GROUP,
            logStreamName="aws/bedrock/modelinvocations",
            logEvents=[{"timestamp": stamp, "message": json.dumps({"schemaType": "ModelInvocationLog"})}] * events,
        )
    return f"arn:aws:logs:{region}:{CUSTOMER}:log-group:{LOG_GROUP}:*"


BEDROCK_ROW = {
    "line_item_usage_account_id": CUSTOMER,
    "line_item_product_code": "AmazonBedrock",
    "product_product_family": "Amazon Bedrock",
    "line_item_usage_type": "USE1-NovaLite-input-tokens",
    "line_item_operation": "InvokeModelInference",
    "line_item_unblended_cost": "0.069",
    "line_item_usage_start_date": "2026-06-03T00:00:00Z",
    "line_item_iam_principal": f"arn:aws:iam::{CUSTOMER}:user/alice",
    "tags": json.dumps({"iamPrincipal/team": "ds", "iamPrincipal/cost-center": "12345"}),
}
EC2_ROW = {
    **BEDROCK_ROW,
    "line_item_product_code": "AmazonEC2",
    "product_product_family": "Compute Instance",
    "line_item_usage_type": "BoxUsage:m5.large",
    "line_item_operation": "RunInstances",
    "line_item_iam_principal": "",
    "tags": "{}",
}


def cur_csv_gz(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    columns = columns or list(BEDROCK_ROW)
    out = io.StringIO()
    import csv

    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return gzip.compress(out.getvalue().encode())


def cur_parquet(rows: list[dict[str, str]]) -> bytes:
    columns = {c: [r[c] for r in rows] for c in BEDROCK_ROW if c != "tags"}
    table = pa.table(
        {
            **{c: pa.array(v, pa.string()) for c, v in columns.items()},
            "tags": pa.array([list(json.loads(r["tags"]).items()) for r in rows], pa.map_(pa.string(), pa.string())),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def put_cur(session: boto3.session.Session, body: bytes, suffix: str = ".csv.gz", *, manifest: bool = True) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket=CUR_BUCKET)
    key = CUR_DATA_KEY + suffix
    s3.put_object(Bucket=CUR_BUCKET, Key=key, Body=body)
    if manifest:
        document = {"executionId": "e1", "columns": [], "dataFiles": [f"s3://{CUR_BUCKET}/{key}"]}
        s3.put_object(
            Bucket=CUR_BUCKET,
            Key="cur2/bedrock-cur2/metadata/BILLING_PERIOD=2026-06/bedrock-cur2-Manifest.json",
            Body=json.dumps(document).encode(),
        )


class PartialStubber(Stubber):
    """A Stubber that answers only the named operations and lets every other call reach moto."""

    def __init__(self, client: Any, operations: set[str]) -> None:
        super().__init__(client)
        self.operations = operations

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        if model.name in self.operations:
            super()._assert_expected_params(model, params, context, **kwargs)

    def _get_response_handler(self, model: Any, params: Any, context: Any, **kwargs: Any) -> Any:
        if model.name in self.operations:
            return super()._get_response_handler(model, params, context, **kwargs)
        return None


def stub_bedrock(monkeypatch: pytest.MonkeyPatch, prime: Callable[[Stubber], None], operations: set[str]) -> None:
    """Every bedrock client the app makes gets a PartialStubber primed by `prime` (moto lacks these calls)."""
    real_client = aws.client

    def client(session: Any, service: str, region: str | None = None) -> Any:
        made = real_client(session, service, region)
        if service == "bedrock":
            stubber = PartialStubber(made, operations)
            prime(stubber)
            stubber.activate()
        return made

    monkeypatch.setattr(aws, "client", client)


def stub_provisioned(monkeypatch: pytest.MonkeyPatch, *, error: str = "", status: int = 403) -> None:
    def prime(stubber: Stubber) -> None:
        if error:
            stubber.add_client_error(
                "list_provisioned_model_throughputs", service_error_code=error, http_status_code=status
            )
        else:
            stubber.add_response(
                "list_provisioned_model_throughputs",
                {
                    "provisionedModelSummaries": [
                        {
                            "provisionedModelName": "nova-pt",
                            "provisionedModelArn": PT_ARN,
                            "modelArn": f"{NOVA_LITE_ARN}:300k",
                            "desiredModelArn": f"{NOVA_LITE_ARN}:300k",
                            "foundationModelArn": NOVA_LITE_ARN,
                            "modelUnits": 1,
                            "desiredModelUnits": 1,
                            "status": "InService",
                            "creationTime": datetime(2026, 6, 1, tzinfo=UTC),
                            "lastModifiedTime": datetime(2026, 6, 1, tzinfo=UTC),
                        }
                    ]
                },
            )

    stub_bedrock(monkeypatch, prime, {"ListProvisionedModelThroughputs"})


def well_configured(tenant: Tenant, **fields: Any) -> AwsConnection:
    """A customer account where everything is right: metrics, logging, logs, log bucket, CUR with principals."""
    session = customer_session()
    put_invocations(session, "us-east-1", 12)
    turn_logging_on(session, "us-east-1")
    arn = create_log_group(session, "us-east-1")
    s3 = session.client("s3")
    s3.create_bucket(Bucket=LOG_BUCKET)
    s3.put_object(Bucket=LOG_BUCKET, Key="bedrock/AWSLogs/x.json.gz", Body=b"x")
    put_cur(session, cur_parquet([BEDROCK_ROW, EC2_ROW]), ".snappy.parquet")
    values: dict[str, Any] = {
        "log_group_arn": arn,
        "log_bucket": LOG_BUCKET,
        "log_prefix": "bedrock/",
        "cur_bucket": CUR_BUCKET,
        "cur_prefix": "cur2",
        "cur_export_name": "bedrock-cur2",
    }
    values.update(fields)
    return make_connection(tenant, **values)


def by_key(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.key: r for r in results}


def codes(results: list[CheckResult]) -> list[str]:
    return [f.code for r in results for f in r.findings]


# --- tests -------------------------------------------------------------------------------------


def test_a_well_configured_account_is_all_green(aws_env: None, tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    stub_provisioned(monkeypatch)
    connection = well_configured(tenant)

    results = run_checks(connection, scan_regions=["us-west-2"])

    assert {r.key: r.status for r in results} == {
        "assume_role": "green",
        "cloudwatch_read": "green",
        "logging_config:us-east-1": "green",
        "regions": "green",
        "log_group": "green",
        "log_bucket": "green",
        "cur_bucket": "green",
        "cur_contents": "green",
        "provisioned_throughput": "green",
    }, [(r.key, r.message, codes([r])) for r in results]
    checks = by_key(results)
    assert "us-east-1 12" in checks["cloudwatch_read"].message
    assert "1 Bedrock row(s), 1 with an IAM principal" in checks["cur_contents"].message
    assert "us-east-1 1" in checks["provisioned_throughput"].message
    assert overall_status(results) == AwsConnection.Status.CONNECTED


def test_the_cur_check_reads_gzip_csv_too(aws_env: None, tenant: Tenant):
    session = customer_session()
    put_cur(session, cur_csv_gz([EC2_ROW, BEDROCK_ROW]), manifest=False)
    connection = make_connection(tenant, cur_bucket=CUR_BUCKET, cur_prefix="cur2/", cur_export_name="bedrock-cur2")

    checks = by_key(run_checks(connection, scan_regions=[]))

    assert checks["cur_bucket"].status == "green"
    assert checks["cur_contents"].status == "green", checks["cur_contents"].message
    assert CUR_DATA_KEY + ".csv.gz" in checks["cur_contents"].message


def test_the_cur_check_reads_every_file_of_the_period_until_it_finds_bedrock(aws_env: None, tenant: Tenant):
    session = customer_session()
    put_cur(session, cur_csv_gz([EC2_ROW]), manifest=False)
    s3 = session.client("s3")
    s3.put_object(Bucket=CUR_BUCKET, Key=CUR_DATA_KEY.replace("00001", "00002") + ".csv.gz", Body=cur_csv_gz([EC2_ROW]))
    s3.put_object(
        Bucket=CUR_BUCKET,
        Key=CUR_DATA_KEY.replace("00001", "00003") + ".csv",
        Body=gzip.decompress(cur_csv_gz([BEDROCK_ROW])),
    )
    connection = make_connection(tenant, cur_bucket=CUR_BUCKET, cur_prefix="cur2", cur_export_name="bedrock-cur2")

    check = by_key(run_checks(connection, scan_regions=[]))["cur_contents"]

    assert check.status == "green", check.message
    assert "1 Bedrock row(s), 1 with an IAM principal, 1 with iamPrincipal/ tags" in check.message


def test_an_emulator_without_provisioned_throughput_gives_skipped_not_red(aws_env: None, tenant: Tenant):
    connection = make_connection(tenant)

    checks = by_key(run_checks(connection, scan_regions=[]))

    assert checks["provisioned_throughput"].status == "skipped"
    assert "NotImplemented" in checks["provisioned_throughput"].message


def test_an_unknown_provisioned_throughput_error_gives_skipped_not_red(
    aws_env: None, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
):
    # What moto's server mode answers for an operation it lacks: a bare 500.
    stub_provisioned(monkeypatch, error="InternalServerException", status=500)

    check = by_key(run_checks(make_connection(tenant), scan_regions=[]))["provisioned_throughput"]

    assert check.status == "skipped"
    assert "us-east-1: InternalServerException" in check.message


def test_unset_sources_are_skipped(aws_env: None, tenant: Tenant):
    checks = by_key(run_checks(make_connection(tenant), scan_regions=[]))

    for key in ("log_group", "log_bucket", "cur_bucket", "cur_contents", "logging_config:us-east-1"):
        assert checks[key].status == "skipped"
    # Logging off is no failure for a connection that reads no logs, but its remedy is still there.
    assert [f.code for f in checks["logging_config:us-east-1"].findings] == ["logging_off_in_region"]
    assert overall_status(list(checks.values())) == AwsConnection.Status.CONNECTED


def test_validate_stores_the_result_the_time_and_the_status_and_audits_it(
    aws_env: None, tenant: Tenant, tenant_admin: Any, monkeypatch: pytest.MonkeyPatch
):
    stub_provisioned(monkeypatch)
    connection = well_configured(tenant)

    results = connection_validate(connection=connection, actor=tenant_admin, scan_regions=[])

    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.CONNECTED
    assert connection.last_validated_at is not None
    assert connection.last_error == ""
    assert connection.last_validation == [r.as_dict() for r in results]
    assert json.loads(json.dumps(connection.last_validation)) == connection.last_validation
    entry = AuditLog.objects.get(action="connection.validated")
    assert entry.tenant == tenant
    assert entry.actor == tenant_admin
    assert entry.details["status"] == "connected"
    assert entry.details["checks"]["assume_role"] == "green"
    assert AuditLog.objects.filter(action="connection.role_assumed", target=connection.role_arn).count() == 1


def test_validate_marks_a_connection_degraded_when_a_check_is_red_but_the_role_works(aws_env: None, tenant: Tenant):
    turn_logging_on(customer_session(), "us-east-1")
    connection = make_connection(tenant, log_bucket="no-such-bucket")

    connection_validate(connection=connection, scan_regions=[])

    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.DEGRADED
    assert connection.last_error.startswith("Read the invocation log bucket: The log bucket does not exist")
    entry = AuditLog.objects.get(action="connection.validated")
    assert "log_bucket_missing" in entry.details["findings"]


def test_validate_marks_a_connection_failed_when_the_role_cannot_be_assumed(aws_env: None, tenant: Tenant):
    connection = make_connection(tenant, role_arn="")

    results = connection_validate(connection=connection)

    connection.refresh_from_db()
    assert connection.status == AwsConnection.Status.FAILED
    assert "No role ARN on the connection" in connection.last_error
    assert by_key(results)["cloudwatch_read"].status == "skipped"
    assert AuditLog.objects.get(action="connection.validated").details["status"] == "failed"


def test_a_paused_connection_is_not_validated(aws_env: None, tenant: Tenant):
    connection = make_connection(tenant, status=AwsConnection.Status.PAUSED)

    with pytest.raises(ValueError, match="paused"):
        connection_validate(connection=connection)

    assert not AuditLog.objects.filter(action__startswith="connection.").exists()
    connection.refresh_from_db()
    assert connection.last_validated_at is None


def test_diagnose_returns_the_stored_findings_without_calling_aws(aws_env: None, tenant: Tenant):
    turn_logging_on(customer_session(), "us-east-1")
    connection = make_connection(tenant, log_bucket="no-such-bucket")
    connection_validate(connection=connection, scan_regions=[])
    connection.refresh_from_db()

    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("diagnose must not call AWS")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "client", no_aws)
        patch.setattr(aws, "backend_session", no_aws)
        found = diagnose(connection)

    assert [f.code for f in found] == ["log_bucket_missing"]
    assert "aws s3api head-bucket --bucket no-such-bucket" in found[0].remedy


def test_diagnose_before_any_validation_shows_what_the_configuration_alone_tells(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = make_connection(tenant, role_arn="")

    assert [f.code for f in diagnose(connection)] == ["role_arn_missing"]


# --- a real local emulator ---------------------------------------------------------------------


@pytest.fixture
def moto_server(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode on a free loopback port, reached only through AWS_ENDPOINT_URL (no mock_aws)."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    settings.FINOPS_AWS_REGION = "us-east-1"
    aws.clear_credential_cache()
    try:
        yield url
    finally:
        aws.clear_credential_cache()
        server.stop()


def test_validation_runs_against_a_local_moto_server_through_aws_endpoint_url(moto_server: str, tenant: Tenant):
    import requests

    connection = well_configured(tenant)

    results = run_checks(connection, scan_regions=["us-west-2"])

    statuses = {r.key: r.status for r in results}
    # Everything moto implements is read from the server exactly as from AWS; the Bedrock
    # provisioned-throughput API moto lacks is skipped, never red.
    assert statuses == {
        "assume_role": "green",
        "cloudwatch_read": "green",
        "logging_config:us-east-1": "green",
        "regions": "green",
        "log_group": "green",
        "log_bucket": "green",
        "cur_bucket": "green",
        "cur_contents": "green",
        "provisioned_throughput": "skipped",
    }, [(r.key, r.message) for r in results]
    state = requests.get(f"{moto_server}/moto-api/data.json", timeout=10).json()
    assert CUR_BUCKET in json.dumps(state.get("s3", state))  # the data really lives in the server
