"""Classify the caller ARN found in CUR ``line_item_iam_principal`` and in invocation logs.

Pure functions only: no Django, no I/O. Shapes come from ``reference/aws-formats.md``
sections A.5 (CUR) and B.2 (``identity.arn`` in model invocation logs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRINCIPAL_TYPES = ("iam_user", "api_key", "assumed_role", "federated_user", "sso_user", "service")

# Any partition (aws, aws-cn, aws-us-gov, aws-iso...), IAM or STS. The account is checked
# separately so an ARN with a malformed account still yields a principal.
_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-z0-9-]*):(?P<service>[a-z0-9-]+):[^:]*:(?P<account>[^:]*):(?P<resource>.+)$",
    re.IGNORECASE,
)
_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")

# Bedrock long-term API keys are backed by an IAM user AWS names `BedrockAPIKey-<id>`.
_API_KEY_PREFIX = "bedrockapikey-"

# IAM Identity Center permission-set roles are always named `AWSReservedSSO_<set>_<hex>`
# and live under this path; the session name is the Identity Center user name.
_SSO_ROLE_PREFIX = "awsreservedsso_"
_SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"

# Rules for "an AWS service called Bedrock, not a person or an app" (case-insensitive):
# - role name starts with `AWSServiceRole`: service-linked roles, only AWS can assume them;
#   their IAM path is `aws-service-role/`.
# - role name starts with `AmazonBedrockExecutionRole`: the console's default name for the
#   roles Bedrock itself assumes for agents, knowledge bases, batch jobs and model
#   customization [INF: naming convention, not a guarantee].
# - session name starts with one of _SERVICE_SESSION_PREFIXES: services that name the STS
#   session after themselves. `BedrockAgentCore-<uuid>` is observed in CUR [OBS]; the rest
#   follow the same habit in CloudTrail [INF].
_SERVICE_ROLE_PREFIXES = ("awsservicerole", "amazonbedrockexecutionrole")
_SERVICE_ROLE_PATH = "aws-service-role/"
_SERVICE_SESSION_PREFIXES = (
    "bedrockagentcore",
    "bedrockbatchinference",
    "bedrockagent",
    "bedrockknowledgebase",
    "bedrockflows",
    "bedrockmodelcustomization",
    "bedrockevaluation",
    "awsbackup",
    "awscloudformation",
)

# Service principals as they appear outside ARNs: `bedrock.amazonaws.com`,
# `agentcore.bedrock.amazonaws.com`, China's `.amazonaws.com.cn`.
_SERVICE_PRINCIPAL_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Principal:
    """Who called Bedrock, reduced to what cost attribution groups by."""

    arn: str
    principal_type: str
    principal_name: str = ""
    role_name: str = ""
    account_id: str = ""


def parse_principal(arn: str | None) -> Principal | None:
    """Classify a caller ARN; ``None`` for empty input or anything that is not a principal.

    Never raises.
    """
    if not isinstance(arn, str):
        return None
    text = arn.strip()
    if not text:
        return None

    match = _ARN_RE.match(text)
    if match is None:
        if _SERVICE_PRINCIPAL_RE.match(text):
            return Principal(arn=text, principal_type="service", principal_name=text)
        return None

    account = match["account"] if _ACCOUNT_RE.match(match["account"]) else ""
    resource = match["resource"]
    kind, _, path = resource.partition("/")
    kind = kind.lower()

    if kind == "root" and not path:
        return Principal(arn=text, principal_type="iam_user", principal_name="root", account_id=account)
    if kind == "user" and path:
        return _user(text, path, account)
    if kind == "assumed-role" and path:
        return _assumed_role(text, path, account)
    if kind == "role" and path:
        return _role(text, path, account)
    if kind == "federated-user" and path:
        return Principal(arn=text, principal_type="federated_user", principal_name=path, account_id=account)
    # Groups, policies, providers and the like cannot make API calls.
    return None


def _user(arn: str, path: str, account: str) -> Principal:
    # IAM user paths (`user/dev/alice`) are organisational; the name is the last part.
    name = path.rsplit("/", 1)[-1]
    kind = "api_key" if name.lower().startswith(_API_KEY_PREFIX) else "iam_user"
    return Principal(arn=arn, principal_type=kind, principal_name=name, account_id=account)


def _assumed_role(arn: str, path: str, account: str) -> Principal:
    # STS drops the role path, so this is `<role>/<session>`; session names cannot hold
    # "/", but anything after the first one is kept as the session just in case.
    role, _, session = path.partition("/")
    role_lower, session_lower = role.lower(), session.lower()

    if role_lower.startswith(_SSO_ROLE_PREFIX):
        kind = "sso_user"
    elif role_lower.startswith(_SERVICE_ROLE_PREFIXES) or session_lower.startswith(_SERVICE_SESSION_PREFIXES):
        kind = "service"
    elif "@" in session:
        # Identity providers pass the user's e-mail as the session name (A.5 table).
        kind = "federated_user"
    else:
        kind = "assumed_role"
    return Principal(arn=arn, principal_type=kind, principal_name=session, role_name=role, account_id=account)


def _role(arn: str, path: str, account: str) -> Principal:
    # A role ARN (not a session) names no person; keep the role and leave the name empty.
    role = path.rsplit("/", 1)[-1]
    role_lower, path_lower = role.lower(), path.lower()
    if role_lower.startswith(_SSO_ROLE_PREFIX) or path_lower.startswith(_SSO_ROLE_PATH):
        kind = "sso_user"
    elif role_lower.startswith(_SERVICE_ROLE_PREFIXES) or path_lower.startswith(_SERVICE_ROLE_PATH):
        kind = "service"
    else:
        kind = "assumed_role"
    return Principal(arn=arn, principal_type=kind, role_name=role, account_id=account)
