"""The catalogue of day-1 failure signatures: for each, a plain cause and the exact remedy.

Detectors live next to the calls that observe them (connections.validation, connections.organizations);
this module names each failure once, fills its remedy from the connection, and recognises
CloudFormation stack errors pasted by a user (diagnose_stack_error)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from connections.models import AwsConnection

PLACEHOLDER_BACKEND_ACCOUNT = "000000000000"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# Values that may rightly be empty (an S3 prefix); every other empty value shows as <name>.
MAY_BE_EMPTY = frozenset({"log_prefix", "cur_prefix", "cur_prefix_slash", "cur_root"})


@dataclass(frozen=True)
class Signature:
    code: str
    title: str
    cause: str  # plain language
    remedy: str  # the exact CLI command or console path, with {placeholders} filled from the connection
    severity: str = "red"  # "red" or "amber": what a check shows when this is its only finding


@dataclass(frozen=True)
class Finding:
    code: str
    title: str
    cause: str
    remedy: str
    evidence: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=str(data.get("code", "")),
            title=str(data.get("title", "")),
            cause=str(data.get("cause", "")),
            remedy=str(data.get("remedy", "")),
            evidence=str(data.get("evidence", "")),
        )

    @property
    def severity(self) -> str:
        signature = CATALOGUE.get(self.code)
        return signature.severity if signature else "red"


def trust_policy(backend_account_id: str, external_id: str, source_ips: list[str] | None = None) -> str:
    """The role's trust policy as the connection's template writes it: the backend account, this ExternalId."""
    condition: dict[str, Any] = {"StringEquals": {"sts:ExternalId": external_id}}
    if source_ips:
        condition["IpAddress"] = {"aws:SourceIp": list(source_ips)}
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{backend_account_id}:root"},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def _policy(actions: list[str], resources: list[str] | str = "*") -> str:
    statement = {"Effect": "Allow", "Action": actions, "Resource": resources}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


UPDATE_STACK = (
    "aws cloudformation update-stack --stack-name {stack_name} --use-previous-template "
    "--capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=ExternalId,ParameterValue={external_id} "
    "ParameterKey=BackendAccountId,ParameterValue={backend_account_id}"
)
CLOUDWATCH_POLICY = _policy(["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"])
LOGS_POLICY = _policy(
    [
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:FilterLogEvents",
        "logs:GetLogEvents",
        "logs:StartQuery",
        "logs:GetQueryResults",
    ],
    ["LOG_GROUP", "LOG_GROUP:*"],
).replace("LOG_GROUP", "arn:aws:logs:{log_group_region}:{account_id}:log-group:{log_group_name}")
LOG_BUCKET_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::BKT"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BKT/*"},
        ],
    },
    separators=(",", ":"),
).replace("BKT", "{log_bucket}")
PT_POLICY = _policy(["bedrock:ListProvisionedModelThroughputs", "bedrock:GetProvisionedModelThroughput"])
ORG_POLICY = _policy(["organizations:ListAccounts", "organizations:DescribeOrganization"])
LOGGING_CONFIG_CW = (
    '{"cloudWatchConfig":{"logGroupName":"{log_group_name}","roleArn":"{logging_role_arn}"},'
    '"textDataDeliveryEnabled":false,"imageDataDeliveryEnabled":false,'
    '"embeddingDataDeliveryEnabled":false,"videoDataDeliveryEnabled":false}'
)
CUR_EXPORT = (
    '{"Name":"{cur_export_name}","DataQuery":{"QueryStatement":"SELECT bill_billing_period_start_date, '
    "bill_payer_account_id, identity_line_item_id, identity_time_interval, line_item_iam_principal, "
    "line_item_line_item_type, line_item_operation, line_item_product_code, line_item_resource_id, "
    "line_item_unblended_cost, line_item_unblended_rate, line_item_usage_account_id, line_item_usage_amount, "
    "line_item_usage_end_date, line_item_usage_start_date, line_item_usage_type, pricing_unit, product, "
    'product_product_family, product_region_code, resource_tags, tags FROM COST_AND_USAGE_REPORT",'
    '"TableConfigurations":{"COST_AND_USAGE_REPORT":{"TIME_GRANULARITY":"DAILY","INCLUDE_RESOURCES":"TRUE",'
    '"INCLUDE_IAM_PRINCIPAL_DATA":"TRUE","INCLUDE_SPLIT_COST_ALLOCATION_DATA":"FALSE",'
    '"INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY":"FALSE"}}},'
    '"DestinationConfigurations":{"S3Destination":{"S3Bucket":"{cur_bucket}","S3Prefix":"{cur_prefix}",'
    '"S3Region":"{cur_region}","S3OutputConfigurations":{"OutputType":"CUSTOM","Format":"PARQUET",'
    '"Compression":"PARQUET","Overwrite":"OVERWRITE_REPORT"}}},"RefreshCadence":{"Frequency":"SYNCHRONOUS"}}'
)

_SIGNATURES = [
    Signature(
        "role_arn_missing",
        "No role ARN on the connection",
        "The stack has not been deployed yet, or its RoleArn output was not pasted into the connection.",
        "Deploy the stack from the connection page (Download template), then paste the role ARN it prints:\n"
        "aws iam get-role --role-name {role_name} --query Role.Arn --output text",
    ),
    Signature(
        "role_arn_wrong_account",
        "The role ARN belongs to another account",
        "The pasted role ARN is in account {role_account_id}, but the connection is for account {account_id}: "
        "the stack was deployed in the wrong account or the wrong ARN was pasted.",
        "Run in account {account_id} and paste the result into the connection's role ARN:\n"
        "aws iam get-role --role-name {role_name} --query Role.Arn --output text\n"
        "If account {role_account_id} is the right one, change the connection's account id to it instead.",
    ),
    Signature(
        "external_id_mismatch",
        "AssumeRole denied: the ExternalId in the role's trust policy differs",
        "AWS refused sts:AssumeRole. The role's trust policy must require exactly this connection's ExternalId; "
        "a stack deployed for another connection, or a hand-edited trust policy, has a different one.",
        "Set the trust policy to the backend account and this ExternalId ({external_id}):\n"
        "aws iam update-assume-role-policy --role-name {role_name} --policy-document '{trust_policy}'\n"
        "Or update the stack deployed from this connection's template:\n" + UPDATE_STACK,
    ),
    Signature(
        "backend_account_placeholder",
        "AssumeRole denied: the stack trusts the 000000000000 placeholder, not the backend account",
        "The role's trust policy names the account allowed to assume it. If the stack was deployed with the "
        "placeholder 000000000000 (or another account), the backend ({backend_account_id}) is not trusted.",
        "Trust the backend account {backend_account_id} with this ExternalId:\n"
        "aws iam update-assume-role-policy --role-name {role_name} --policy-document '{trust_policy}'\n"
        "If the backend's FINOPS_BACKEND_ACCOUNT_ID is unset, set it to the output of "
        "`aws sts get-caller-identity --query Account --output text` (run with the backend's credentials), "
        "restart the app, then update the stack:\n" + UPDATE_STACK,
    ),
    Signature(
        "assume_role_failed",
        "AssumeRole failed",
        "The backend could not call sts:AssumeRole: its own credentials are missing or invalid, or AWS "
        "could not be reached.",
        "Check the backend's credentials where the app runs: aws sts get-caller-identity\n"
        "Then validate again. Against an emulator, check AWS_ENDPOINT_URL.",
    ),
    Signature(
        "cloudwatch_permission_missing",
        "The role cannot read CloudWatch metrics in AWS/Bedrock",
        "cloudwatch:ListMetrics or cloudwatch:GetMetricData was denied. A hand-rolled role often lacks "
        "GetMetricData, or restricts it with a cloudwatch:namespace condition, which GetMetricData does not "
        "support, so the condition denies every call.",
        "Add this statement (no Condition) to the role:\n"
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsCloudWatchRead "
        "--policy-document '" + CLOUDWATCH_POLICY + "'",
    ),
    Signature(
        "logging_config_unreadable",
        "The role cannot read the Bedrock logging configuration",
        "bedrock:GetModelInvocationLoggingConfiguration was denied in {region}.",
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsLoggingConfigRead "
        "--policy-document '" + _policy(["bedrock:GetModelInvocationLoggingConfiguration"]) + "'",
    ),
    Signature(
        "logging_off_in_region",
        "Model invocation logging is off in {region}",
        "Bedrock writes invocation logs only in regions where logging is configured; in {region} it is not, "
        "so requests there produce no per-request records.",
        "Turn logging on in {region}, metadata only (no prompt or response bodies):\n"
        "aws logs create-log-group --region {region} --log-group-name {log_group_name}\n"
        "aws bedrock put-model-invocation-logging-configuration --region {region} --logging-config '"
        + LOGGING_CONFIG_CW
        + "'\nConsole: Amazon Bedrock ({region}) > Settings > Model invocation logging.",
    ),
    Signature(
        "log_group_region_mismatch",
        "Invocations in {region}, but logging is configured only in {logging_regions}",
        "Bedrock logs an invocation in the region where it runs. CloudWatch shows Invocations in {region}, "
        "where logging is off, while logging is on in {logging_regions}. The sync 'succeeds' with zero "
        "events forever: the most common silent failure.",
        "Turn logging on in {region} as well (metadata only), and add {region} to the connection's regions:\n"
        "aws logs create-log-group --region {region} --log-group-name {log_group_name}\n"
        "aws bedrock put-model-invocation-logging-configuration --region {region} --logging-config '"
        + LOGGING_CONFIG_CW
        + "'",
    ),
    Signature(
        "no_events_in_lookback",
        "Logging is on, but the log group has no events in the last {hours} hours",
        "Either nothing was invoked in {region} in that window, or Bedrock cannot deliver to the group "
        "(its logging role lacks logs:PutLogEvents), or the configuration points at another group.",
        "Check where logging writes and whether delivery fails:\n"
        "aws bedrock get-model-invocation-logging-configuration --region {region}\n"
        "aws cloudwatch get-metric-statistics --region {region} --namespace AWS/Bedrock "
        "--metric-name ModelInvocationLogsCloudWatchDeliveryFailure --statistics Sum --period 3600 "
        "--start-time {lookback_start} --end-time {lookback_end}",
        severity="amber",
    ),
    Signature(
        "log_group_not_logging_target",
        "Logging in {region} writes to {configured_log_group}, not to the connection's log group",
        "The connection reads {log_group_name}, but Bedrock's logging configuration in {region} delivers to "
        "{configured_log_group}: the connection would read an empty group.",
        "Paste the ARN of the group Bedrock writes to into the connection:\n"
        "aws logs describe-log-groups --region {region} --log-group-name-prefix {configured_log_group} "
        "--query 'logGroups[0].arn' --output text",
    ),
    Signature(
        "log_group_missing",
        "The log group does not exist",
        "No log group {log_group_name} in {log_group_region} for account {account_id}.",
        "Create it, or paste the ARN of the group Bedrock writes to:\n"
        "aws logs create-log-group --region {log_group_region} --log-group-name {log_group_name}\n"
        "aws bedrock get-model-invocation-logging-configuration --region {log_group_region} "
        "--query loggingConfig.cloudWatchConfig.logGroupName",
    ),
    Signature(
        "log_group_unreadable",
        "The role cannot read the invocation log group",
        "Reading {log_group_name} in {log_group_region} was denied (IAM policy, or a KMS key the role may not use).",
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsLogsRead "
        "--policy-document '" + LOGS_POLICY + "'\n"
        "If the group is KMS-encrypted, also allow kms:Decrypt on its key.",
    ),
    Signature(
        "log_bucket_missing",
        "The log bucket does not exist",
        "No bucket {log_bucket} is visible to account {account_id}.",
        "Check the name: aws s3api head-bucket --bucket {log_bucket}",
    ),
    Signature(
        "log_bucket_unreadable",
        "The role cannot read the invocation log bucket",
        "Listing s3://{log_bucket}/{log_prefix} was denied (IAM policy, bucket policy or KMS key).",
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsLogBucketRead "
        "--policy-document '" + LOG_BUCKET_POLICY + "'\n"
        "If the bucket policy denies other principals or objects are KMS-encrypted, allow the role "
        "arn:aws:iam::{account_id}:role{role_path_prefix}{role_name} there too (and kms:Decrypt).",
    ),
    Signature(
        "org_list_accounts_denied",
        "organizations:ListAccounts denied: the stack is not in the management account",
        "Organization mode enumerates member accounts with organizations:ListAccounts, which only the "
        "management account (or a delegated administrator) may call. Account {account_id} is not it"
        " (management account: {management_account_id}).",
        "Deploy the stack in the management account and point the connection at it:\n"
        "aws organizations describe-organization --query Organization.MasterAccountId --output text\n"
        "Or switch the connection to Single account mode. The role needs: " + ORG_POLICY,
    ),
    Signature(
        "member_role_missing",
        "Member role missing in account(s) {member_account_ids}",
        "The member role {member_role_name} (path {role_path_prefix}) could not be assumed in these accounts: "
        "it does not exist there, or it does not trust the connection role, so their usage would be "
        "silently missing.",
        "Deploy the member role by StackSet to these accounts (run in the management account; the StackSet is "
        "the one from this connection's page):\n"
        "aws cloudformation create-stack-instances --stack-set-name {product_slug}-MemberRole --regions us-east-1 "
        '--deployment-targets \'{"OrganizationalUnitIds":["<ou id of the accounts>"],'
        '"Accounts":{member_account_ids_json},"AccountFilterType":"INTERSECTION"}\'\n'
        "Or set the member role name on the connection to a role that exists in every member account "
        "(e.g. OrganizationAccountAccessRole or AWSControlTowerExecution).",
    ),
    Signature(
        "cur_bucket_missing",
        "The CUR bucket does not exist",
        "No bucket {cur_bucket} is visible to the role.",
        "Check the name: aws s3api head-bucket --bucket {cur_bucket}",
    ),
    Signature(
        "cur_bucket_unreadable",
        "The role cannot read the CUR bucket",
        "Listing s3://{cur_bucket}/{cur_root} was denied.",
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsCurRead --policy-document '"
        + json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::BKT"},
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::BKT/*"},
                ],
            },
            separators=(",", ":"),
        ).replace("BKT", "{cur_bucket}")
        + "'",
    ),
    Signature(
        "cur_export_missing",
        "No CUR 2.0 export files under s3://{cur_bucket}/{cur_root}",
        "Neither manifests (metadata/) nor data files (data/BILLING_PERIOD=...) exist there: the export was "
        "not created, writes elsewhere, or its first delivery (up to 24 hours) has not happened yet.",
        "See what is there: aws s3 ls s3://{cur_bucket}/{cur_prefix_slash} --recursive | head\n"
        "Create the export (in the payer account, us-east-1):\n"
        "aws bcm-data-exports create-export --region us-east-1 --export '" + CUR_EXPORT + "'",
    ),
    Signature(
        "cur_no_bedrock_rows",
        "The newest CUR file has no Amazon Bedrock rows",
        "{file} holds no row whose product family, product code, product name or operation is Bedrock. "
        "Either no Bedrock usage is billed to this payer in that period, or the export's query leaves out "
        "the product columns.",
        "Confirm Bedrock spend exists for the period:\n"
        "aws ce get-cost-and-usage --time-period Start={period_start},End={period_end} --granularity MONTHLY "
        '--metrics UnblendedCost --filter \'{"Dimensions":{"Key":"SERVICE","Values":["Amazon Bedrock"]}}\'\n'
        "Then check the export includes line_item_product_code, product and product_product_family: "
        "aws bcm-data-exports list-exports --region us-east-1",
    ),
    Signature(
        "cur_no_iam_principal",
        "The CUR export has no IAM principal data (line_item_iam_principal)",
        "Without it, billed Bedrock dollars cannot be split by caller. The export was created without "
        "'Include caller identity (IAM principal) allocation data', or {detail}.",
        "Console: Billing and Cost Management > Data Exports > {cur_export_name} > Edit > Additional export "
        "content > Include caller identity (IAM principal) allocation data. If it cannot be edited, create a "
        "new export with INCLUDE_IAM_PRINCIPAL_DATA=TRUE:\n"
        "aws bcm-data-exports create-export --region us-east-1 --export '" + CUR_EXPORT + "'\n"
        "Data appears after 24-48 hours, for usage from 2026-04-08 on.",
    ),
    Signature(
        "cost_allocation_tags_inactive",
        "IAM principal tags are not activated as cost-allocation tags",
        "The CUR `tags` column has no iamPrincipal/ keys, so team, application and cost-center tags on "
        "users and roles do not reach the bill.",
        "Console: Billing and Cost Management > Cost allocation tags > IAM principal type > select {tag_keys} > "
        "Activate. CLI:\n"
        "aws ce update-cost-allocation-tags-status --cost-allocation-tags-status {tag_status_args}\n"
        "Activation applies to usage from then on (about 24 hours).",
        severity="amber",
    ),
    Signature(
        "regions_not_configured",
        "Bedrock is used in {region}, which the connection does not read",
        "CloudWatch shows Bedrock Invocations in {region} in the last {days} days, but the connection's "
        "regions are {regions}: that usage would be missing from request-level data.",
        "Connection page > Edit > Regions: add {region}. Then check logging there:\n"
        "aws bedrock get-model-invocation-logging-configuration --region {region}",
    ),
    Signature(
        "provisioned_throughput_unreadable",
        "The role cannot list provisioned throughput",
        "bedrock:ListProvisionedModelThroughputs was denied in {region}, so idle provisioned capacity "
        "(billed per hour whether used or not) cannot be found.",
        "aws iam put-role-policy --role-name {role_name} --policy-name BedrockFinOpsProvisionedRead "
        "--policy-document '" + PT_POLICY + "'",
    ),
    Signature(
        "scp_denies_create_role",
        "A service control policy denies iam:CreateRole",
        "The organization's SCP explicitly denies creating IAM roles, typically except under an approved "
        "path (e.g. /customer-managed/). The stack cannot create its role under the default path.",
        "Find the allowed path in the SCP:\n"
        "aws organizations list-policies --filter SERVICE_CONTROL_POLICY\n"
        "aws organizations describe-policy --policy-id <policy id> --query Policy.Content --output text\n"
        "Then set the connection's role path prefix to it (connection page > Edit > Role path prefix, e.g. "
        "/customer-managed/), download the template again and re-deploy.",
    ),
    Signature(
        "stack_capabilities_missing",
        "The stack needs CAPABILITY_NAMED_IAM",
        "The template creates a named IAM role, which CloudFormation only does when told so.",
        "aws cloudformation create-stack --stack-name {product_slug}-{account_id} --template-body "
        "file://template.yaml --capabilities CAPABILITY_NAMED_IAM",
    ),
    Signature(
        "stack_role_exists",
        "A role with this name already exists",
        "Another stack (or a person) created {role_name} before; CloudFormation will not take it over.",
        "Delete the old role or its stack if it is unused: aws iam delete-role --role-name {role_name}\n"
        "Otherwise paste its ARN into the connection and skip the stack.",
    ),
]

CATALOGUE: dict[str, Signature] = {signature.code: signature for signature in _SIGNATURES}


def _role_name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1] if "/" in arn else ""


def _account_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def log_group_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, name) of arn:aws:logs:<region>:<account>:log-group:<name>[:*]."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
        return "", "", ""
    name = ":".join(parts[6:])
    if name.endswith(":*"):
        name = name[:-2]
    return parts[3], parts[4], name


def cur_root(connection: AwsConnection) -> str:
    """<prefix>/<export>/ as an S3 key prefix (no leading slash)."""
    parts = [p for p in (connection.cur_prefix.strip("/"), connection.cur_export_name.strip("/")) if p]
    return "/".join(parts) + "/" if parts else ""


def iam_principal_tag_keys(connection: AwsConnection) -> list[str]:
    keys: list[str] = []
    for candidates in connection.tenant.tag_mapping.values():
        for key in candidates:
            if key.lower().startswith("iamprincipal/"):
                keys.append(key.split("/", 1)[1])
    return list(dict.fromkeys(keys)) or ["team", "cost-center", "application"]


def connection_values(connection: AwsConnection) -> dict[str, str]:
    """Everything a remedy may name, from the connection and the backend's settings."""
    backend = (getattr(settings, "FINOPS_BACKEND_ACCOUNT_ID", "") or "").strip()
    role_name = _role_name_from_arn(connection.role_arn) or connection.role_name
    lg_region, _, lg_name = log_group_parts(connection.log_group_arn)
    regions = list(connection.regions or [])
    tag_keys = iam_principal_tag_keys(connection)
    backend_id = backend if backend and backend != PLACEHOLDER_BACKEND_ACCOUNT else ""
    slug = re.sub(r"[^A-Za-z0-9-]", "-", str(getattr(settings, "FINOPS_PRODUCT_SLUG", ""))).strip("-") or "FinOps"
    # The stack name connections.cloudformation's deploy command gives the connection's stack.
    stack_name = re.sub(r"[^A-Za-z0-9-]", "-", f"{slug}-{connection.account_id}-{connection.external_id[:8]}")[:128]
    return {
        "account_id": connection.account_id,
        "role_arn": connection.role_arn,
        "role_name": role_name,
        "role_account_id": _account_from_arn(connection.role_arn),
        "role_path_prefix": connection.role_path_prefix or "/",
        "external_id": connection.external_id,
        "backend_account_id": backend_id,
        "trust_policy": trust_policy(
            backend_id or "<backend_account_id>", connection.external_id, list(connection.allowed_source_ips or [])
        ),
        "member_role_name": connection.member_role_name,
        "region": regions[0] if regions else getattr(settings, "FINOPS_AWS_REGION", "us-east-1"),
        "regions": ", ".join(regions) or "(none)",
        "log_group_arn": connection.log_group_arn,
        "log_group_name": lg_name or "/aws/bedrock/modelinvocations",
        "log_group_region": lg_region,
        "log_bucket": connection.log_bucket,
        "log_prefix": connection.log_prefix,
        "cur_bucket": connection.cur_bucket,
        "cur_prefix": connection.cur_prefix.strip("/"),
        "cur_prefix_slash": cur_root(connection),
        "cur_root": cur_root(connection),
        "cur_export_name": connection.cur_export_name,
        "cur_region": "us-east-1",
        "logging_role_arn": f"arn:aws:iam::{connection.account_id}:role/<role Bedrock uses to write logs>",
        "product_slug": slug,
        "stack_name": stack_name,
        "tag_keys": ", ".join(tag_keys),
        "tag_status_args": " ".join(f"TagKey=iamPrincipal/{key},Status=Active" for key in tag_keys),
        "hours": "24",
        "days": "14",
    }


def fill(template: str, values: dict[str, Any]) -> str:
    """Replace {name} placeholders; unknown or empty ones become <name> so nothing looks filled that is not."""

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None or value == "":
            return "" if match.group(1) in MAY_BE_EMPTY and value == "" else f"<{match.group(1)}>"
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return str(value)

    return PLACEHOLDER.sub(replace, template)


def _values(connection: AwsConnection, extra: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = connection_values(connection)
    values.update({k: v for k, v in extra.items() if v is not None})
    ids = values.get("member_account_ids")
    if isinstance(ids, list | tuple):
        values["member_account_ids_spaced"] = " ".join(str(i) for i in ids)
        values["member_account_ids_json"] = json.dumps([str(i) for i in ids], separators=(",", ":"))
        values["member_account_ids"] = ", ".join(str(i) for i in ids)
    return values


def remedy_for(code: str, connection: AwsConnection, **values: Any) -> str:
    return fill(CATALOGUE[code].remedy, _values(connection, values))


def finding(code: str, connection: AwsConnection, *, evidence: str = "", **values: Any) -> Finding:
    signature = CATALOGUE[code]
    filled = _values(connection, values)
    return Finding(
        code=code,
        title=fill(signature.title, filled),
        cause=fill(signature.cause, filled),
        remedy=fill(signature.remedy, filled),
        evidence=evidence,
    )


# --- CloudFormation stack errors ---------------------------------------------------------------

_SCP_CREATE_ROLE = re.compile(
    r"not authorized to perform:?\s*iam:CreateRole.*explicit deny in a service control policy", re.I | re.S
)
_CAPABILITIES = re.compile(r"Requires capabilities\s*:?\s*\[?CAPABILITY_(NAMED_)?IAM", re.I)
_ROLE_EXISTS = re.compile(r"(Role with name \S+ already exists|\S+ already exists in stack)", re.I)
_PLACEHOLDER_PRINCIPAL = re.compile(r"(Invalid principal in policy|MalformedPolicyDocument).*000000000000", re.I | re.S)


def diagnose_stack_error(message: str, connection: AwsConnection) -> list[Finding]:
    """Findings for a CloudFormation failure message (a stack event's status reason) pasted by a user."""
    text = message.strip()
    evidence = text[:500]
    found: list[Finding] = []
    if _SCP_CREATE_ROLE.search(text):
        found.append(finding("scp_denies_create_role", connection, evidence=evidence))
    if _CAPABILITIES.search(text):
        found.append(finding("stack_capabilities_missing", connection, evidence=evidence))
    if _ROLE_EXISTS.search(text):
        found.append(finding("stack_role_exists", connection, evidence=evidence))
    if _PLACEHOLDER_PRINCIPAL.search(text) or (PLACEHOLDER_BACKEND_ACCOUNT in text and "principal" in text.lower()):
        found.append(finding("backend_account_placeholder", connection, evidence=evidence))
    return found
