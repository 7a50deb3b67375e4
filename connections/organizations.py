"""Organization mode: enumerate member accounts and check the member role in each.

An account whose role cannot be assumed is recorded with its id and the remedy, never dropped:
without it that account's usage would be silently missing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
from django.utils import timezone

from connections import aws
from connections.diagnostics import Finding, finding
from connections.models import AwsConnection, MemberAccount

NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


def describe_organization(session: boto3.session.Session) -> dict[str, Any]:
    """The organization the session's account belongs to. Raises AwsError (NotInUse outside an org)."""
    with aws.aws_errors("organizations:DescribeOrganization"):
        return dict(aws.client(session, "organizations").describe_organization()["Organization"])


def list_accounts(session: boto3.session.Session) -> list[dict[str, Any]]:
    """Every account of the organization (management account only). Raises AwsError."""
    accounts: list[dict[str, Any]] = []
    with aws.aws_errors("organizations:ListAccounts"):
        paginator = aws.client(session, "organizations").get_paginator("list_accounts")
        for page in paginator.paginate():
            accounts.extend(page.get("Accounts", []))
    return accounts


def _remedy_line(connection: AwsConnection, account_id: str, code: str) -> str:
    return (
        f"Account {account_id}: cannot assume {aws.member_role_arn(connection, account_id)} ({code}). "
        f"Deploy the member role by StackSet to {account_id}, or set the member role name on the connection "
        f"to a role that exists there and trusts the connection role."
    )


def _is_active(account: dict[str, Any]) -> bool:
    state = str(account.get("State") or account.get("Status") or "ACTIVE").upper()
    return state == "ACTIVE"


def sync_member_accounts(
    connection: AwsConnection,
    session: boto3.session.Session,
    *,
    probe_region: str | None = None,
    now: datetime | None = None,
) -> list[MemberAccount]:
    """Upsert one MemberAccount per member of the organization and record its role status.

    `session` is the connection role's session (in the management account). The member role is
    assumed from it (custom name and path respected); a read probe (cloudwatch:ListMetrics) tells
    a usable role from one without read access. Raises AwsError when the accounts cannot be listed."""
    accounts = list_accounts(session)
    checked_at = now or timezone.now()
    region = probe_region or (connection.regions[0] if connection.regions else None)
    seen: list[str] = []
    members: list[MemberAccount] = []
    for account in sorted(accounts, key=lambda a: str(a.get("Id"))):
        account_id = str(account.get("Id", ""))
        if not account_id or account_id == connection.account_id:
            continue  # the management account is read through the connection role itself
        seen.append(account_id)
        status, error = _check_member(connection, session, account, region)
        member, _ = MemberAccount.objects.update_or_create(
            connection=connection,
            account_id=account_id,
            defaults={
                "name": str(account.get("Name") or "")[:255],
                "role_status": status,
                "last_checked_at": checked_at,
                "last_error": error,
            },
        )
        members.append(member)
    # Accounts that left the organization are no longer members.
    MemberAccount.objects.filter(connection=connection).exclude(account_id__in=seen).delete()
    return members


def _check_member(
    connection: AwsConnection, session: boto3.session.Session, account: dict[str, Any], region: str | None
) -> tuple[str, str]:
    account_id = str(account["Id"])
    if not _is_active(account):
        state = account.get("State") or account.get("Status")
        return MemberAccount.RoleStatus.NOT_CHECKED, f"Account {account_id} is {state}: not checked."
    try:
        member_session = aws.assume_member_role(connection, account_id, session=session)
    except aws.AwsError as exc:
        if exc.access_denied:
            return MemberAccount.RoleStatus.MISSING_ROLE, _remedy_line(connection, account_id, exc.code)
        return MemberAccount.RoleStatus.NOT_CHECKED, f"Account {account_id}: {exc.summary()}"
    try:
        with aws.aws_errors("cloudwatch:ListMetrics"):
            aws.client(member_session, "cloudwatch", region).list_metrics(
                Namespace="AWS/Bedrock", MetricName="Invocations"
            )
    except aws.AwsError as exc:
        if exc.access_denied:
            return (
                MemberAccount.RoleStatus.ACCESS_DENIED,
                f"Account {account_id}: the member role was assumed but may not read CloudWatch ({exc.code}). "
                f"Give {aws.member_role_arn(connection, account_id)} read access to AWS/Bedrock metrics.",
            )
        return MemberAccount.RoleStatus.OK, ""
    return MemberAccount.RoleStatus.OK, ""


def member_findings(connection: AwsConnection, members: list[MemberAccount]) -> list[Finding]:
    """One member_role_missing finding naming every account whose role is missing or unusable."""
    bad = [
        m
        for m in members
        if m.role_status in (MemberAccount.RoleStatus.MISSING_ROLE, MemberAccount.RoleStatus.ACCESS_DENIED)
    ]
    if not bad:
        return []
    ids = [m.account_id for m in bad]
    evidence = "; ".join(m.last_error or f"Account {m.account_id}: {m.role_status}" for m in bad)
    return [finding("member_role_missing", connection, evidence=evidence, member_account_ids=ids)]
