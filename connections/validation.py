"""Validate a connection against AWS: each check green, amber, red or skipped, with its diagnosis.

run_checks is the orchestration (AWS calls in, CheckResults out; AWS errors become findings, never
exceptions). connection_validate is the service that stores the result, sets the status and audits."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from connections import aws, organizations
from connections.diagnostics import (
    PLACEHOLDER_BACKEND_ACCOUNT,
    Finding,
    diagnose_stack_error,
    finding,
    log_group_parts,
)
from connections.models import AwsConnection
from connections.services import audit_log_record

__all__ = ["CheckResult", "connection_validate", "diagnose", "diagnose_stack_error", "run_checks"]

from connections.validation_cur import _check_cur
from connections.validation_logs import _check_log_bucket, _check_log_group
from connections.validation_results import (
    GREEN,
    RED,
    REGION_WINDOW,
    SKIPPED,
    CheckResult,
    SessionFactory,
    _Facts,
    _logging_on,
    _result,
)


def _backend_account_unset() -> bool:
    backend = (getattr(settings, "FINOPS_BACKEND_ACCOUNT_ID", "") or "").strip()
    return not backend or backend == PLACEHOLDER_BACKEND_ACCOUNT


def _role_account(role_arn: str) -> str:
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""


# --- 1. role ARN and AssumeRole ----------------------------------------------------------------


def _check_assume_role(
    connection: AwsConnection, backend: boto3.session.Session
) -> tuple[CheckResult, boto3.session.Session | None]:
    label = "Assume the role with the ExternalId"
    if not connection.role_arn:
        return _result("assume_role", label, "No role ARN yet.", [finding("role_arn_missing", connection)]), None
    role_account = _role_account(connection.role_arn)
    if role_account != connection.account_id:
        item = finding(
            "role_arn_wrong_account",
            connection,
            evidence=f"role ARN {connection.role_arn} is in {role_account}; the connection is {connection.account_id}",
        )
        return _result("assume_role", label, "The role ARN is in another account.", [item]), None
    try:
        session = aws.assume_connection_role(connection, session=backend)
    except aws.AwsError as exc:
        return _result("assume_role", label, exc.summary(), _assume_findings(connection, backend, exc)), None
    return _result("assume_role", label, f"Assumed {connection.role_arn} with the ExternalId.", []), session


def _assume_findings(connection: AwsConnection, backend: boto3.session.Session, exc: aws.AwsError) -> list[Finding]:
    if not exc.access_denied:
        return [finding("assume_role_failed", connection, evidence=exc.summary())]
    if _backend_account_unset():
        evidence = (
            f"Certain: FINOPS_BACKEND_ACCOUNT_ID is not set on the backend, so the template carried the "
            f"{PLACEHOLDER_BACKEND_ACCOUNT} placeholder and the role trusts no real account. AWS said: {exc.message}"
        )
        return [finding("backend_account_placeholder", connection, evidence=evidence)]
    backend_id = settings.FINOPS_BACKEND_ACCOUNT_ID
    note = ""
    try:
        actual = aws.caller_account(backend)
    except aws.AwsError:
        actual = ""
    if actual and actual != backend_id:
        note = (
            f" Note: the backend runs as account {actual}, not FINOPS_BACKEND_ACCOUNT_ID={backend_id}; "
            f"the trust policy must name the account the backend really runs in."
        )
    both = (
        f"AccessDenied on sts:AssumeRole. From outside, two causes look the same: a different ExternalId in "
        f"the trust policy, or a trust policy naming {PLACEHOLDER_BACKEND_ACCOUNT} (or another account) instead "
        f"of the backend account {backend_id}. AWS said: {exc.message}.{note}"
    )
    return [
        finding("external_id_mismatch", connection, evidence=both),
        finding("backend_account_placeholder", connection, evidence=both),
    ]


# --- 2. CloudWatch sample read, and Invocations per region --------------------------------------


def _metric_queries(metrics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Invocations metrics to sum: the all-models aggregate if listed, else one per ModelId."""
    aggregate = [m for m in metrics if not m.get("Dimensions")]
    per_model = [m for m in metrics if [d.get("Name") for d in m.get("Dimensions", [])] == ["ModelId"]]
    chosen = aggregate or per_model or [{"Namespace": "AWS/Bedrock", "MetricName": "Invocations", "Dimensions": []}]
    return [
        {
            "Id": f"m{index}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Bedrock",
                    "MetricName": "Invocations",
                    "Dimensions": metric.get("Dimensions", []),
                },
                "Period": 3600,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for index, metric in enumerate(chosen[:500])
    ]


def _invocations(cloudwatch: Any, now: datetime, lookback: timedelta) -> tuple[float, float]:
    """(invocations in the lookback window, in the last 14 days) in the client's region. Raises AwsError."""
    with aws.aws_errors("cloudwatch:ListMetrics"):
        metrics: list[dict[str, Any]] = []
        for page in cloudwatch.get_paginator("list_metrics").paginate(
            Namespace="AWS/Bedrock", MetricName="Invocations"
        ):
            metrics.extend(page.get("Metrics", []))
    queries = _metric_queries(metrics)
    recent = total = 0.0
    since = now - lookback
    with aws.aws_errors("cloudwatch:GetMetricData"):
        for start in range(0, len(queries), 100):
            paginator = cloudwatch.get_paginator("get_metric_data")
            for page in paginator.paginate(
                MetricDataQueries=queries[start : start + 100], StartTime=now - REGION_WINDOW, EndTime=now
            ):
                for series in page.get("MetricDataResults", []):
                    for stamp, value in zip(series.get("Timestamps", []), series.get("Values", []), strict=False):
                        total += value
                        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                        if stamp >= since:
                            recent += value
    return recent, total


def _check_cloudwatch(connection: AwsConnection, facts: _Facts, regions: list[str]) -> CheckResult:
    label = "Read CloudWatch metrics in AWS/Bedrock"
    denied: list[str] = []
    errors: list[str] = []
    for region in regions:
        try:
            recent, total = _invocations(aws.client(facts.session, "cloudwatch", region), facts.now, facts.lookback)
        except aws.AwsError as exc:
            (denied if exc.access_denied else errors).append(f"{region}: {exc.summary()}")
            continue
        facts.invocations_24h[region] = recent
        facts.invocations_14d[region] = total
    facts.cloudwatch_ok = bool(facts.invocations_14d)
    if denied:
        item = finding("cloudwatch_permission_missing", connection, evidence="; ".join(denied))
        return _result("cloudwatch_read", label, "CloudWatch read denied.", [item])
    hours = int(facts.lookback.total_seconds() // 3600)
    counts = ", ".join(f"{r} {facts.invocations_24h[r]:,.0f}" for r in regions if r in facts.invocations_24h)
    message = f"Invocations in the last {hours} h: {counts or 'none'}."
    if errors:
        return _result("cloudwatch_read", label, message + " Not read: " + "; ".join(errors), [], warn=True)
    return _result("cloudwatch_read", label, message, [])


# --- 3. logging configuration per region -------------------------------------------------------


def _logging_role(facts: _Facts) -> str | None:
    for config in facts.logging.values():
        role = ((config or {}).get("cloudWatchConfig") or {}).get("roleArn")
        if role:
            return str(role)
    return None


def _check_logging(connection: AwsConnection, facts: _Facts, region: str) -> CheckResult:
    key, label = f"logging_config:{region}", f"Invocation logging in {region}"
    try:
        with aws.aws_errors("bedrock:GetModelInvocationLoggingConfiguration"):
            response = aws.client(facts.session, "bedrock", region).get_model_invocation_logging_configuration()
    except aws.AwsError as exc:
        facts.logging[region] = None
        if exc.access_denied:
            item = finding("logging_config_unreadable", connection, evidence=exc.summary(), region=region)
            return _result(key, label, "Cannot read the logging configuration.", [item])
        if exc.not_implemented or exc.unreachable:
            return CheckResult(key, label, SKIPPED, f"Not available here: {exc.summary()}")
        return _result(key, label, exc.summary(), [], warn=True)
    config = response.get("loggingConfig") or {}
    facts.logging[region] = config
    if not _logging_on(config):
        uses_logs = bool(connection.log_group_arn or connection.log_bucket)
        item = finding(
            "logging_off_in_region",
            connection,
            evidence=f"get-model-invocation-logging-configuration in {region} returned no destination",
            region=region,
            logging_role_arn=_logging_role(facts),
        )
        if not uses_logs:
            # Logs are an optional source and this connection reads none: not a failure, but the
            # remedy is kept for when per-request data is wanted.
            message = "Logging is off; this connection reads no invocation logs, so that is not a failure."
            return CheckResult(key, label, SKIPPED, message, [item])
        return _result(key, label, "Logging is off.", [item])
    parts = []
    group = (config.get("cloudWatchConfig") or {}).get("logGroupName")
    if group:
        parts.append(f"CloudWatch Logs group {group}")
    bucket = (config.get("s3Config") or {}).get("bucketName")
    if bucket:
        parts.append(f"S3 bucket {bucket}")
    bodies = [k for k in ("textDataDeliveryEnabled", "imageDataDeliveryEnabled") if config.get(k)]
    message = "Logging on to " + " and ".join(parts) + "."
    if bodies:
        message += " Bodies are delivered too (prompts are hashed at ingestion and never stored)."
    findings: list[Finding] = []
    lg_region, _, lg_name = log_group_parts(connection.log_group_arn)
    if group and lg_region == region and lg_name and group != lg_name:
        findings.append(
            finding(
                "log_group_not_logging_target",
                connection,
                evidence=f"logging in {region} writes to {group}",
                region=region,
                configured_log_group=group,
            )
        )
    return _result(key, label, message, findings)


# --- 4. regions: invocations vs logging vs configured --------------------------------------------


def _scan_regions(facts: _Facts, regions: Iterable[str]) -> dict[str, float]:
    """Invocations (14 days) in regions outside the connection's list; unreadable regions are left out."""
    regions = list(regions)
    if not regions:
        return {}
    clients = {region: aws.client(facts.session, "cloudwatch", region) for region in regions}

    def one(region: str) -> tuple[str, float | None]:
        try:
            return region, _invocations(clients[region], facts.now, facts.lookback)[1]
        except Exception:  # opt-in regions answer with auth errors; an unreadable region is not a finding
            return region, None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return {region: total for region, total in pool.map(one, regions) if total is not None}


def _check_regions(connection: AwsConnection, facts: _Facts, configured: list[str], scan: Iterable[str]) -> CheckResult:
    label = "Bedrock regions: invocations, logging and configuration"
    if not facts.cloudwatch_ok:
        return CheckResult("regions", label, SKIPPED, "Needs CloudWatch read access.")
    others = _scan_regions(facts, [r for r in scan if r not in configured])
    used = {r: n for r, n in {**facts.invocations_14d, **others}.items() if n > 0}
    logging_regions = sorted(r for r, c in facts.logging.items() if _logging_on(c))
    lg_region = log_group_parts(connection.log_group_arn)[0]
    findings: list[Finding] = []
    days = REGION_WINDOW.days
    for region in sorted(used):
        logging_known = region in facts.logging and facts.logging[region] is not None
        logging_here = _logging_on(facts.logging.get(region))
        elsewhere = [r for r in logging_regions if r != region]
        if not elsewhere and lg_region and lg_region != region and lg_region not in facts.logging:
            elsewhere = [lg_region]  # logging not read there, but the connection's log group is there
        # First: the most common silent failure (sync "succeeds" with zero events forever).
        if not logging_here and elsewhere and (logging_known or region not in configured):
            findings.append(
                finding(
                    "log_group_region_mismatch",
                    connection,
                    evidence=(
                        f"{used[region]:,.0f} Invocations in {region} in {days} days; logging configured in "
                        f"{', '.join(elsewhere)}"
                    ),
                    region=region,
                    logging_regions=", ".join(elsewhere),
                    logging_role_arn=_logging_role(facts),
                )
            )
        if region not in configured:
            findings.append(
                finding(
                    "regions_not_configured",
                    connection,
                    evidence=f"{used[region]:,.0f} Invocations in {region} in {days} days",
                    region=region,
                    days=days,
                )
            )
    summary = ", ".join(f"{r} {n:,.0f}" for r, n in sorted(used.items())) or "none"
    message = f"Invocations in the last {days} days: {summary}. Logging on in: {', '.join(logging_regions) or 'none'}."
    return _result("regions", label, message, findings)


# --- 8. provisioned throughput -----------------------------------------------------------------


def _check_provisioned(connection: AwsConnection, facts: _Facts, regions: list[str]) -> CheckResult:
    label = "List provisioned throughput"
    denied: list[str] = []
    unavailable: list[str] = []
    counts: dict[str, int] = {}
    for region in regions:
        try:
            with aws.aws_errors("bedrock:ListProvisionedModelThroughputs"):
                paginator = aws.client(facts.session, "bedrock", region).get_paginator(
                    "list_provisioned_model_throughputs"
                )
                summaries = [
                    summary
                    for page in paginator.paginate(PaginationConfig={"PageSize": 100})
                    for summary in page.get("provisionedModelSummaries", [])
                ]
        except aws.AwsError as exc:
            # Only a denial says something about the role. Anything else (an emulator without the
            # API, a region without Bedrock, a 500) leaves the question open: skipped, not red.
            (denied if exc.access_denied else unavailable).append(f"{region}: {exc.code}")
            continue
        counts[region] = len(summaries)
    if denied:
        items = [
            finding(
                "provisioned_throughput_unreadable",
                connection,
                evidence=f"AccessDenied on ListProvisionedModelThroughputs in {', '.join(denied)}",
                region=denied[0].split(":")[0],
            )
        ]
        return _result("provisioned_throughput", label, "Listing provisioned throughput was denied.", items)
    if not counts:
        return CheckResult("provisioned_throughput", label, SKIPPED, "Not available: " + "; ".join(unavailable))
    message = "Provisioned models: " + ", ".join(f"{r} {n}" for r, n in counts.items()) + "."
    if unavailable:
        message += " Not available: " + "; ".join(unavailable)
    return _result("provisioned_throughput", label, message, [])


# --- 9. organization ---------------------------------------------------------------------------


def _check_organization(connection: AwsConnection, facts: _Facts) -> list[CheckResult]:
    org_label, members_label = "Enumerate member accounts", "Assume the member role in each account"
    skipped = CheckResult("member_roles", members_label, SKIPPED, "Needs the member accounts listed.")
    management = ""
    try:
        management = str(organizations.describe_organization(facts.session).get("MasterAccountId", ""))
    except aws.AwsError as exc:
        if exc.code == organizations.NOT_IN_ORGANIZATION:
            item = finding(
                "org_list_accounts_denied",
                connection,
                evidence=f"account {connection.account_id} is not in an organization ({exc.code})",
                management_account_id="none, it is not in an organization",
            )
            return [_result("organization", org_label, "Not in an organization.", [item]), skipped]
        # Without DescribeOrganization, ListAccounts below still tells.
    if management and management != connection.account_id:
        item = finding(
            "org_list_accounts_denied",
            connection,
            evidence=f"the management account of the organization is {management}, not {connection.account_id}",
            management_account_id=management,
        )
        return [_result("organization", org_label, "Not the management account.", [item]), skipped]
    try:
        members = organizations.sync_member_accounts(connection, facts.session)
    except aws.AwsError as exc:
        if exc.access_denied or exc.code == organizations.NOT_IN_ORGANIZATION:
            item = finding(
                "org_list_accounts_denied",
                connection,
                evidence=exc.summary(),
                management_account_id=management or None,
            )
            return [_result("organization", org_label, "ListAccounts was denied.", [item]), skipped]
        return [_result("organization", org_label, exc.summary(), [], warn=True), skipped]
    org = _result("organization", org_label, f"{len(members)} member account(s) besides {connection.account_id}.", [])
    ok = [m for m in members if m.role_status == m.RoleStatus.OK]
    findings = organizations.member_findings(connection, members)
    others = [m for m in members if m.role_status == m.RoleStatus.NOT_CHECKED]
    message = f"Member role {aws.member_role_arn(connection, '<account>')}: {len(ok)} of {len(members)} reachable."
    if others:
        message += " Not checked: " + "; ".join(m.last_error or m.account_id for m in others)
    return [org, _result("member_roles", members_label, message, findings, warn=bool(others))]


# --- orchestration -----------------------------------------------------------------------------


def _skipped_after_role(connection: AwsConnection, regions: list[str]) -> list[CheckResult]:
    reason = "Skipped: the role could not be assumed."
    keys = [("cloudwatch_read", "Read CloudWatch metrics in AWS/Bedrock")]
    keys += [(f"logging_config:{r}", f"Invocation logging in {r}") for r in regions]
    keys += [
        ("regions", "Bedrock regions: invocations, logging and configuration"),
        ("log_group", "Read the invocation log group"),
        ("log_bucket", "Read the invocation log bucket"),
        ("cur_bucket", "List the CUR 2.0 export"),
        ("cur_contents", "CUR 2.0 contents: Bedrock rows and IAM principals"),
        ("provisioned_throughput", "List provisioned throughput"),
    ]
    if connection.is_organization:
        keys += [
            ("organization", "Enumerate member accounts"),
            ("member_roles", "Assume the member role in each account"),
        ]
    return [CheckResult(key, label, SKIPPED, reason) for key, label in keys]


def run_checks(
    connection: AwsConnection,
    *,
    session_factory: SessionFactory | None = None,
    now: datetime | None = None,
    lookback: timedelta = timedelta(hours=24),
    scan_regions: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Every check, in order. AWS errors become findings; nothing here raises for them.

    session_factory gives the backend's own session (default aws.backend_session). scan_regions are
    the regions searched for Bedrock Invocations outside the connection's list (default: every region
    botocore knows for Bedrock)."""
    moment = now or timezone.now()
    regions = list(dict.fromkeys(connection.regions or [settings.FINOPS_AWS_REGION]))
    backend = (session_factory or aws.backend_session)()
    first, session = _check_assume_role(connection, backend)
    if session is None:
        return [first, *_skipped_after_role(connection, regions)]
    facts = _Facts(session=session, now=moment, lookback=lookback)
    results = [first, _check_cloudwatch(connection, facts, regions)]
    results += [_check_logging(connection, facts, region) for region in regions]
    scan = list(scan_regions) if scan_regions is not None else aws.available_regions("bedrock")
    results.append(_check_regions(connection, facts, regions, scan))
    results.append(_check_log_group(connection, facts))
    results.append(_check_log_bucket(connection, facts))
    results += _check_cur(connection, facts)
    results.append(_check_provisioned(connection, facts, regions))
    if connection.is_organization:
        results += _check_organization(connection, facts)
    return results


def overall_status(results: list[CheckResult]) -> str:
    """connected: all green or skipped; failed: the role cannot be assumed; degraded: anything else."""
    role = next((r for r in results if r.key == "assume_role"), None)
    if role is None or role.status == RED:
        return AwsConnection.Status.FAILED
    if all(r.status in (GREEN, SKIPPED) for r in results):
        return AwsConnection.Status.CONNECTED
    return AwsConnection.Status.DEGRADED


def _first_error(results: list[CheckResult]) -> str:
    for result in results:
        if result.status != RED:
            continue
        for item in result.findings:
            if item.severity == RED:
                return f"{result.label}: {item.title}" + (f" ({item.evidence})" if item.evidence else "")
        return f"{result.label}: {result.message}"
    return ""


def connection_validate(
    *,
    connection: AwsConnection,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    session_factory: SessionFactory | None = None,
    scan_regions: Iterable[str] | None = None,
) -> list[CheckResult]:
    """Run the checks, store them with the time and the status, and audit the result."""
    if connection.status == AwsConnection.Status.PAUSED:
        raise ValueError(f"Connection {connection.name!r} is paused: resume it before validating.")
    # AWS calls run outside the transaction; only the outcome is written atomically.
    results = run_checks(connection, session_factory=session_factory, scan_regions=scan_regions)
    status = overall_status(results)
    with transaction.atomic():
        connection.last_validation = [r.as_dict() for r in results]
        connection.last_validated_at = timezone.now()
        connection.last_error = _first_error(results)[:5000]
        connection.status = status
        connection.save(update_fields=["last_validation", "last_validated_at", "last_error", "status", "updated_at"])
        audit_log_record(
            tenant=connection.tenant,
            actor=actor,
            action="connection.validated",
            target=connection.name,
            details={
                "connection_id": connection.pk,
                "status": status,
                "checks": {r.key: r.status for r in results},
                "findings": [f.code for r in results for f in r.findings],
            },
        )
        if status in (AwsConnection.Status.CONNECTED, AwsConnection.Status.DEGRADED):
            transaction.on_commit(lambda: first_sync_queue(connection))
    return results


def first_sync_queue(connection: AwsConnection) -> bool:
    """After the first green (or degraded) validation, queue the connection's first sync, which backfills 90
    days; later syncs come from the schedules. True when one was queued."""
    if connection.sync_states.exists() or connection.sync_runs.exists():
        return False
    from django_q.tasks import async_task

    async_task("ingestion.tasks.sync_connection_task", connection.pk, None, "validation", group="sync")
    return True


def diagnose(connection: AwsConnection) -> list[Finding]:
    """The findings of the stored validation; before any validation, what the configuration alone shows."""
    if connection.last_validation:
        return [
            item
            for data in connection.last_validation
            if isinstance(data, dict)
            for item in CheckResult.from_dict(data).findings
        ]
    found: list[Finding] = []
    if not connection.role_arn:
        found.append(finding("role_arn_missing", connection))
    elif _role_account(connection.role_arn) != connection.account_id:
        found.append(
            finding(
                "role_arn_wrong_account",
                connection,
                evidence=f"role ARN {connection.role_arn} is not in account {connection.account_id}",
            )
        )
    if _backend_account_unset():
        found.append(
            finding(
                "backend_account_placeholder",
                connection,
                evidence="FINOPS_BACKEND_ACCOUNT_ID is not set on the backend: a template would carry the placeholder",
            )
        )
    return found
