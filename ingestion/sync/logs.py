"""Bedrock invocation logs from CloudWatch Logs (the connection's log group, read in its own region) and from S3
(`<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/*.json.gz`), loaded in batches
through ingestion.services.import_invocation_logs.

The watermark, per account and region:
    {"cloudwatch": {"last_ms": <epoch ms loaded up to>},
     "s3": {"last_hour": "YYYY/MM/DD/HH", "done_keys": [keys already loaded in the hours re-read]}}
Each run re-reads LOG_OVERLAP_SECONDS before the watermark so late events are not missed; the importer's
requestId dedupe makes the overlap harmless. FilterLogEvents is held to 5 requests a second per account and
region, and backs off on ThrottlingException; throttling that persists ends the run as partial, its watermark
where it stopped, and the next sync resumes there."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from connections import aws
from connections.diagnostics import log_group_parts, remedy_for
from connections.models import AwsConnection
from ingestion.models import ImportRun
from ingestion.sync.base import LOG_OVERLAP_SECONDS, Checkpoint, Progress, SourceResult, Target
from ingestion.sync.logs_common import (
    LOGS_REQUESTS_PER_SECOND,
    THROTTLE_CODES,
    LogOptions,
    Part,
    RateLimiter,
    Throttled,
    backoff,
    combine,
    copy,
    from_ms,
    import_file,
    one_line,
    temp_dir,
    to_ms,
)
from ingestion.sync.logs_s3 import read_s3

# --- the source ------------------------------------------------------------------------------------


def sync_logs(
    target: Target,
    *,
    watermark: dict[str, Any],
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
    options: LogOptions | None = None,
) -> SourceResult:
    connection = target.connection
    if not connection.log_group_arn and not connection.log_bucket:
        return SourceResult.skipped(
            "No invocation log source is configured: set the log group ARN or the log bucket on the connection.",
            watermark,
        )
    options = options or LogOptions()
    state = copy(watermark)
    parts: list[Part] = []
    if connection.log_group_arn:
        parts.append(read_cloudwatch(target, state, since=since, until=until, checkpoint=checkpoint, say=say,
                                     options=options))  # fmt: skip
    if connection.log_bucket:
        parts.append(read_s3(target, state, since=since, until=until, checkpoint=checkpoint, say=say,
                             options=options))  # fmt: skip
    return combine(parts, state)


# --- CloudWatch Logs -------------------------------------------------------------------------------


def _regions(connection: AwsConnection) -> list[str]:
    return list(connection.regions or []) or [settings.FINOPS_AWS_REGION]


def _where(target: Target, part: Part) -> tuple[str, str] | None:
    """(region, group name) to read for this target, or None with the part skipped or failed."""
    connection = target.connection
    region, account, name = log_group_parts(connection.log_group_arn)
    if not name:
        part.fail(
            f"The log group ARN {connection.log_group_arn!r} is not arn:aws:logs:<region>:<account>:log-group:<name>.",
            remedy_for("log_group_missing", connection),
        )
        return None
    if region != target.region:
        if region not in _regions(connection):
            # The orchestrator never reads the group's region: its logs would never be read.
            part.fail(
                f"The log group is in {region}, which is not one of the connection's regions "
                f"({', '.join(_regions(connection))}), so it is never read; invocations in {target.region} are "
                "not logged there.",
                f"Add {region} to the connection's regions (a log group is read with its own region). If Bedrock "
                f"runs in {target.region} too, log there as well:\n"
                + remedy_for("log_group_region_mismatch", connection, region=target.region, logging_regions=region),
            )
        else:
            part.skip(f"The log group is in {region}; it is read with that region, not {target.region}.")
        return None
    if account and account != target.account_id:
        part.skip(f"The log group is in account {account}; it is read with that account, not {target.account_id}.")
        return None
    return region, name


def read_cloudwatch(
    target: Target,
    state: dict[str, Any],
    *,
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
    options: LogOptions,
) -> Part:
    part = Part("cloudwatch")
    where = _where(target, part)
    if where is None:
        return part
    waited = len(options.waits)
    try:
        return _read_cloudwatch(target, part, where, state, since=since, until=until, checkpoint=checkpoint, say=say,
                                options=options)  # fmt: skip
    finally:
        part.details["waited_seconds"] = round(sum(options.waits[waited:]), 3)


def _read_cloudwatch(
    target: Target,
    part: Part,
    where: tuple[str, str],
    state: dict[str, Any],
    *,
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
    options: LogOptions,
) -> Part:
    region, group = where
    known = state.get("cloudwatch") or {}
    last_ms: int | None = known.get("last_ms")
    start_ms, end_ms = to_ms(since), to_ms(until)
    if last_ms is not None:
        start_ms = max(start_ms, last_ms - LOG_OVERLAP_SECONDS * 1000)
    part.details.update(group=group, start=from_ms(start_ms).isoformat(), end=from_ms(end_ms).isoformat())
    if start_ms > end_ms:
        return part
    say(f"  logs: {group} ({region}) from {from_ms(start_ms):%Y-%m-%d %H:%M:%S}")
    logs = target.client("logs", region)
    limiter = RateLimiter(LOGS_REQUESTS_PER_SECOND, clock=options.clock, sleep=options.sleep, waits=options.waits)
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "endTime": end_ms,
                               "limit": options.page_events}  # fmt: skip
    with temp_dir("logs") as tmp:
        batch = _EventFile(Path(tmp))

        def flush() -> bool:
            """Import the batch and move the watermark to its newest event; False when the import failed."""
            if not batch.count:
                return True
            run = import_file(target, batch.close(), say)
            part.import_runs.append(run.pk)
            part.rejected += run.rows_rejected
            if run.status == ImportRun.Status.FAILED:
                part.fail(f"Importing {batch.count:,} log events failed: {run.message}", "")
                return False
            part.loaded += run.rows_loaded
            state["cloudwatch"] = {"last_ms": max(state.get("cloudwatch", {}).get("last_ms") or 0, batch.max_ms)}
            checkpoint(copy(state))
            batch.reset()
            return True

        while True:
            try:
                page = _filter(logs, request, limiter, options)
            except (Throttled, aws.AwsError) as exc:
                if flush():
                    _stopped(target, part, exc, state)
                return part
            for event in page.get("events", []):
                batch.add(event)
                part.items += 1
            if batch.count >= options.batch_events and not flush():
                return part
            token = page.get("nextToken")
            if not token:
                break
            request["nextToken"] = token
        if not flush():
            return part
    # Everything up to `until` is read; the next run re-reads the overlap before it for late events.
    state["cloudwatch"] = {"last_ms": max(state.get("cloudwatch", {}).get("last_ms") or 0, end_ms)}
    checkpoint(copy(state))
    return part


def _filter(logs: Any, request: dict[str, Any], limiter: RateLimiter, options: LogOptions) -> dict[str, Any]:
    """One FilterLogEvents page, within the rate limit, backing off on throttling. Raises Throttled or AwsError."""
    attempt = 0
    while True:
        limiter.wait()
        try:
            with aws.aws_errors("logs:FilterLogEvents"):
                return logs.filter_log_events(**request)
        except aws.AwsError as exc:
            if exc.code not in THROTTLE_CODES:
                raise
            if attempt >= options.max_retries:
                raise Throttled(
                    f"CloudWatch Logs kept throttling FilterLogEvents after {attempt} backoffs ({exc.message})"
                ) from exc
            delay = backoff(attempt, options)
            options.sleep(delay)
            options.waits.append(delay)
            attempt += 1


def _stopped(target: Target, part: Part, exc: Exception, state: dict[str, Any]) -> None:
    """The read stopped half-way: partial when something was loaded (or throttled), else failed with a remedy."""
    connection = target.connection
    position = (state.get("cloudwatch") or {}).get("last_ms")
    where = f"loaded up to {from_ms(position).isoformat()}" if position else "nothing loaded"
    if isinstance(exc, Throttled):
        part.partial(
            f"{exc}; {where}. The next sync resumes there.",
            "Run the sync again later (the watermark keeps its place), or ask AWS for a higher CloudWatch Logs "
            "FilterLogEvents quota in this region if it happens on every sync.",
        )
        return
    assert isinstance(exc, aws.AwsError)
    if exc.access_denied:
        code = "log_group_unreadable"
    elif exc.not_found:
        code = "log_group_missing"
    else:
        code = ""
    remedy = remedy_for(code, connection, account_id=target.account_id) if code else ""
    if part.items:
        part.partial(f"{exc.summary()}; {where}. The next sync resumes there.", remedy)
    else:
        part.fail(exc.summary(), remedy)


class _EventFile:
    """Log events written to a temporary .jsonl, one message a line, for one import."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.number = 0
        self.count = 0
        self.max_ms = 0
        self._handle: IO[str] | None = None

    @property
    def path(self) -> Path:
        return self.folder / f"cloudwatch-{self.number:05d}.jsonl"

    def add(self, event: dict[str, Any]) -> None:
        if self._handle is None:
            self._handle = self.path.open("w", encoding="utf-8")
        self._handle.write(one_line(str(event.get("message", ""))) + "\n")
        self.count += 1
        self.max_ms = max(self.max_ms, int(event.get("timestamp") or 0))

    def close(self) -> Path:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        return self.path

    def reset(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        self.number += 1
        self.count = 0
        self.max_ms = 0
