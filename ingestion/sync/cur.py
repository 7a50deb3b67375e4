"""CUR 2.0 exports from S3: find the export's billing periods, read each period's manifest, and import the periods
whose delivery changed (new executionId or changed data-file ETags) through ingestion.services.import_cur, which
replaces the period in one transaction.

The watermark is {"periods": {"YYYY-MM": {"execution_id", "etags", "manifest_etag"}}}. The current and previous
month (relative to `until`) are re-checked on every run, because AWS restates a closed month for up to two weeks;
an older period in the window is imported once, and read again only if its manifest object itself changes (its
ETag comes free with the listing). Files are streamed to a temporary folder, one period at a time, and removed."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from connections import aws
from connections.diagnostics import cur_root, remedy_for
from ingestion.models import ImportRun
from ingestion.services import import_cur
from ingestion.sync.base import Checkpoint, Progress, SourceResult, Target
from ingestion.sync.objects import download, strip_etag

BILLING_PERIOD = "BILLING_PERIOD="
CUR_SUFFIXES = (".csv", ".csv.gz", ".parquet")


class PeriodError(Exception):
    """One billing period could not be read; the others go on."""

    def __init__(self, message: str, aws_error: aws.AwsError | None = None) -> None:
        super().__init__(message)
        self.aws_error = aws_error


@dataclass(frozen=True)
class Manifest:
    """A manifest object found by the listing."""

    period: str  # YYYY-MM
    key: str
    etag: str
    last_modified: datetime | None = None


@dataclass
class PeriodTally:
    items: int = 0
    loaded: int = 0
    rejected: int = 0
    bytes: int = 0
    import_runs: list[int] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    aws_errors: list[aws.AwsError] = field(default_factory=list)


# --- pure ------------------------------------------------------------------------------------------


def month_label(day: date | datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(label: str) -> str:
    year, month = int(label[:4]), int(label[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def period_of_key(key: str) -> str | None:
    """YYYY-MM of the BILLING_PERIOD=YYYY-MM segment of a key, or None."""
    marker = key.find(BILLING_PERIOD)
    if marker < 0:
        return None
    value = key[marker + len(BILLING_PERIOD) : marker + len(BILLING_PERIOD) + 7]
    if len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit() or not 1 <= int(value[5:]) <= 12:
        return None
    return value


def periods_to_check(available: Iterable[str], *, since: datetime, until: datetime) -> list[str]:
    """The periods of the window [since, until], and always the current and previous month of `until`."""
    first, last = month_label(since), month_label(until)
    recent = {last, previous_month(last)}
    return sorted(p for p in set(available) if p <= last and (p >= first or p in recent))


def recent_periods(until: datetime) -> set[str]:
    last = month_label(until)
    return {last, previous_month(last)}


def parse_manifest(text: str) -> tuple[str, list[str]]:
    """(executionId, dataFiles) of a CUR 2.0 manifest. Raises ValueError saying what is wrong."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"the manifest is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ValueError("the manifest is not a JSON object")
    files = document.get("dataFiles")
    if not isinstance(files, list) or not all(isinstance(f, str) and f.strip() for f in files):
        raise ValueError("the manifest has no dataFiles list of s3:// URIs")
    execution = document.get("executionId")
    return (str(execution) if execution else ""), [f.strip() for f in files]


def split_s3_uri(uri: str, default_bucket: str) -> tuple[str, str]:
    """(bucket, key) of s3://bucket/key; a bare key is taken to be in `default_bucket`."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        if not bucket or not key:
            raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
        return bucket, key
    return default_bucket, uri.lstrip("/")


def local_names(keys: list[str]) -> list[str]:
    """A unique local file name per data file, keeping the suffix the importer reads the format from."""
    return [f"{number:05d}-{key.rsplit('/', 1)[-1]}" for number, key in enumerate(keys, start=1)]


def local_manifest(text: str, period: str, names: list[str]) -> str:
    """The manifest rewritten to list the local copies, in the layout ingestion.parsers.cur reads
    (<export>/data/BILLING_PERIOD=YYYY-MM/<name> beside <export>/metadata/BILLING_PERIOD=YYYY-MM/)."""
    document = json.loads(text)
    document["sourceDataFiles"] = document.get("dataFiles")
    document["dataFiles"] = [f"s3://sync/data/{BILLING_PERIOD}{period}/{name}" for name in names]
    return json.dumps(document)


# --- S3 --------------------------------------------------------------------------------------------


def list_manifests(s3: Any, bucket: str, root: str) -> dict[str, Manifest]:
    """The newest manifest per billing period under <root>metadata/. Raises AwsError."""
    found: dict[str, Manifest] = {}
    with aws.aws_errors("s3:ListBucket"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root + "metadata/"):
            for item in page.get("Contents", []):
                key = item["Key"]
                period = period_of_key(key)
                if period is None or not key.lower().endswith("manifest.json"):
                    continue
                manifest = Manifest(period, key, strip_etag(item.get("ETag")), item.get("LastModified"))
                known = found.get(period)
                # CREATE_NEW_REPORT keeps one manifest per execution: the newest is the delivery.
                if known is None or _newer(manifest, known):
                    found[period] = manifest
    return found


def _newer(one: Manifest, other: Manifest) -> bool:
    if one.last_modified is None or other.last_modified is None:
        return one.key > other.key
    return (one.last_modified, one.key) > (other.last_modified, other.key)


def data_file_etags(s3: Any, bucket: str, root: str, period: str, files: list[tuple[str, str]]) -> list[str]:
    """The ETag of each (bucket, key), from one listing of the period's data folder (HEAD for the rest)."""
    listed: dict[tuple[str, str], str] = {}
    with aws.aws_errors("s3:ListBucket"):
        prefix = f"{root}data/{BILLING_PERIOD}{period}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                listed[(bucket, item["Key"])] = strip_etag(item.get("ETag"))
    etags: list[str] = []
    for where in files:
        if where not in listed:
            try:
                with aws.aws_errors("s3:HeadObject"):
                    listed[where] = strip_etag(s3.head_object(Bucket=where[0], Key=where[1]).get("ETag"))
            except aws.AwsError as exc:
                if exc.not_found:
                    raise PeriodError(
                        f"the manifest lists s3://{where[0]}/{where[1]}, which does not exist (a delivery in "
                        "progress, or files removed): the period is read again next sync"
                    ) from exc
                raise
        etags.append(listed[where])
    return etags


# --- the source ------------------------------------------------------------------------------------


def sync_cur(
    target: Target,
    *,
    watermark: dict[str, Any],
    since: datetime,
    until: datetime,
    checkpoint: Checkpoint,
    say: Progress,
) -> SourceResult:
    connection = target.connection
    if not connection.cur_bucket:
        return SourceResult.skipped("No CUR bucket is configured on the connection.", watermark)
    bucket, root = connection.cur_bucket, cur_root(connection)
    state: dict[str, Any] = {**watermark, "periods": dict(watermark.get("periods") or {})}
    s3 = target.client("s3")
    try:
        manifests = list_manifests(s3, bucket, root)
    except aws.AwsError as exc:
        return _listing_failed(connection, exc, state)
    if not manifests:
        return SourceResult.failed(
            f"No CUR 2.0 manifest under s3://{bucket}/{root}metadata/BILLING_PERIOD=YYYY-MM/.",
            remedy_for("cur_export_missing", connection),
            state,
        )
    wanted = periods_to_check(manifests, since=since, until=until)
    recent = recent_periods(until)
    say(f"  CUR: {len(manifests)} billing period(s) in s3://{bucket}/{root}, {len(wanted)} to check")
    tally = PeriodTally()
    for period in wanted:
        manifest = manifests[period]
        known = state["periods"].get(period) or {}
        if known and period not in recent and known.get("manifest_etag") == manifest.etag:
            tally.settled.append(period)  # an older period already imported, its manifest untouched
            continue
        try:
            _sync_period(target, s3, manifest, known, state, tally, say)
        except PeriodError as exc:
            tally.errors[period] = str(exc)
            if exc.aws_error is not None:
                tally.aws_errors.append(exc.aws_error)
            say(f"  CUR {period}: {exc}")
            continue
        if period in tally.imported:
            checkpoint(_copy(state))
    return _result(connection, tally, state, wanted)


def _sync_period(
    target: Target,
    s3: Any,
    manifest: Manifest,
    known: dict[str, Any],
    state: dict[str, Any],
    tally: PeriodTally,
    say: Progress,
) -> None:
    bucket, period = target.connection.cur_bucket, manifest.period
    root = cur_root(target.connection)
    export = target.connection.cur_export_name.strip("/") or "export"
    with tempfile.TemporaryDirectory(prefix="finops-cur-", dir=getattr(settings, "FINOPS_SYNC_TMP_DIR", None)) as tmp:
        meta = Path(tmp) / export / "metadata" / f"{BILLING_PERIOD}{period}"
        source = meta / "source-Manifest.json"
        try:
            tally.bytes += download(s3, bucket, manifest.key, source, etag=manifest.etag)
            tally.items += 1
            text = source.read_text(encoding="utf-8")
            source.unlink()
            execution, uris = parse_manifest(text)
            files = [split_s3_uri(uri, bucket) for uri in uris]
            etags = data_file_etags(s3, bucket, root, period, files)
        except aws.AwsError as exc:
            raise PeriodError(_changed_or(exc, f"reading its manifest failed: {exc.summary()}"), exc) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise PeriodError(f"s3://{bucket}/{manifest.key}: {exc}") from exc
        delivery = {"execution_id": execution, "etags": sorted(etags), "manifest_etag": manifest.etag}
        if known.get("execution_id") == execution and known.get("etags") == delivery["etags"]:
            state["periods"][period] = delivery
            tally.unchanged.append(period)
            say(f"  CUR {period}: unchanged since the last sync (execution {execution or '-'})")
            return
        names = local_names([key for _, key in files])
        data = Path(tmp) / export / "data" / f"{BILLING_PERIOD}{period}"
        say(f"  CUR {period}: downloading {len(files)} data file(s) (execution {execution or '-'})")
        for (file_bucket, key), etag, name in zip(files, etags, names, strict=True):
            try:
                tally.bytes += download(s3, file_bucket, key, data / name, etag=etag)
            except aws.AwsError as exc:
                raise PeriodError(_changed_or(exc, f"downloading s3://{file_bucket}/{key} failed: {exc.summary()}"),
                                  exc) from exc  # fmt: skip
            tally.items += 1
        local = meta / f"{export}-Manifest.json"
        local.write_text(local_manifest(text, period, names), encoding="utf-8")
        run = import_cur(tenant=target.tenant, paths=[local], progress=lambda line: say("    " + line.strip()))
    tally.import_runs.append(run.pk)
    tally.rejected += run.rows_rejected
    if run.status == ImportRun.Status.FAILED:
        raise PeriodError(f"the import failed: {run.message or 'see import run ' + str(run.pk)}")
    tally.loaded += run.rows_loaded
    state["periods"][period] = delivery
    tally.imported.append(period)
    say(
        f"  CUR {period}: {run.rows_loaded:,} rows loaded, {run.rows_replaced:,} replaced, "
        f"{run.rows_unchanged:,} unchanged (import run {run.pk})"
    )


def _changed_or(exc: aws.AwsError, message: str) -> str:
    if exc.code in ("PreconditionFailed", "412"):
        return "the delivery changed while it was being read: the period is read again next sync"
    return message


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(state))


def _listing_failed(connection: Any, exc: aws.AwsError, state: dict[str, Any]) -> SourceResult:
    if exc.access_denied:
        return SourceResult.failed(exc.summary(), remedy_for("cur_bucket_unreadable", connection), state)
    if exc.code == "NoSuchBucket" or (exc.not_found and exc.code != "NoSuchKey"):
        return SourceResult.failed(exc.summary(), remedy_for("cur_bucket_missing", connection), state)
    return SourceResult.failed(exc.summary(), "", state)


def _result(connection: Any, tally: PeriodTally, state: dict[str, Any], wanted: list[str]) -> SourceResult:
    details = {
        "periods_checked": wanted,
        "periods_imported": tally.imported,
        "periods_unchanged": tally.unchanged,
        "periods_settled": tally.settled,
        "unchanged": len(tally.unchanged) + len(tally.settled),
        "bytes_downloaded": tally.bytes,
    }
    if tally.errors:
        details["period_errors"] = tally.errors
    error = "; ".join(f"{period}: {message}" for period, message in sorted(tally.errors.items()))
    remedy = ""
    if any(e.access_denied for e in tally.aws_errors):
        remedy = remedy_for("cur_bucket_unreadable", connection)
    read_any = tally.imported or tally.unchanged or tally.settled
    if tally.errors and not read_any:
        status = "failed"
    elif tally.errors or tally.rejected:
        status = "partial"
    else:
        status = "succeeded"
    return SourceResult(
        status=status,
        items_fetched=tally.items,
        rows_loaded=tally.loaded,
        rows_rejected=tally.rejected,
        watermark=state,
        error=error,
        remedy=remedy,
        details=details,
        import_runs=tally.import_runs,
    )
