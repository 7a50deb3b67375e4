"""Organization mode: member accounts enumerated, the member role assumed (custom name and path),
each member's role status recorded, and an account without the role named with its remedy."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto.core import enable_iam_authentication
from moto.sts.models import sts_backends

from connections import aws
from connections.models import AuditLog, AwsConnection, MemberAccount, Tenant
from connections.organizations import member_findings, sync_member_accounts
from connections.validation import run_checks
from tests.connections.test_diagnostics import only, restricted_role
from tests.connections.test_validation import (  # noqa: F401 (aws_env is a fixture, used by name)
    BACKEND,
    CUSTOMER,
    aws_env,
    by_key,
    customer_session,
    make_connection,
)

MEMBER_ROLE = "FinOpsMemberReader"
MEMBER_PATH = "/customer-managed/"

pytestmark = pytest.mark.usefixtures("aws_env")


def organization(session: boto3.session.Session, *names: str) -> dict[str, str]:
    """An organization managed by the session's account, with one member account per name."""
    orgs = session.client("organizations", region_name="us-east-1")
    orgs.create_organization(FeatureSet="ALL")
    ids = {}
    for name in names:
        status = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        ids[name] = status["AccountId"]
    return ids


def member_audits() -> dict[str, bool]:
    """member account -> ok, from the role-assumption audit entries."""
    entries = AuditLog.objects.filter(action="connection.role_assumed")
    return {e.details["member_account_id"]: e.details["ok"] for e in entries if "member_account_id" in e.details}


def org_connection(tenant: Tenant, **fields: Any) -> AwsConnection:
    values: dict[str, Any] = {
        "mode": AwsConnection.Mode.ORGANIZATION,
        "member_role_name": MEMBER_ROLE,
        "role_path_prefix": MEMBER_PATH,
    }
    values.update(fields)
    return make_connection(tenant, **values)


def test_members_are_recorded_with_the_custom_member_role_name_and_path(tenant: Tenant):
    ids = organization(customer_session(), "dev", "data")
    connection = org_connection(tenant)

    results = run_checks(connection, scan_regions=[])

    checks = by_key(results)
    assert checks["organization"].status == "green"
    assert checks["member_roles"].status == "green", checks["member_roles"].message
    members = {m.account_id: m for m in MemberAccount.objects.filter(connection=connection)}
    assert set(members) == set(ids.values())  # the management account itself is not a member row
    assert {m.name for m in members.values()} == {"dev", "data"}
    assert all(m.role_status == MemberAccount.RoleStatus.OK and m.last_checked_at for m in members.values())
    for account in ids.values():
        (assumed,) = sts_backends[account]["aws"].assumed_roles
        assert assumed.role_arn == f"arn:aws:iam::{account}:role/customer-managed/{MEMBER_ROLE}"
    assert member_audits() == {account: True for account in ids.values()}


def test_member_credentials_are_cached_across_syncs(tenant: Tenant):
    ids = organization(customer_session(), "dev")
    connection = org_connection(tenant)
    session = aws.assume_connection_role(connection)

    sync_member_accounts(connection, session)
    sync_member_accounts(connection, session)

    assert len(sts_backends[ids["dev"]]["aws"].assumed_roles) == 1
    assert AuditLog.objects.filter(action="connection.role_assumed").count() == 2  # connection role + one member


def test_an_account_without_the_member_role_is_named_with_its_remedy(tenant: Tenant):
    # The management account is the backend's moto account here, so IAM enforcement applies to the
    # connection role. Only the "dev" account has the member role (with the custom path); "sandbox"
    # has none, so AssumeRole there is denied exactly as AWS denies a role that does not exist.
    ids = organization(boto3.session.Session(region_name="us-east-1"), "dev", "sandbox")
    dev_role = f"arn:aws:iam::{ids['dev']}:role/customer-managed/{MEMBER_ROLE}"
    dev_iam = customer_session(ids["dev"]).client("iam")
    dev_iam.create_role(
        RoleName=MEMBER_ROLE,
        Path=MEMBER_PATH,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{BACKEND}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    dev_iam.put_role_policy(
        RoleName=MEMBER_ROLE,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["cloudwatch:ListMetrics", "monitoring:ListMetrics"], "Resource": "*"}
                ],
            }
        ),
    )
    connection, backend = restricted_role(
        tenant,
        ["organizations:ListAccounts", "organizations:DescribeOrganization", "cloudwatch:*", "monitoring:*"],
        mode=AwsConnection.Mode.ORGANIZATION,
        member_role_name=MEMBER_ROLE,
        role_path_prefix=MEMBER_PATH,
    )
    iam = boto3.client("iam", region_name="us-east-1")
    iam.put_role_policy(
        RoleName=connection.role_arn.rsplit("/", 1)[-1],
        PolicyName="assume-members",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": [dev_role]}],
            }
        ),
    )

    with enable_iam_authentication():
        results = run_checks(connection, session_factory=backend, scan_regions=[])

    checks = by_key(results)
    assert checks["organization"].status == "green"
    assert checks["member_roles"].status == "red"
    dev = MemberAccount.objects.get(connection=connection, account_id=ids["dev"])
    sandbox = MemberAccount.objects.get(connection=connection, account_id=ids["sandbox"])
    assert dev.role_status == MemberAccount.RoleStatus.OK
    assert sandbox.role_status == MemberAccount.RoleStatus.MISSING_ROLE
    assert sandbox.last_error.startswith(f"Account {ids['sandbox']}: cannot assume ")
    assert f"arn:aws:iam::{ids['sandbox']}:role/customer-managed/{MEMBER_ROLE}" in sandbox.last_error
    assert "Deploy the member role by StackSet" in sandbox.last_error
    item = only(results, "member_role_missing")
    assert ids["sandbox"] in item.title and ids["dev"] not in item.title
    assert "aws cloudformation create-stack-instances --stack-set-name BedrockFinOps-MemberRole" in item.remedy
    assert f'"Accounts":["{ids["sandbox"]}"],"AccountFilterType":"INTERSECTION"' in item.remedy
    assert "set the member role name" in item.remedy
    assert member_audits() == {ids["dev"]: True, ids["sandbox"]: False}


def test_org_list_accounts_denied_outside_an_organization(tenant: Tenant):
    connection = org_connection(tenant)

    results = run_checks(connection, scan_regions=[])

    assert by_key(results)["organization"].status == "red"
    assert by_key(results)["member_roles"].status == "skipped"
    item = only(results, "org_list_accounts_denied")
    assert "not in an organization" in item.evidence
    assert "aws organizations describe-organization --query Organization.MasterAccountId --output text" in item.remedy


def test_org_list_accounts_denied_in_a_member_account(tenant: Tenant):
    ids = organization(customer_session(), "dev")
    connection = org_connection(tenant, account_id=ids["dev"])

    item = only(run_checks(connection, scan_regions=[]), "org_list_accounts_denied")

    assert f"management account of the organization is {CUSTOMER}" in item.evidence
    assert f"(management account: {CUSTOMER})" in item.cause
    assert not MemberAccount.objects.exists()


def test_org_list_accounts_denied_by_iam(tenant: Tenant):
    organization(boto3.session.Session(region_name="us-east-1"), "dev")
    connection, backend = restricted_role(
        tenant, ["cloudwatch:*", "monitoring:*"], mode=AwsConnection.Mode.ORGANIZATION
    )

    with enable_iam_authentication():
        results = run_checks(connection, session_factory=backend, scan_regions=[])

    item = only(results, "org_list_accounts_denied")
    assert "organizations:ListAccounts failed with AccessDenied" in item.evidence
    assert "organizations:ListAccounts" in item.remedy


def test_accounts_that_left_the_organization_are_removed(tenant: Tenant):
    ids = organization(customer_session(), "dev")
    connection = org_connection(tenant)
    MemberAccount.objects.create(connection=connection, account_id="999999999999", name="gone")

    members = sync_member_accounts(connection, aws.assume_connection_role(connection))

    assert [m.account_id for m in members] == [ids["dev"]]
    assert list(MemberAccount.objects.values_list("account_id", flat=True)) == [ids["dev"]]


def test_no_finding_when_every_member_is_reachable(tenant: Tenant, settings: Any):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = org_connection(tenant)
    ok = MemberAccount(connection=connection, account_id="444455556666", role_status=MemberAccount.RoleStatus.OK)

    assert member_findings(connection, [ok]) == []


@pytest.mark.parametrize("status", [MemberAccount.RoleStatus.MISSING_ROLE, MemberAccount.RoleStatus.ACCESS_DENIED])
def test_every_unusable_member_is_named(tenant: Tenant, settings: Any, status: str):
    settings.FINOPS_BACKEND_ACCOUNT_ID = BACKEND
    connection = org_connection(tenant)
    members = [
        MemberAccount(connection=connection, account_id="444455556666", role_status=status),
        MemberAccount(connection=connection, account_id="777788889999", role_status=status),
    ]

    (item,) = member_findings(connection, members)

    assert item.title == "Member role missing in account(s) 444455556666, 777788889999"
    assert '"Accounts":["444455556666","777788889999"]' in item.remedy
