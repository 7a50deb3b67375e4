"""One test per failure signature: produce the failure (moto, IAM enforcement, Stubber) and expect
the finding with its exact remedy. The Organization signatures are in test_organizations.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core import enable_iam_authentication

from connections import aws
from connections.diagnostics import CATALOGUE, diagnose_stack_error, fill, finding, remedy_for
from connections.models import AwsConnection, Tenant
from connections.validation import CheckResult, run_checks
from tests.connections.test_validation import (  # noqa: F401 (aws_env is a fixture, used by name)
    BACKEND,
    BEDROCK_ROW,
    CUR_BUCKET,
    CUR_DATA_KEY,
    CUSTOMER,
    EC2_ROW,
    LOG_GROUP,
    LOGGING_ROLE,
    ROLE_NAME,
    aws_env,
    by_key,
    create_log_group,
    cur_csv_gz,
    customer_session,
    make_connection,
    put_cur,
    put_invocations,
    stub_bedrock,
    stub_provisioned,
    turn_logging_on,
)

REQUIRED = {
    "external_id_mismatch",
    "backend_account_placeholder",
    "cloudwatch_permission_missing",
    "logging_off_in_region",
    "log_group_region_mismatch",
    "no_events_in_lookback",
    "log_group_unreadable",
    "log_bucket_unreadable",
    "org_list_accounts_denied",
    "member_role_missing",
    "cur_export_missing",
    "cur_no_bedrock_rows",
    "cur_no_iam_principal",
    "cost_allocation_tags_inactive",
    "regions_not_configured",
    "provisioned_throughput_unreadable",
    "scp_denies_create_role",
    "role_arn_missing",
    "role_arn_wrong_account",
}

pytestmark = pytest.mark.usefixtures("aws_env")


def only(results: list[CheckResult], code: str) -> Any:
    found = [f for r in results for f in r.findings if f.code == code]
    assert found, f"no {code} in {[(r.key, [f.code for f in r.findings], r.message) for r in results]}"
    return found[0]


def restricted_role(
    tenant: Tenant,
    actions: list[str],
    *,
    trust_principal: str = "",
    trust_external_id: str = "",
    **fields: Any,
) -> tuple[AwsConnection, Callable[[], boto3.session.Session]]:
    """A backend IAM user and a customer role with only `actions`, in one moto account.

    With IAM enforcement on, moto checks the role's trust policy (principal and ExternalId) and its
    permissions only for roles in the caller's account, so both live in the backend account here."""
    iam = boto3.client("iam", region_name="us-east-1")
    user = iam.create_user(UserName="finops-backend")["User"]
    iam.put_user_policy(
        UserName="finops-backend",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="finops-backend")["AccessKey"]
    connection = make_connection(tenant, account_id=BACKEND, **fields)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": trust_principal or user["Arn"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": trust_external_id or connection.external_id}},
            }
        ],
    }
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        ),
    )

    def backend() -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1"
        )

    return connection, backend


def enforced(connection: AwsConnection, backend: Callable[[], boto3.session.Session]) -> list[CheckResult]:
    with enable_iam_authentication():
        return run_checks(connection, session_factory=backend, scan_regions=[])


# --- the catalogue -----------------------------------------------------------------------------


def test_the_catalogue_holds_every_required_signature_with_a_cause_and_a_remedy():
    assert REQUIRED <= set(CATALOGUE)
    for code, signature in CATALOGUE.items():
        assert signature.code == code
        assert signature.title and signature.cause and signature.remedy
        assert signature.severity in ("red", "amber")


def test_the_trust_policy_remedy_keeps_the_source_ip_condition(tenant: Tenant):
    connection = make_connection(tenant, allowed_source_ips=["203.0.113.0/24"])

    text = remedy_for("external_id_mismatch", connection)

    assert f'"Condition":{{"StringEquals":{{"sts:ExternalId":"{connection.external_id}"}},' in text
    assert '"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}' in text


def test_every_remedy_is_filled_from_the_connection(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = make_connection(tenant, log_group_arn=f"arn:aws:logs:eu-west-1:{CUSTOMER}:log-group:/bedrock/x:*")

    text = remedy_for("log_group_unreadable", connection)

    assert f"arn:aws:logs:eu-west-1:{CUSTOMER}:log-group:/bedrock/x" in text
    assert f"--role-name {ROLE_NAME}" in text
    assert fill("{unknown} and {account_id}", {"account_id": "1"}) == "<unknown> and 1"


# --- 1. role ARN and AssumeRole ----------------------------------------------------------------


def test_role_arn_missing(tenant: Tenant):
    connection = make_connection(tenant, role_arn="")

    results = run_checks(connection, scan_regions=[])

    item = only(results, "role_arn_missing")
    assert by_key(results)["assume_role"].status == "red"
    assert f"aws iam get-role --role-name {connection.role_name} --query Role.Arn --output text" in item.remedy


def test_role_arn_wrong_account(tenant: Tenant):
    connection = make_connection(tenant, role_arn=f"arn:aws:iam::999988887777:role/{ROLE_NAME}")

    item = only(run_checks(connection, scan_regions=[]), "role_arn_wrong_account")

    assert "999988887777" in item.cause and CUSTOMER in item.cause
    assert f"Run in account {CUSTOMER}" in item.remedy


def test_external_id_mismatch(tenant: Tenant):
    connection, backend = restricted_role(
        tenant, ["sts:GetCallerIdentity"], trust_external_id="from-another-connection"
    )

    results = enforced(connection, backend)

    assert by_key(results)["assume_role"].status == "red"
    item = only(results, "external_id_mismatch")
    assert f"aws iam update-assume-role-policy --role-name {ROLE_NAME}" in item.remedy
    assert f'"sts:ExternalId":"{connection.external_id}"' in item.remedy
    assert f'"AWS":"arn:aws:iam::{BACKEND}:root"' in item.remedy
    stack = f"BedrockFinOps-{BACKEND}-{connection.external_id[:8]}"
    assert (
        f"aws cloudformation update-stack --stack-name {stack} --use-previous-template --capabilities "
        f"CAPABILITY_NAMED_IAM --parameters ParameterKey=ExternalId,ParameterValue={connection.external_id} "
        f"ParameterKey=BackendAccountId,ParameterValue={BACKEND}"
    ) in item.remedy
    assert "two causes look the same" in item.evidence
    # AccessDenied cannot tell the two apart: the placeholder is offered as the other cause.
    assert {f.code for f in by_key(results)["assume_role"].findings} == {
        "external_id_mismatch",
        "backend_account_placeholder",
    }


def test_backend_account_placeholder_in_the_stack(tenant: Tenant):
    connection, backend = restricted_role(
        tenant, ["sts:GetCallerIdentity"], trust_principal="arn:aws:iam::000000000000:root"
    )

    item = only(enforced(connection, backend), "backend_account_placeholder")

    assert f'"AWS":"arn:aws:iam::{BACKEND}:root"' in item.remedy
    assert connection.external_id in item.remedy


def test_backend_account_placeholder_is_certain_when_the_backend_id_is_unset(tenant: Tenant, settings: Any):
    connection, backend = restricted_role(
        tenant, ["sts:GetCallerIdentity"], trust_principal="arn:aws:iam::000000000000:root"
    )
    settings.FINOPS_BACKEND_ACCOUNT_ID = ""

    results = enforced(connection, backend)

    assert [f.code for f in by_key(results)["assume_role"].findings] == ["backend_account_placeholder"]
    item = only(results, "backend_account_placeholder")
    assert item.evidence.startswith("Certain: FINOPS_BACKEND_ACCOUNT_ID is not set")
    assert "aws sts get-caller-identity --query Account --output text" in item.remedy
    assert '"AWS":"arn:aws:iam::<backend_account_id>:root"' in item.remedy  # nothing pretends to be known


def test_assume_role_failed_when_the_backend_credentials_are_bad(tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    real_client = aws.client

    def client(session: Any, service: str, region: str | None = None) -> Any:
        made = real_client(session, service, region)
        if service == "sts":
            stubber = Stubber(made)
            stubber.add_client_error("assume_role", service_error_code="InvalidClientTokenId", http_status_code=403)
            stubber.activate()
        return made

    monkeypatch.setattr(aws, "client", client)

    item = only(run_checks(make_connection(tenant), scan_regions=[]), "assume_role_failed")

    assert "InvalidClientTokenId" in item.evidence
    assert "aws sts get-caller-identity" in item.remedy


# --- 2. CloudWatch -----------------------------------------------------------------------------


def test_cloudwatch_permission_missing(tenant: Tenant):
    # A hand-rolled role: ListMetrics but no GetMetricData. moto names CloudWatch actions
    # "monitoring:*" (the endpoint prefix), AWS names them "cloudwatch:*"; both are listed.
    connection, backend = restricted_role(tenant, ["cloudwatch:ListMetrics", "monitoring:ListMetrics"])

    results = enforced(connection, backend)

    assert by_key(results)["assume_role"].status == "green"
    assert by_key(results)["cloudwatch_read"].status == "red"
    item = only(results, "cloudwatch_permission_missing")
    assert "GetMetricData" in item.evidence
    assert f"aws iam put-role-policy --role-name {ROLE_NAME} --policy-name BedrockFinOpsCloudWatchRead" in item.remedy
    assert '"Action":["cloudwatch:GetMetricData","cloudwatch:GetMetricStatistics","cloudwatch:ListMetrics"]' in (
        item.remedy
    )
    assert "namespace condition" in item.cause


# --- 3. logging configuration ------------------------------------------------------------------


def test_logging_off_in_region(tenant: Tenant):
    session = customer_session()
    turn_logging_on(session, "us-east-1")
    connection = make_connection(
        tenant,
        regions=["us-east-1", "us-west-2"],
        log_group_arn=f"arn:aws:logs:us-east-1:{CUSTOMER}:log-group:{LOG_GROUP}:*",
    )

    results = run_checks(connection, scan_regions=[])

    checks = by_key(results)
    assert checks["logging_config:us-east-1"].status == "green"
    assert checks["logging_config:us-west-2"].status == "red"
    item = only(results, "logging_off_in_region")
    assert "aws bedrock put-model-invocation-logging-configuration --region us-west-2" in item.remedy
    assert f"aws logs create-log-group --region us-west-2 --log-group-name {LOG_GROUP}" in item.remedy
    assert f'"roleArn":"{LOGGING_ROLE}"' in item.remedy  # reused from the region where logging is on
    for delivery in ("text", "image", "embedding", "video"):
        assert f'"{delivery}DataDeliveryEnabled":false' in item.remedy


def test_logging_config_unreadable(tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    def prime(stubber: Stubber) -> None:
        stubber.add_client_error(
            "get_model_invocation_logging_configuration",
            service_error_code="AccessDeniedException",
            http_status_code=403,
        )

    stub_bedrock(monkeypatch, prime, {"GetModelInvocationLoggingConfiguration"})

    item = only(run_checks(make_connection(tenant), scan_regions=[]), "logging_config_unreadable")

    assert "bedrock:GetModelInvocationLoggingConfiguration" in item.remedy


# --- 4. regions --------------------------------------------------------------------------------


def test_log_group_region_mismatch(tenant: Tenant):
    # Logging in us-east-1, Invocations in us-west-2: the sync would 'succeed' with zero events forever.
    session = customer_session()
    turn_logging_on(session, "us-east-1")
    arn = create_log_group(session, "us-east-1", events=0)
    put_invocations(session, "us-west-2", 40)
    connection = make_connection(tenant, regions=["us-east-1"], log_group_arn=arn)

    results = run_checks(connection, scan_regions=["us-west-2", "eu-central-1"])

    item = only(results, "log_group_region_mismatch")
    assert by_key(results)["regions"].status == "red"
    assert "us-west-2" in item.title and "us-east-1" in item.title
    assert "40 Invocations in us-west-2" in item.evidence
    assert "aws bedrock put-model-invocation-logging-configuration --region us-west-2" in item.remedy
    assert f"aws logs create-log-group --region us-west-2 --log-group-name {LOG_GROUP}" in item.remedy


def test_no_region_mismatch_is_claimed_when_logging_is_on_nowhere(tenant: Tenant):
    session = customer_session()
    arn = create_log_group(session, "us-east-1", events=0)
    put_invocations(session, "us-west-2", 40)
    connection = make_connection(tenant, regions=["us-east-1"], log_group_arn=arn)

    results = run_checks(connection, scan_regions=["us-west-2"])

    found = {f.code for r in results for f in r.findings}
    assert "log_group_region_mismatch" not in found
    assert {"logging_off_in_region", "regions_not_configured"} <= found


def test_regions_not_configured(tenant: Tenant):
    session = customer_session()
    put_invocations(session, "us-east-1", 5)
    put_invocations(session, "eu-west-1", 7)
    connection = make_connection(tenant, regions=["us-east-1"])

    results = run_checks(connection, scan_regions=["eu-west-1", "us-west-2"])

    item = only(results, "regions_not_configured")
    assert "eu-west-1" in item.title
    assert "Regions: add eu-west-1" in item.remedy
    assert "--region eu-west-1" in item.remedy
    assert sum(1 for r in results for f in r.findings if f.code == "regions_not_configured") == 1


# --- 5. log group ------------------------------------------------------------------------------


def test_no_events_in_lookback(tenant: Tenant):
    # Logging is on and CloudWatch counts invocations, but nothing reaches the group.
    session = customer_session()
    turn_logging_on(session, "us-east-1")
    put_invocations(session, "us-east-1", 30)
    arn = create_log_group(session, "us-east-1", events=0)
    connection = make_connection(tenant, log_group_arn=arn)

    results = run_checks(connection, scan_regions=[])

    assert by_key(results)["log_group"].status == "amber"
    item = only(results, "no_events_in_lookback")
    assert "CloudWatch counts 30 invocations there" in item.evidence
    assert "aws bedrock get-model-invocation-logging-configuration --region us-east-1" in item.remedy
    assert "ModelInvocationLogsCloudWatchDeliveryFailure" in item.remedy
    assert "24 hours" in item.title


def test_an_empty_log_group_is_fine_when_nothing_was_invoked(tenant: Tenant):
    session = customer_session()
    turn_logging_on(session, "us-east-1")
    connection = make_connection(tenant, log_group_arn=create_log_group(session, "us-east-1", events=0))

    check = by_key(run_checks(connection, scan_regions=[]))["log_group"]

    assert check.status == "green"
    assert "CloudWatch counts no invocations in us-east-1" in check.message


def test_log_group_missing(tenant: Tenant):
    turn_logging_on(customer_session(), "us-east-1")
    connection = make_connection(tenant, log_group_arn=f"arn:aws:logs:us-east-1:{CUSTOMER}:log-group:{LOG_GROUP}")

    item = only(run_checks(connection, scan_regions=[]), "log_group_missing")

    assert f"aws logs create-log-group --region us-east-1 --log-group-name {LOG_GROUP}" in item.remedy


def test_log_group_unreadable(tenant: Tenant):
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName=LOG_GROUP)
    connection, backend = restricted_role(
        tenant,
        ["cloudwatch:*", "monitoring:*", "bedrock:*"],
        log_group_arn=f"arn:aws:logs:us-east-1:{BACKEND}:log-group:{LOG_GROUP}:*",
    )

    results = enforced(connection, backend)

    assert by_key(results)["log_group"].status == "red"
    item = only(results, "log_group_unreadable")
    assert f"aws iam put-role-policy --role-name {ROLE_NAME} --policy-name BedrockFinOpsLogsRead" in item.remedy
    assert f'"arn:aws:logs:us-east-1:{BACKEND}:log-group:{LOG_GROUP}:*"' in item.remedy
    assert "logs:FilterLogEvents" in item.remedy


def test_log_group_not_logging_target(tenant: Tenant):
    session = customer_session()
    turn_logging_on(session, "us-east-1", group="/aws/bedrock/other")
    arn = create_log_group(session, "us-east-1")
    connection = make_connection(tenant, log_group_arn=arn)

    item = only(run_checks(connection, scan_regions=[]), "log_group_not_logging_target")

    assert "/aws/bedrock/other" in item.title
    assert "--log-group-name-prefix /aws/bedrock/other" in item.remedy


# --- 6. log bucket -----------------------------------------------------------------------------


def test_log_bucket_missing(tenant: Tenant):
    item = only(run_checks(make_connection(tenant, log_bucket="gone-bucket"), scan_regions=[]), "log_bucket_missing")

    assert "aws s3api head-bucket --bucket gone-bucket" in item.remedy


def test_log_bucket_unreadable(tenant: Tenant):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="acme-logs")
    connection, backend = restricted_role(
        tenant, ["cloudwatch:*", "monitoring:*"], log_bucket="acme-logs", log_prefix="bedrock/"
    )

    results = enforced(connection, backend)

    item = only(results, "log_bucket_unreadable")
    assert f"--role-name {ROLE_NAME} --policy-name BedrockFinOpsLogBucketRead" in item.remedy
    assert '"Resource":"arn:aws:s3:::acme-logs"' in item.remedy
    assert "s3://acme-logs/bedrock/" in item.cause


# --- 7. CUR ------------------------------------------------------------------------------------


def cur_connection(tenant: Tenant) -> AwsConnection:
    return make_connection(tenant, cur_bucket=CUR_BUCKET, cur_prefix="cur2", cur_export_name="bedrock-cur2")


def test_cur_bucket_missing(tenant: Tenant):
    item = only(run_checks(cur_connection(tenant), scan_regions=[]), "cur_bucket_missing")

    assert f"aws s3api head-bucket --bucket {CUR_BUCKET}" in item.remedy


def test_cur_bucket_unreadable(tenant: Tenant):
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=CUR_BUCKET)
    connection, backend = restricted_role(
        tenant, ["cloudwatch:*", "monitoring:*"], cur_bucket=CUR_BUCKET, cur_export_name="bedrock-cur2"
    )

    item = only(enforced(connection, backend), "cur_bucket_unreadable")

    assert f'"Resource":"arn:aws:s3:::{CUR_BUCKET}/*"' in item.remedy


def test_cur_export_missing(tenant: Tenant):
    customer_session().client("s3").create_bucket(Bucket=CUR_BUCKET)

    results = run_checks(cur_connection(tenant), scan_regions=[])

    assert by_key(results)["cur_bucket"].status == "red"
    assert by_key(results)["cur_contents"].status == "skipped"
    item = only(results, "cur_export_missing")
    assert f"aws s3 ls s3://{CUR_BUCKET}/cur2/bedrock-cur2/ --recursive" in item.remedy
    assert "aws bcm-data-exports create-export --region us-east-1" in item.remedy
    assert f'"S3Bucket":"{CUR_BUCKET}","S3Prefix":"cur2"' in item.remedy
    assert '"INCLUDE_IAM_PRINCIPAL_DATA":"TRUE"' in item.remedy
    assert '"Name":"bedrock-cur2"' in item.remedy


def test_cur_no_bedrock_rows(tenant: Tenant):
    put_cur(customer_session(), cur_csv_gz([EC2_ROW, EC2_ROW]))

    results = run_checks(cur_connection(tenant), scan_regions=[])

    assert by_key(results)["cur_contents"].status == "red"
    item = only(results, "cur_no_bedrock_rows")
    assert CUR_DATA_KEY + ".csv.gz" in item.cause
    assert "aws ce get-cost-and-usage --time-period Start=2026-06-01,End=2026-07-01" in item.remedy
    assert '"Values":["Amazon Bedrock"]' in item.remedy


def test_cur_no_iam_principal(tenant: Tenant):
    columns = [c for c in BEDROCK_ROW if c != "line_item_iam_principal"]
    put_cur(customer_session(), cur_csv_gz([BEDROCK_ROW], columns))

    item = only(run_checks(cur_connection(tenant), scan_regions=[]), "cur_no_iam_principal")

    assert "has no line_item_iam_principal column" in item.evidence
    assert "Data Exports > bedrock-cur2 > Edit" in item.remedy
    assert "Include caller identity (IAM principal) allocation data" in item.remedy


def test_cur_no_iam_principal_when_the_column_is_empty(tenant: Tenant):
    put_cur(customer_session(), cur_csv_gz([{**BEDROCK_ROW, "line_item_iam_principal": ""}]))

    item = only(run_checks(cur_connection(tenant), scan_regions=[]), "cur_no_iam_principal")

    assert "empty on all 1 Bedrock rows" in item.evidence


def test_cost_allocation_tags_inactive(tenant: Tenant):
    put_cur(customer_session(), cur_csv_gz([{**BEDROCK_ROW, "tags": json.dumps({"resourceTags/team": "ds"})}]))

    results = run_checks(cur_connection(tenant), scan_regions=[])

    assert by_key(results)["cur_contents"].status == "amber"
    item = only(results, "cost_allocation_tags_inactive")
    assert "Cost allocation tags" in item.remedy
    assert "aws ce update-cost-allocation-tags-status --cost-allocation-tags-status" in item.remedy
    assert "TagKey=iamPrincipal/team,Status=Active" in item.remedy
    assert "TagKey=iamPrincipal/cost-center,Status=Active" in item.remedy


# --- 8. provisioned throughput -----------------------------------------------------------------


def test_provisioned_throughput_unreadable(tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    stub_provisioned(monkeypatch, error="AccessDeniedException")

    results = run_checks(make_connection(tenant), scan_regions=[])

    assert by_key(results)["provisioned_throughput"].status == "red"
    item = only(results, "provisioned_throughput_unreadable")
    assert f"aws iam put-role-policy --role-name {ROLE_NAME}" in item.remedy
    assert "bedrock:ListProvisionedModelThroughputs" in item.remedy
    assert "us-east-1" in item.evidence


# --- 10. CloudFormation stack errors -----------------------------------------------------------

SCP_MESSAGE = (
    'Resource handler returned message: "User: arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin/jo '
    "is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::111122223333:role/BedrockFinOps-Reader "
    'with an explicit deny in a service control policy (Service: Iam, Status Code: 403)"'
)


def test_scp_denies_create_role(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = make_connection(tenant)

    found = diagnose_stack_error(SCP_MESSAGE, connection)

    assert [f.code for f in found] == ["scp_denies_create_role"]
    assert "Role path prefix" in found[0].remedy and "/customer-managed/" in found[0].remedy
    assert "aws organizations list-policies --filter SERVICE_CONTROL_POLICY" in found[0].remedy
    assert "iam:CreateRole" in found[0].evidence


def test_other_stack_errors_are_recognised(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = make_connection(tenant)

    assert [f.code for f in diagnose_stack_error("Requires capabilities : [CAPABILITY_NAMED_IAM]", connection)] == [
        "stack_capabilities_missing"
    ]
    placeholder = 'Invalid principal in policy: "AWS":"arn:aws:iam::000000000000:root" (Service: Iam)'
    found = diagnose_stack_error(placeholder, connection)
    assert [f.code for f in found] == ["backend_account_placeholder"]
    assert f"arn:aws:iam::{BACKEND}:root" in found[0].remedy
    assert diagnose_stack_error("Rate exceeded", connection) == []


def test_a_finding_keeps_its_evidence_and_fills_extra_values(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = make_connection(tenant)

    item = finding("logging_off_in_region", connection, evidence="seen", region="ap-south-1")

    assert item.evidence == "seen"
    assert item.title == "Model invocation logging is off in ap-south-1"
    assert item.as_dict()["code"] == "logging_off_in_region"
