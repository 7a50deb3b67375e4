"""Forms of the connection wizard and the edit page.

The wizard is three forms, one per step; the edit form is the three together plus the role ARN. The
ExternalId is in none of them: connection_create generates it and nothing a user posts can set it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms

from connections.models import (
    AwsConnection,
    Tenant,
    account_id_validator,
    path_validator,
    role_arn_validator,
    role_name_validator,
)

REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _split(value: str) -> list[str]:
    """Items separated by commas, spaces or new lines, duplicates dropped, order kept."""
    items = [item.strip() for item in re.split(r"[\s,]+", value or "") if item.strip()]
    return list(dict.fromkeys(items))


def _join(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values or "")


class ListField(forms.CharField):
    """A comma-separated text box that cleans to a list of strings (stored as a JSON list)."""

    def prepare_value(self, value: Any) -> Any:
        return _join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return _split(super().to_python(value))


class AccountForm(forms.Form):
    """Step 1: which account, and whether it is one account or an Organization's management account."""

    step = 1
    title = "Account and mode"

    name = forms.CharField(
        max_length=100,
        help_text="A name your team recognises, e.g. “prod” or “payer”. Unique within this tenant.",
    )
    account_id = forms.CharField(
        label="AWS account id",
        max_length=12,
        validators=[account_id_validator],
        help_text="The 12-digit id of the account the read-only role is created in "
        "(for Organization mode: the management account).",
    )
    mode = forms.ChoiceField(
        choices=AwsConnection.Mode.choices,
        initial=AwsConnection.Mode.SINGLE_ACCOUNT,
        widget=forms.RadioSelect,
        help_text="Single account: Bedrock usage of this account only. Organization: the management account "
        "plus a role in each member account (deployed with a StackSet), so usage of every member account is seen.",
    )

    def __init__(self, *args: Any, tenant: Tenant, exclude_pk: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        self.exclude_pk = exclude_pk

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = AwsConnection.objects.filter(tenant=self.tenant, name=name)
        if self.exclude_pk is not None:
            others = others.exclude(pk=self.exclude_pk)
        if others.exists():
            raise forms.ValidationError(f"This tenant already has a connection named “{name}”: choose another name.")
        return name


class ModeOptionsForm(forms.Form):
    """Step 2: how the role is named and where Bedrock runs."""

    step = 2
    title = "Mode options"

    member_role_name = forms.CharField(
        label="Member role name",
        max_length=64,
        required=False,
        initial="OrganizationAccountAccessRole",
        validators=[role_name_validator],
        help_text="Organization mode only: the role the connection assumes in each member account. "
        "OrganizationAccountAccessRole (or AWSControlTowerExecution under Control Tower) already exists there; "
        "any other name is created read-only by the StackSet offered at the deploy step. Without a reachable member "
        "role, member accounts' metrics, logging settings and logs are not read.",
    )
    role_path_prefix = forms.CharField(
        label="IAM path prefix",
        max_length=512,
        required=False,
        validators=[path_validator],
        help_text='Optional IAM path for the read-only role, e.g. "/customer-managed/", when your SCPs only allow '
        "roles under a path. Empty means the root path /.",
    )
    regions = ListField(
        initial="us-east-1",
        help_text="The regions you call Bedrock in, comma-separated, e.g. “us-east-1, eu-west-1”. Usage, metrics "
        "and logging settings of regions not listed are not read.",
    )
    allowed_source_ips = ListField(
        label="Allowed source IPs",
        required=False,
        help_text="Optional CIDRs the role may be used from (aws:SourceIp), e.g. “203.0.113.0/24”. "
        "Empty means no IP condition.",
    )

    def clean_member_role_name(self) -> str:
        return self.cleaned_data["member_role_name"].strip() or "OrganizationAccountAccessRole"

    def clean_regions(self) -> list[str]:
        regions = self.cleaned_data["regions"]
        if not regions:
            raise forms.ValidationError("Give at least one region, e.g. us-east-1.")
        bad = [r for r in regions if not REGION_RE.match(r)]
        if bad:
            raise forms.ValidationError(f"Not a region code: {', '.join(bad)}. Use codes such as us-east-1.")
        return regions

    def clean_allowed_source_ips(self) -> list[str]:
        cidrs = self.cleaned_data["allowed_source_ips"]
        bad = []
        for cidr in cidrs:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                bad.append(cidr)
        if bad:
            raise forms.ValidationError(f"Not an IP address or CIDR: {', '.join(bad)}.")
        return cidrs


class DataSourcesForm(forms.Form):
    """Step 3: where the bill and the invocation logs are; each one optional, each with what is lost without it."""

    step = 3
    title = "Data sources"

    cur_bucket = forms.CharField(
        label="CUR 2.0 bucket",
        max_length=63,
        required=False,
        help_text="The S3 bucket your CUR 2.0 (Data Exports) export writes to. Without CUR: no billed dollars, "
        "only estimates priced from the catalog; credits, discounts, tax and provisioned throughput are missing.",
    )
    cur_prefix = forms.CharField(
        label="CUR prefix",
        max_length=512,
        required=False,
        help_text="The export's S3 prefix, without the export name, e.g. “cur2”.",
    )
    cur_export_name = forms.CharField(
        label="CUR export name",
        max_length=128,
        required=False,
        help_text="The name of the Data Exports export; needed together with the bucket.",
    )
    cur_payer_account_id = forms.CharField(
        label="CUR payer account id",
        max_length=12,
        required=False,
        validators=[account_id_validator],
        help_text="Only when the bucket lives in another (payer) account than the one above.",
    )
    log_group_arn = forms.CharField(
        label="Invocation log group ARN",
        max_length=512,
        required=False,
        help_text="The CloudWatch Logs group Bedrock model invocation logging writes to. Without invocation logs: "
        "no per-request attribution (team, application, user, agent), only totals per model.",
    )
    log_bucket = forms.CharField(
        label="Invocation log bucket",
        max_length=63,
        required=False,
        help_text="The S3 bucket of invocation logs, if logging goes to S3 instead of (or as well as) CloudWatch. "
        "Without a log group or bucket: no per-request attribution.",
    )
    log_prefix = forms.CharField(
        label="Invocation log prefix",
        max_length=512,
        required=False,
        help_text="The S3 key prefix of the invocation logs, e.g. “bedrock-logs/”.",
    )

    def _bucket(self, field: str) -> str:
        value = self.cleaned_data[field].strip()
        if value and not BUCKET_RE.match(value):
            raise forms.ValidationError("An S3 bucket name: 3-63 lowercase letters, digits, dots and hyphens.")
        return value

    def clean_cur_bucket(self) -> str:
        return self._bucket("cur_bucket")

    def clean_log_bucket(self) -> str:
        return self._bucket("log_bucket")

    def clean_log_group_arn(self) -> str:
        value = self.cleaned_data["log_group_arn"].strip()
        if value and not re.match(r"^arn:aws[\w-]*:logs:[a-z0-9-]+:\d{12}:log-group:.+", value):
            raise forms.ValidationError(
                "Paste the log group ARN, e.g. arn:aws:logs:us-east-1:123456789012:log-group:/aws/bedrock/invocations"
            )
        return value.removesuffix(":*")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("cur_bucket") and not data.get("cur_export_name"):
            self.add_error("cur_export_name", "Give the CUR 2.0 export name together with its bucket.")
        if (data.get("cur_prefix") or data.get("cur_export_name")) and not data.get("cur_bucket"):
            self.add_error("cur_bucket", "Give the bucket of the CUR export, or leave the CUR fields empty.")
        if data.get("log_prefix") and not data.get("log_bucket"):
            self.add_error("log_bucket", "Give the bucket the log prefix is in, or leave the prefix empty.")
        return data


WIZARD_STEPS: tuple[type[forms.Form], ...] = (AccountForm, ModeOptionsForm, DataSourcesForm)


class ConnectionEditForm(AccountForm, ModeOptionsForm, DataSourcesForm):
    """Everything the wizard asks, plus the role ARN, on one page. The ExternalId stays as it is."""

    field_order = [name for form in (AccountForm, ModeOptionsForm, DataSourcesForm) for name in form.base_fields]

    role_arn = forms.CharField(
        label="Role ARN",
        max_length=2048,
        required=False,
        validators=[role_arn_validator],
        help_text="The ARN of the role the stack created (stack output RoleArn). Without it nothing can be "
        "validated or pulled.",
    )

    def clean(self) -> dict[str, Any]:
        return DataSourcesForm.clean(self)


class RoleArnForm(forms.Form):
    role_arn = forms.CharField(
        label="Role ARN",
        max_length=2048,
        validators=[role_arn_validator],
        help_text="Paste the RoleArn output of the stack, e.g. arn:aws:iam::123456789012:role/BedrockFinOps-…",
    )

    def __init__(self, *args: Any, connection: AwsConnection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection

    def clean_role_arn(self) -> str:
        arn = self.cleaned_data["role_arn"].strip()
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if account and account != self.connection.account_id:
            raise forms.ValidationError(
                f"This role is in account {account}, but the connection is for account "
                f"{self.connection.account_id}: paste the ARN of the role the stack created there."
            )
        return arn


def initial_from_connection(connection: AwsConnection) -> dict[str, Any]:
    fields = {name for form in (*WIZARD_STEPS, ConnectionEditForm) for name in form.base_fields}
    return {name: getattr(connection, name) for name in fields}


# --- personal API tokens ---------------------------------------------------------------------------------

TOKEN_LIFETIMES = [("", "Never"), ("30", "In 30 days"), ("90", "In 90 days"), ("365", "In a year")]


class ApiTokenForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. “nightly chargeback export”.")
    tenant = forms.ModelChoiceField(
        label="Tenant",
        queryset=Tenant.objects.none(),
        required=False,
        empty_label="All my tenants",
        help_text="Limit the token to one tenant, or let it reach every tenant you can (with your role on each).",
    )
    expires = forms.ChoiceField(label="Expires", choices=TOKEN_LIFETIMES, required=False)

    def __init__(self, *args: Any, tenants: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants  # type: ignore[attr-defined]
