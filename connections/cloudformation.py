"""CloudFormation templates and AWS CLI commands for a connection's read-only role.

Everything here is generated from an `AwsConnection` and never hand-edited. Pure functions: no
database queries and no boto3; the deploy tests in tests/connections/test_cloudformation.py run
the templates in moto.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml
from django.conf import settings

if TYPE_CHECKING:
    from connections.models import AwsConnection


class TemplateError(ValueError):
    """The connection (or the backend settings) cannot produce a safe, deployable template."""


# The allow-list: an action's name (the part after "service:") must start with one of these verbs.
READ_ONLY_ACTION_PREFIXES: tuple[str, ...] = ("List", "Get", "Describe", "Filter")
# Matched as whole CamelCase words (so "ListTagsForResource" is read-only, "TagResource" is not).
FORBIDDEN_ACTION_WORDS = ("Invoke", "Converse", "Put", "Create", "Update", "Delete", "Tag", "Untag", "PassRole")
# The one non-read action: Organization mode hops into member accounts, only on the named member role.
ROLE_CHAINING_ACTION = "sts:AssumeRole"

PLACEHOLDER_BACKEND_ACCOUNT_ID = "000000000000"
DEFAULT_REGION = "us-east-1"
LOGGING_ROLE_PLACEHOLDER = "REPLACE_ME-bedrock-logging-role"

BASE_ACTIONS = (
    "bedrock:List*",
    "bedrock:GetFoundationModel",
    "bedrock:GetProvisionedModelThroughput",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:GetInferenceProfile",
    "bedrock:ListTagsForResource",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarms",
)
LOG_GROUP_ACTIONS = ("logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams")
# Data Exports has no resource-level scoping for these, so they are the only S3-adjacent "*".
EXPORT_READ_ACTIONS = (
    "bcm-data-exports:GetExport",
    "bcm-data-exports:ListExports",
    "bcm-data-exports:GetExecution",
    "bcm-data-exports:ListExecutions",
)
ORGANIZATION_ACTIONS = ("organizations:ListAccounts", "organizations:DescribeOrganization")

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_PATH = re.compile(r"^/([\x21-\x7e]{0,510}/)?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_LOG_GROUP_ARN = re.compile(
    r"^arn:(?P<partition>aws[\w-]*):logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"log-group:(?P<name>[\w.\-/#]{1,512}?)(:\*)?$"
)
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_CAMEL_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|\*")
_POLICY_VERSION = "2012-10-17"


# --- inputs, validated once -------------------------------------------------------------------


@dataclass(frozen=True)
class _LogGroup:
    partition: str
    region: str
    account: str
    name: str

    def arn(self, account: str | None = None) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{account or self.account}:log-group:{self.name}"


def _backend_account_id(value: str | None) -> str:
    account = (settings.FINOPS_BACKEND_ACCOUNT_ID if value is None else value) or ""
    account = account.strip()
    if not account or account == PLACEHOLDER_BACKEND_ACCOUNT_ID:
        raise TemplateError(
            "FINOPS_BACKEND_ACCOUNT_ID is not set: set it to the 12-digit id of the AWS account the FinOps backend "
            "runs in, otherwise the role would trust nobody (or the placeholder account)."
        )
    if not _ACCOUNT_ID.match(account):
        raise TemplateError(f"FINOPS_BACKEND_ACCOUNT_ID={account!r} is not a 12-digit AWS account id.")
    return account


def _slug() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", str(settings.FINOPS_PRODUCT_SLUG)).strip("-") or "FinOps"


def _path(connection: AwsConnection) -> str:
    path = connection.role_path_prefix or "/"
    if not _PATH.match(path):
        raise TemplateError(f'role_path_prefix {path!r} must start and end with "/", e.g. "/customer-managed/".')
    return path


def _role_name(connection: AwsConnection) -> str:
    from connections.models import default_role_name

    name = connection.role_name or default_role_name(connection.external_id)
    if not _ROLE_NAME.match(name):
        raise TemplateError(f"role_name {name!r} is not a valid IAM role name.")
    return name


def _member_role_name(connection: AwsConnection) -> str:
    name = connection.member_role_name
    if not name or not _ROLE_NAME.match(name):
        raise TemplateError(f"member_role_name {name!r} is not a valid IAM role name.")
    return name


def _account_id(connection: AwsConnection) -> str:
    if not _ACCOUNT_ID.match(connection.account_id or ""):
        raise TemplateError(f"account_id {connection.account_id!r} is not a 12-digit AWS account id.")
    return connection.account_id


def _external_id(connection: AwsConnection) -> str:
    if not re.match(r"^[\w+=,.@:/-]{2,1224}$", connection.external_id or ""):
        raise TemplateError("The connection has no usable ExternalId.")
    return connection.external_id


def _log_group(connection: AwsConnection) -> _LogGroup | None:
    if not connection.log_group_arn:
        return None
    match = _LOG_GROUP_ARN.match(connection.log_group_arn.strip())
    if not match:
        raise TemplateError(
            f"log_group_arn {connection.log_group_arn!r} is not one log group's ARN "
            "(arn:aws:logs:REGION:ACCOUNT:log-group:NAME, no wildcards)."
        )
    return _LogGroup(match["partition"], match["region"], match["account"], match["name"])


def _bucket(value: str, field: str) -> str:
    if not _BUCKET.match(value) or ".." in value:
        raise TemplateError(f"{field} {value!r} is not an S3 bucket name (no s3:// and no path).")
    return value


def _prefix(value: str, field: str) -> str:
    """'' or a key prefix ending in '/': AWS writes under `<prefix>/...`, so the scope stops at the slash."""
    prefix = value.strip().strip("/")
    if any(ch in prefix for ch in "*?$"):
        raise TemplateError(f"{field} {value!r} may not contain wildcards.")
    return f"{prefix}/" if prefix else ""


def _source_ips(connection: AwsConnection) -> list[str]:
    ips: list[str] = []
    for value in connection.allowed_source_ips or []:
        try:
            ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError as exc:
            raise TemplateError(f"allowed_source_ips: {value!r} is not an IP address or CIDR.") from exc
        ips.append(str(value).strip())
    return ips


def _regions(connection: AwsConnection) -> list[str]:
    regions = list(connection.regions or []) or [DEFAULT_REGION]
    for region in regions:
        if not isinstance(region, str) or not _REGION.match(region):
            raise TemplateError(f"regions: {region!r} is not an AWS region code such as us-east-1.")
    return list(dict.fromkeys(regions))


def _role_arn(connection: AwsConnection) -> str:
    return f"arn:aws:iam::{_account_id(connection)}:role{_path(connection)}{_role_name(connection)}"


def _policy_name(suffix: str) -> str:
    return f"{_slug()}-{suffix}"[:128]


# --- statements -------------------------------------------------------------------------------


def _statement(sid: str, actions: tuple[str, ...], resource: Any, condition: dict | None = None) -> dict:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _document(*statements: dict) -> dict:
    return {"Version": _POLICY_VERSION, "Statement": list(statements)}


def _base_statements() -> list[dict]:
    return [_statement("BedrockAndMetricsRead", BASE_ACTIONS, "*")]


def _log_group_statements(log_group: _LogGroup, *, this_account: bool = False) -> list[dict]:
    if this_account:
        # A StackSet instance reads the same-named log group in its own account: a log group in the
        # management account is not readable from a member account anyway.
        arn: Any = log_group.arn("${AWS::AccountId}")
        resources: list[Any] = [{"Fn::Sub": arn}, {"Fn::Sub": f"{arn}:*"}, {"Fn::Sub": f"{arn}:log-stream:*"}]
    else:
        arn = log_group.arn()
        resources = [arn, f"{arn}:*", f"{arn}:log-stream:*"]
    return [_statement("InvocationLogGroupRead", LOG_GROUP_ACTIONS, resources)]


def _bucket_statements(sid: str, bucket: str, prefix: str) -> list[dict]:
    statements = [_statement(f"{sid}Objects", ("s3:GetObject",), [f"arn:aws:s3:::{bucket}/{prefix}*"])]
    condition = None
    if prefix:
        # Both "p" and "p/..." so a client may list with or without the trailing slash.
        condition = {"StringLike": {"s3:prefix": [prefix.rstrip("/"), f"{prefix}*"]}}
    statements.append(_statement(f"{sid}List", ("s3:ListBucket",), [f"arn:aws:s3:::{bucket}"], condition))
    return statements


def _read_policies(connection: AwsConnection, *, member: bool) -> list[dict]:
    """The inline policies shared by the connection role and the member role."""
    policies = [{"PolicyName": _policy_name("BedrockRead"), "PolicyDocument": _document(*_base_statements())}]
    log_group = _log_group(connection)
    if log_group:
        policies.append(
            {
                "PolicyName": _policy_name("InvocationLogGroupRead"),
                "PolicyDocument": _document(*_log_group_statements(log_group, this_account=member)),
            }
        )
    if connection.log_bucket:
        bucket = _bucket(connection.log_bucket, "log_bucket")
        prefix = _prefix(connection.log_prefix, "log_prefix")
        policies.append(
            {
                "PolicyName": _policy_name("InvocationLogBucketRead"),
                "PolicyDocument": _document(*_bucket_statements("InvocationLogBucket", bucket, prefix)),
            }
        )
    return policies


def _trust_condition(external_id: Any, source_ips: list[str]) -> dict:
    condition: dict[str, Any] = {"StringEquals": {"sts:ExternalId": external_id}}
    if source_ips:
        condition["IpAddress"] = {"aws:SourceIp": source_ips}
    return condition


# --- templates --------------------------------------------------------------------------------


def role_template(connection: AwsConnection, *, backend_account_id: str | None = None) -> dict:
    """The CloudFormation template of the connection's read-only role, trusted by the backend account."""
    backend = _backend_account_id(backend_account_id)
    external_id = _external_id(connection)
    path = _path(connection)
    role_name = _role_name(connection)
    _account_id(connection)

    policies = _read_policies(connection, member=False)
    if connection.cur_bucket:
        bucket = _bucket(connection.cur_bucket, "cur_bucket")
        prefix = _prefix(connection.cur_prefix, "cur_prefix")
        statements = _bucket_statements("CurBucket", bucket, prefix)
        statements.append(_statement("CurExportsRead", EXPORT_READ_ACTIONS, "*"))
        policies.append({"PolicyName": _policy_name("CurRead"), "PolicyDocument": _document(*statements)})
    if connection.is_organization:
        member_arn = f"arn:aws:iam::*:role{path}{_member_role_name(connection)}"
        policies.append(
            {
                "PolicyName": _policy_name("OrganizationRead"),
                "PolicyDocument": _document(
                    _statement("OrganizationRead", ORGANIZATION_ACTIONS, "*"),
                    _statement("AssumeMemberRole", (ROLE_CHAINING_ACTION,), [member_arn]),
                ),
            }
        )

    trust = _document(
        {
            "Sid": "FinOpsBackend",
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${BackendAccountId}:root"}},
            "Action": ROLE_CHAINING_ACTION,
            "Condition": _trust_condition({"Ref": "ExternalId"}, _source_ips(connection)),
        }
    )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{_slug()}: read-only role for connection {connection.name!r} ({connection.mode}). "
            "Generated by the FinOps app; do not edit, download it again instead."
        )[:1024],
        "Parameters": {
            "ExternalId": {
                "Type": "String",
                "Default": external_id,
                "MinLength": 2,
                "MaxLength": 1224,
                "AllowedPattern": r"^[\w+=,.@:/-]+$",
                "Description": "The ExternalId generated by the FinOps app for this connection.",
            },
            "BackendAccountId": {
                "Type": "String",
                "Default": backend,
                "AllowedPattern": r"^\d{12}$",
                "ConstraintDescription": "A 12-digit AWS account id.",
                "Description": "The AWS account the FinOps backend assumes this role from.",
            },
        },
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": role_name,
                    "Path": path,
                    "Description": f"{_slug()} read-only access to Bedrock usage and cost data.",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": trust,
                    "Policies": policies,
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "Paste this into the connection in the FinOps app.",
                "Value": {"Fn::GetAtt": ["Role", "Arn"]},
            }
        },
    }


def stackset_template(connection: AwsConnection) -> dict:
    """Organization mode: the member-account role, deployed by a service-managed StackSet.

    It trusts only the management account's connection role and carries the same read-only
    policies (no Organizations, CUR or role-chaining statements).
    """
    if not connection.is_organization:
        raise TemplateError("Only an Organization-mode connection has member accounts and a StackSet template.")
    from connections.models import AwsConnection

    member_role = _member_role_name(connection)
    if member_role in AwsConnection.MEMBER_ROLE_DEFAULTS:
        # These roles already exist in member accounts (created by Organizations / Control Tower, with
        # administrator access): a StackSet creating one fails with "already exists", and a read-only
        # role under that name would mislead whoever reads it later.
        raise TemplateError(
            f"member_role_name {member_role!r} is the role AWS already creates in member accounts: no StackSet is "
            "needed to use it. To deploy a dedicated read-only member role instead, choose another name, "
            f"e.g. {_slug()}-BedrockReader-Member."
        )
    management_role_arn = _role_arn(connection)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"{_slug()}: read-only member-account role for connection {connection.name!r}, assumed from "
            f"{management_role_arn}. Generated by the FinOps app; do not edit."
        )[:1024],
        "Parameters": {
            "ManagementRoleArn": {
                "Type": "String",
                "Default": management_role_arn,
                "AllowedPattern": r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$",
                "Description": "The connection's role in the management account.",
            },
        },
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": member_role,
                    "Path": _path(connection),
                    "Description": f"{_slug()} read-only access to Bedrock usage data in this member account.",
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": _document(
                        {
                            "Sid": "ManagementAccountConnectionRole",
                            "Effect": "Allow",
                            "Principal": {"AWS": {"Ref": "ManagementRoleArn"}},
                            "Action": ROLE_CHAINING_ACTION,
                        }
                    ),
                    "Policies": _read_policies(connection, member=True),
                },
            }
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}}},
    }


def render_template(template: dict, fmt: str = "yaml") -> str:
    if fmt == "yaml":
        return yaml.safe_dump(template, sort_keys=False, default_flow_style=False, width=4096)
    if fmt == "json":
        return json.dumps(template, indent=2) + "\n"
    raise TemplateError(f"Unknown template format {fmt!r}: use 'yaml' or 'json'.")


def iter_policy_statements(template: dict, *, include_trust: bool = False) -> Iterator[dict]:
    """Every permission statement of every IAM role/policy resource; trust statements only on request."""
    for resource in (template.get("Resources") or {}).values():
        properties = resource.get("Properties") or {}
        kind = resource.get("Type")
        documents: list[dict] = []
        if kind == "AWS::IAM::Role":
            if include_trust:
                documents.append(properties.get("AssumeRolePolicyDocument") or {})
            documents.extend(p.get("PolicyDocument") or {} for p in properties.get("Policies") or [])
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            documents.append(properties.get("PolicyDocument") or {})
        for document in documents:
            statements = document.get("Statement") or []
            yield from [statements] if isinstance(statements, dict) else statements


def action_words(action: str) -> list[str]:
    """The CamelCase words of an action's name: "bedrock:ListTagsForResource" -> List, Tags, For, Resource."""
    return _CAMEL_WORD.findall(action.partition(":")[2])


def is_read_only_action(action: str) -> bool:
    """True for a read verb from the allow-list that contains none of the forbidden words."""
    service, _, name = action.partition(":")
    if not service or not name or not name.startswith(READ_ONLY_ACTION_PREFIXES):
        return False
    words = action_words(action)
    for forbidden in FORBIDDEN_ACTION_WORDS:
        needle = _CAMEL_WORD.findall(forbidden)
        if any(words[i : i + len(needle)] == needle for i in range(len(words))):
            return False
    return True


# --- commands and snippets --------------------------------------------------------------------


def _stack_name(connection: AwsConnection) -> str:
    # Per connection, so a second connection to the same account never replaces the first one's role.
    name = f"{_slug()}-{_account_id(connection)}-{_external_id(connection)[:8]}"
    return re.sub(r"[^A-Za-z0-9-]", "-", name)[:128]


def _stack_set_name() -> str:
    # The name the member_role_missing diagnosis tells support to use.
    return f"{_slug()}-MemberRole"


def deploy_command(
    connection: AwsConnection,
    *,
    template_file: str = "bedrock-finops-role.yaml",
    stack_name: str | None = None,
    backend_account_id: str | None = None,
) -> str:
    """The one `aws cloudformation deploy` command for role_template, every parameter filled in."""
    backend = _backend_account_id(backend_account_id)
    stack = stack_name or _stack_name(connection)
    if not _STACK_NAME.match(stack):
        raise TemplateError(f"Stack name {stack!r}: letters, digits and hyphens, starting with a letter.")
    args = [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        template_file,
        "--stack-name",
        stack,
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--region",
        _regions(connection)[0],
        "--parameter-overrides",
        f"ExternalId={_external_id(connection)}",
        f"BackendAccountId={backend}",
    ]
    return shlex.join(args)


def stackset_commands(connection: AwsConnection) -> str:
    """The script that rolls the member role out to an organization (run in the management account)."""
    stackset_template(connection)  # refuses what cannot be deployed, with the reason
    stack_set = _stack_set_name()
    template_file = "bedrock-finops-member-role.yaml"
    management_role_arn = _role_arn(connection)
    create = [
        "aws",
        "cloudformation",
        "create-stack-set",
        "--stack-set-name",
        stack_set,
        "--template-body",
        f"file://{template_file}",
        "--permission-model",
        "SERVICE_MANAGED",
        "--auto-deployment",
        "Enabled=true,RetainStacksOnAccountRemoval=false",
        "--capabilities",
        "CAPABILITY_NAMED_IAM",
        "--parameters",
        f"ParameterKey=ManagementRoleArn,ParameterValue={management_role_arn}",
        "--region",
        DEFAULT_REGION,
    ]
    instances = [
        "aws",
        "cloudformation",
        "create-stack-instances",
        "--stack-set-name",
        stack_set,
        "--deployment-targets",
        "OrganizationalUnitIds=r-xxxx",
        "--regions",
        DEFAULT_REGION,
        "--region",
        DEFAULT_REGION,
    ]
    return "\n".join(
        [
            "# Run in the management account (or add --call-as DELEGATED_ADMIN from a delegated administrator).",
            f"# 1. Deploy the connection role first: the member roles trust {management_role_arn} by ARN.",
            f"# 2. Save the member-role template as {template_file}.",
            "# 3. Once per organization: let CloudFormation StackSets deploy to member accounts.",
            "aws cloudformation activate-organizations-access --region us-east-1",
            "# 4. The StackSet; auto-deployment adds the role to accounts that join later.",
            shlex.join(create),
            "# 5. Roll it out. IAM is global, so one region is enough. Replace r-xxxx with your organization root id",
            "#    (aws organizations list-roots --query 'Roots[0].Id' --output text) or an OU id (ou-xxxx-xxxxxxxx).",
            "#    The management account itself is never a target of a service-managed StackSet.",
            shlex.join(instances),
            "",
        ]
    )


def cur_bucket_policy(connection: AwsConnection) -> dict:
    """The CUR bucket-policy statements that let the connection role read the export (and nothing else)."""
    if not connection.cur_bucket:
        raise TemplateError("The connection has no CUR bucket (cur_bucket), so there is no bucket policy to add.")
    bucket = _bucket(connection.cur_bucket, "cur_bucket")
    prefix = _prefix(connection.cur_prefix, "cur_prefix")
    principal = {"AWS": _role_arn(connection)}
    statements = _bucket_statements(f"{_slug().replace('-', '')}Cur", bucket, prefix)
    for statement in statements:
        statement["Principal"] = principal
        statement["Action"] = statement["Action"][0]
    return _document(*statements)


def logging_cli_commands(connection: AwsConnection) -> str:
    """Per region: turn on metadata-only invocation logging to the connection's log group and/or bucket."""
    log_group = _log_group(connection)
    if not log_group and not connection.log_bucket:
        raise TemplateError("Set log_group_arn or log_bucket first: invocation logging needs a destination.")
    config: dict[str, Any] = {}
    lines = ["# Metadata only: every *DataDeliveryEnabled is false, so prompts and responses are never logged."]
    if log_group:
        logging_role = f"arn:{log_group.partition}:iam::{log_group.account}:role/{LOGGING_ROLE_PLACEHOLDER}"
        config["cloudWatchConfig"] = {"logGroupName": log_group.name, "roleArn": logging_role}
        lines += [
            f"# roleArn: replace {LOGGING_ROLE_PLACEHOLDER} with a role Bedrock can assume (trusting",
            "#   bedrock.amazonaws.com) that may call logs:CreateLogStream and logs:PutLogEvents on",
            f"#   {log_group.arn()}:*. Bedrock delivers only to a log group in the same region,",
            f"#   so a region other than {log_group.region} needs its own log group of that name.",
        ]
    if connection.log_bucket:
        s3_config = {"bucketName": _bucket(connection.log_bucket, "log_bucket")}
        prefix = _prefix(connection.log_prefix, "log_prefix").rstrip("/")
        if prefix:
            s3_config["keyPrefix"] = prefix
        config["s3Config"] = s3_config
        lines.append("# The bucket must be in the same region and allow bedrock.amazonaws.com to write to it.")
    for kind in ("text", "image", "embedding", "video", "audio"):
        config[f"{kind}DataDeliveryEnabled"] = False
    logging_config = json.dumps(config, separators=(",", ":"))
    for region in _regions(connection):
        lines.append(
            shlex.join(
                [
                    "aws",
                    "bedrock",
                    "put-model-invocation-logging-configuration",
                    "--region",
                    region,
                    "--logging-config",
                    logging_config,
                ]
            )
        )
    return "\n".join(lines) + "\n"
