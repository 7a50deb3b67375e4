"""Invocation logs delivered to S3: `<prefix>/AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/`.

Keys sort by hour, so one listing from StartAfter=<first hour> walks every hour up to `until` in order. The
objects are streamed to a temporary folder in batches, imported, and the watermark moved after each batch:
{"last_hour": "YYYY/MM/DD/HH" of the last key loaded, "done_keys": the keys loaded in the hours the next run
re-reads (LOG_OVERLAP_SECONDS before last_hour)}, so a late object in those hours is found and nothing is
downloaded twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connections import aws
from connections.diagnostics import remedy_for
from ingestion.models import ImportRun
from ingestion.parsers.invocation_logs import LOG_SUFFIXES, PERMISSION_CHECK
from ingestion.sync.base import LOG_OVERLAP_SECONDS, Checkpoint, Progress, Target, utc
from ingestion.sync.logs_common import LogOptions, Part, copy, import_file, temp_dir
from ingestion.sync.objects import download

HOUR_FORMAT = "%Y/%m/%d/%H"


def log_base(prefix: str, account_id: str, region: str) -> str:
    parts = [p for p in (prefix.strip("/"), "AWSLogs", account_id, "BedrockModelInvocationLogs", region) if p]
    return "/".join(parts) + "/"


def floor_hour(value: datetime) -> datetime:
    return utc(value).replace(minute=0, second=0, microsecond=0)


def hour_label(value: datetime) -> str:
    return value.strftime(HOUR_FORMAT)


def parse_hour(label: str | None) -> datetime | None:
    if not label:
        return None
    try:
        return datetime.strptime(label, HOUR_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def key_hour(relative: str) -> datetime | None:
    """The hour of a key relative to the region folder (YYYY/MM/DD/HH/...), or None."""
    parts = relative.split("/")
    if len(parts) < 5 or not all(p.isdigit() for p in parts[:4]):
        return None
    return parse_hour("/".join(parts[:4]))


def is_log_object(relative: str) -> bool:
    """A log file directly in its hour folder: not a large-payload object under data/, not the permission check."""
    parts = relative.split("/")
    name = parts[-1]
    if len(parts) != 5 or name.startswith(PERMISSION_CHECK):
        return False
    return name.lower().endswith(LOG_SUFFIXES)


def start_hour(since: datetime, last_hour: datetime | None) -> datetime:
    """Where a run starts reading: the window's start, or the overlap before the watermark hour if later."""
    start = utc(since)
    if last_hour is not None:
        start = max(start, last_hour - timedelta(seconds=LOG_OVERLAP_SECONDS))
    return floor_hour(start)


def keys_to_keep(keys: set[str], base: str, last_hour: datetime) -> list[str]:
    """The loaded keys of the hours the next run re-reads (the others are behind it for good)."""
    floor = floor_hour(last_hour - timedelta(seconds=LOG_OVERLAP_SECONDS))
    kept = [k for k in keys if (hour := key_hour(k[len(base) :])) is not None and hour >= floor]
    return sorted(kept)


def _remedy(target: Target, exc: aws.AwsError) -> str:
    if exc.access_denied:
        return remedy_for("log_bucket_unreadable", target.connection, account_id=target.account_id)
    if exc.code == "NoSuchBucket":
        return remedy_for("log_bucket_missing", target.connection, account_id=target.account_id)
    return ""


def read_s3(
    target: Target,
    state: dict[str, Any],
    *,
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
    options: LogOptions,
) -> Part:
    part = Part("s3")
    connection = target.connection
    bucket = connection.log_bucket
    base = log_base(connection.log_prefix, target.account_id, target.region)
    known = state.get("s3") or {}
    first = start_hour(since, parse_hour(known.get("last_hour")))
    last = floor_hour(until)
    done = set(known.get("done_keys") or [])
    part.details.update(prefix=f"s3://{bucket}/{base}", first_hour=hour_label(first), last_hour=hour_label(last))
    say(f"  logs: s3://{bucket}/{base} from {hour_label(first)}")
    s3 = target.client("s3")
    pending: list[tuple[str, int]] = []

    def flush() -> bool:
        """Download and import the pending objects, then move the watermark; False when it stopped."""
        if not pending:
            return True
        loaded: set[str] = set()
        with temp_dir("logs-s3") as tmp:
            for key, _size in pending:
                try:
                    download(s3, bucket, key, Path(tmp) / key[len(base) :])
                except aws.AwsError as exc:
                    if exc.code == "NoSuchKey":  # removed since the listing: nothing to load
                        loaded.add(key)
                        continue
                    _stop(target, part, exc)
                    return False
                part.items += 1
                loaded.add(key)
            run = import_file(target, Path(tmp), say)
        part.import_runs.append(run.pk)
        part.rejected += run.rows_rejected
        if run.status == ImportRun.Status.FAILED:
            part.fail(f"Importing {len(pending):,} log objects failed: {run.message}", "")
            return False
        part.loaded += run.rows_loaded
        hour = key_hour(pending[-1][0][len(base) :])
        assert hour is not None
        done.update(loaded)
        state["s3"] = {"last_hour": hour_label(hour), "done_keys": keys_to_keep(done, base, hour)}
        checkpoint(copy(state))
        pending.clear()
        return True

    pending_bytes = 0
    try:
        for item in _listing(s3, bucket, base, first):
            key = item["Key"]
            relative = key[len(base) :]
            hour = key_hour(relative)
            if hour is None or hour < first or not is_log_object(relative) or key in done:
                continue
            if hour > last:
                break  # keys sort by hour: the rest are after `until`
            pending.append((key, int(item.get("Size") or 0)))
            pending_bytes += pending[-1][1]
            if len(pending) >= options.batch_objects or pending_bytes >= options.batch_bytes:
                if not flush():
                    return part
                pending_bytes = 0
    except aws.AwsError as exc:
        if flush():
            _stop(target, part, exc)
        return part
    flush()
    return part


def _listing(s3: Any, bucket: str, base: str, first: datetime) -> Iterator[dict[str, Any]]:
    """The objects under `base` from hour `first` on, in key order. Raises AwsError."""
    with aws.aws_errors("s3:ListBucket"):
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=base, StartAfter=base + hour_label(first)
        )
        for page in pages:
            yield from page.get("Contents", [])


def _stop(target: Target, part: Part, exc: aws.AwsError) -> None:
    if part.items:
        part.partial(f"{exc.summary()}; the next sync resumes after the last object loaded.", _remedy(target, exc))
    else:
        part.fail(exc.summary(), _remedy(target, exc))
