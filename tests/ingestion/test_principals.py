"""Caller-ARN classification, shapes from reference/aws-formats.md A.5 and B.2."""

from __future__ import annotations

import dataclasses

import pytest

from ingestion.parsers.principals import PRINCIPAL_TYPES, Principal, parse_principal

ACCOUNT = "123456789012"


def test_the_principal_types_are_the_agreed_six() -> None:
    assert PRINCIPAL_TYPES == ("iam_user", "api_key", "assumed_role", "federated_user", "sso_user", "service")


# --- IAM users and Bedrock API keys ---------------------------------------------------


def test_it_reads_an_iam_user() -> None:
    arn = "arn:aws:iam::123456789012:user/alice"
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="iam_user", principal_name="alice", role_name="", account_id=ACCOUNT
    )


def test_it_takes_the_last_part_of_a_user_path_as_the_name() -> None:
    arn = "arn:aws:iam::123456789012:user/dev/alice"
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="iam_user", principal_name="alice", role_name="", account_id=ACCOUNT
    )


def test_it_reads_the_root_user() -> None:
    arn = "arn:aws:iam::123456789012:root"
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="iam_user", principal_name="root", role_name="", account_id=ACCOUNT
    )


@pytest.mark.parametrize("name", ["BedrockAPIKey-234s", "bedrockapikey-9x8y", "BEDROCKAPIKEY-abc"])
def test_it_recognises_a_bedrock_api_key_user_in_any_case(name: str) -> None:
    arn = f"arn:aws:iam::123456789012:user/{name}"
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="api_key", principal_name=name, role_name="", account_id=ACCOUNT
    )


def test_a_user_merely_mentioning_bedrock_is_not_an_api_key() -> None:
    principal = parse_principal("arn:aws:iam::123456789012:user/BedrockAdmin")
    assert principal is not None
    assert principal.principal_type == "iam_user"


# --- assumed roles and federation -----------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "role", "session"),
    [
        ("arn:aws:sts::123456789012:assumed-role/AppRole/session-123", "AppRole", "session-123"),
        ("arn:aws:sts::123456789012:assumed-role/Role-1/session-123", "Role-1", "session-123"),
        ("arn:aws:sts::123456789012:assumed-role/Role-2/session-456", "Role-2", "session-456"),
        (
            "arn:aws:sts::123456789012:assumed-role/my-lambda-role/my-function",
            "my-lambda-role",
            "my-function",
        ),
    ],
)
def test_it_reads_an_assumed_role_session(arn: str, role: str, session: str) -> None:
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="assumed_role", principal_name=session, role_name=role, account_id=ACCOUNT
    )


def test_it_reads_an_assumed_role_without_a_session_name() -> None:
    principal = parse_principal("arn:aws:sts::123456789012:assumed-role/AppRole")
    assert principal is not None
    assert (principal.principal_type, principal.role_name, principal.principal_name) == (
        "assumed_role",
        "AppRole",
        "",
    )


def test_it_treats_an_email_session_name_as_a_federated_user() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/BedrockRole/user-1@acme.org"
    assert parse_principal(arn) == Principal(
        arn=arn,
        principal_type="federated_user",
        principal_name="user-1@acme.org",
        role_name="BedrockRole",
        account_id=ACCOUNT,
    )


def test_it_reads_an_sts_federated_user() -> None:
    arn = "arn:aws:sts::123456789012:federated-user/bob"
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="federated_user", principal_name="bob", role_name="", account_id=ACCOUNT
    )


# --- IAM Identity Center --------------------------------------------------------------


@pytest.mark.parametrize("user", ["alice@acme.org", "alice"])
def test_it_reads_an_identity_center_session(user: str) -> None:
    arn = f"arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_PowerUser_0123456789abcdef/{user}"
    assert parse_principal(arn) == Principal(
        arn=arn,
        principal_type="sso_user",
        principal_name=user,
        role_name="AWSReservedSSO_PowerUser_0123456789abcdef",
        account_id=ACCOUNT,
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_PowerUser_0123456789abcdef",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_PowerUser_0123456789abcdef",
    ],
)
def test_it_reads_an_identity_center_role_arn_with_no_user(arn: str) -> None:
    assert parse_principal(arn) == Principal(
        arn=arn,
        principal_type="sso_user",
        principal_name="",
        role_name="AWSReservedSSO_PowerUser_0123456789abcdef",
        account_id=ACCOUNT,
    )


# --- AWS services ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "role", "session"),
    [
        (
            "arn:aws:sts::123456789012:assumed-role/AgentRuntimeRole/BedrockAgentCore-0b425b4e-5c1d-4b2a-9f3e-1a2b3c4d5e6f",
            "AgentRuntimeRole",
            "BedrockAgentCore-0b425b4e-5c1d-4b2a-9f3e-1a2b3c4d5e6f",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForAmazonBedrock/anything",
            "AWSServiceRoleForAmazonBedrock",
            "anything",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/BackupRole/AWSBackup-AWSBackupDefaultServiceRole",
            "BackupRole",
            "AWSBackup-AWSBackupDefaultServiceRole",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/BatchRole/BedrockBatchInference-job1",
            "BatchRole",
            "BedrockBatchInference-job1",
        ),
        (
            "arn:aws:sts::123456789012:assumed-role/AmazonBedrockExecutionRoleForAgents_ABC123/xyz",
            "AmazonBedrockExecutionRoleForAgents_ABC123",
            "xyz",
        ),
        # A service session wins over the e-mail rule: the name only looks like a person.
        (
            "arn:aws:sts::123456789012:assumed-role/AWSServiceRoleForX/ops@acme.org",
            "AWSServiceRoleForX",
            "ops@acme.org",
        ),
    ],
)
def test_it_recognises_aws_service_sessions(arn: str, role: str, session: str) -> None:
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="service", principal_name=session, role_name=role, account_id=ACCOUNT
    )


def test_it_recognises_a_service_linked_role_arn() -> None:
    arn = "arn:aws:iam::123456789012:role/aws-service-role/bedrock.amazonaws.com/AWSServiceRoleForAmazonBedrock"
    assert parse_principal(arn) == Principal(
        arn=arn,
        principal_type="service",
        principal_name="",
        role_name="AWSServiceRoleForAmazonBedrock",
        account_id=ACCOUNT,
    )


@pytest.mark.parametrize(
    "value", ["bedrock.amazonaws.com", "agentcore.bedrock.amazonaws.com", "bedrock.amazonaws.com.cn"]
)
def test_it_reads_a_bare_service_principal(value: str) -> None:
    assert parse_principal(value) == Principal(
        arn=value, principal_type="service", principal_name=value, role_name="", account_id=""
    )


# --- role ARNs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "role"),
    [
        ("arn:aws:iam::123456789012:role/MyRole", "MyRole"),
        ("arn:aws:iam::123456789012:role/service/team/MyRole", "MyRole"),
    ],
)
def test_it_reads_a_role_arn_as_an_assumed_role_with_no_session(arn: str, role: str) -> None:
    assert parse_principal(arn) == Principal(
        arn=arn, principal_type="assumed_role", principal_name="", role_name=role, account_id=ACCOUNT
    )


# --- partitions and tolerance ---------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "principal_type", "name"),
    [
        ("arn:aws-cn:iam::123456789012:user/alice", "iam_user", "alice"),
        ("arn:aws-us-gov:iam::123456789012:user/alice", "iam_user", "alice"),
        ("arn:aws-cn:sts::123456789012:assumed-role/AppRole/s1", "assumed_role", "s1"),
        (
            "arn:aws-us-gov:sts::123456789012:assumed-role/BedrockRole/user-1@acme.org",
            "federated_user",
            "user-1@acme.org",
        ),
    ],
)
def test_it_accepts_other_partitions(arn: str, principal_type: str, name: str) -> None:
    principal = parse_principal(arn)
    assert principal is not None
    assert (principal.principal_type, principal.principal_name, principal.account_id) == (
        principal_type,
        name,
        ACCOUNT,
    )


def test_it_strips_surrounding_whitespace() -> None:
    assert parse_principal("  arn:aws:iam::123456789012:user/alice\n") == Principal(
        arn="arn:aws:iam::123456789012:user/alice",
        principal_type="iam_user",
        principal_name="alice",
        role_name="",
        account_id=ACCOUNT,
    )


@pytest.mark.parametrize("account", ["", "XXXXXXXXXXXX", "12345"])
def test_it_leaves_a_missing_or_masked_account_empty(account: str) -> None:
    # Published log samples mask the account (B.2), and the name is still useful.
    principal = parse_principal(f"arn:aws:iam::{account}:user/dheeraj")
    assert principal is not None
    assert (principal.principal_type, principal.principal_name, principal.account_id) == (
        "iam_user",
        "dheeraj",
        "",
    )


@pytest.mark.parametrize("value", [None, "", "   "])
def test_it_returns_none_for_no_principal(value: str | None) -> None:
    assert parse_principal(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "alice",
        "not an arn",
        "arn:",
        "arn:aws",
        "arn:aws:iam::123456789012",
        "arn:aws:iam::123456789012:",
        "arn:aws:iam::123456789012:user/",
        "arn:aws:sts::123456789012:assumed-role/",
        "arn:aws:iam::123456789012:group/Developers",
        "amazonaws.com",
        "\x00",
    ],
)
def test_it_returns_none_for_garbage_without_raising(value: str) -> None:
    assert parse_principal(value) is None


def test_the_result_is_immutable() -> None:
    principal = parse_principal("arn:aws:iam::123456789012:user/alice")
    assert principal is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        principal.principal_name = "mallory"  # type: ignore[misc]
