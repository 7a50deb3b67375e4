"""Validation check 7: the CUR 2.0 export. Its bucket and prefix are listed, the newest period's manifest and
data files found, and a bounded sample of the newest data file read to confirm Bedrock rows, IAM principals and
tags are there (connections.validation runs it with the other checks)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from connections import aws
from connections.diagnostics import Finding, cur_root, finding
from connections.models import AwsConnection
from connections.validation_results import (
    AMBER,
    BEDROCK_OPERATIONS,
    CUR_SUFFIXES,
    MAX_CUR_BYTES,
    MAX_CUR_ROWS,
    SKIPPED,
    CheckResult,
    _Facts,
    _result,
)

# --- 7. CUR export -----------------------------------------------------------------------------


@dataclass
class _CurListing:
    data: list[dict[str, Any]] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)


def _list_cur(connection: AwsConnection, s3: Any) -> _CurListing:
    root = cur_root(connection)
    listing = _CurListing()
    with aws.aws_errors("s3:ListBucket"):
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=connection.cur_bucket, Prefix=root, PaginationConfig={"MaxItems": 20_000}
        ):
            for item in page.get("Contents", []):
                key = item["Key"]
                relative = key[len(root) :]
                lower = key.lower()
                if relative.startswith("metadata/") and lower.endswith("manifest.json"):
                    listing.manifests.append(item)
                elif relative.startswith("data/") and "billing_period=" in lower and lower.endswith(CUR_SUFFIXES):
                    listing.data.append(item)
    return listing


def _period(key: str) -> str:
    marker = key.find("BILLING_PERIOD=")
    return key[marker + 15 : marker + 22] if marker >= 0 else ""


def _newest_data_files(connection: AwsConnection, s3: Any, listing: _CurListing) -> list[dict[str, Any]]:
    """The data files of the newest billing period: those its manifest lists, else all of that period."""
    newest = max(_period(item["Key"]) for item in listing.data)
    in_period = [item for item in listing.data if _period(item["Key"]) == newest]
    manifests = sorted(
        (m for m in listing.manifests if _period(m["Key"]) == newest), key=lambda m: m["LastModified"], reverse=True
    )
    if manifests:
        try:
            with aws.aws_errors("s3:GetObject"):
                body = s3.get_object(Bucket=connection.cur_bucket, Key=manifests[0]["Key"])["Body"].read()
            listed = {str(uri).split("/", 3)[-1] for uri in json.loads(body).get("dataFiles", [])}
            chosen = [item for item in in_period if item["Key"] in listed]
            if chosen:
                return chosen
        except (aws.AwsError, ValueError, AttributeError):
            pass  # the files of the period are the fallback
    return sorted(in_period, key=lambda item: item["LastModified"], reverse=True)


def _as_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list):
        pairs = {}
        for pair in value:
            if isinstance(pair, dict) and "key" in pair:
                pairs[str(pair["key"])] = str(pair.get("value"))
            elif isinstance(pair, list | tuple) and len(pair) == 2:
                pairs[str(pair[0])] = str(pair[1])
        return pairs
    text = str(value).strip()
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _is_bedrock(row: dict[str, Any]) -> bool:
    """The reference's robust filter (A.7): product family, product code, product name, or operation."""
    if str(row.get("product_product_family") or "").strip().lower() == "amazon bedrock":
        return True
    for key in ("line_item_product_code", "product_servicecode"):
        if "bedrock" in str(row.get(key) or "").lower():
            return True
    product = _as_map(row.get("product"))
    if any("bedrock" in product.get(k, "").lower() for k in ("product_name", "servicename")):
        return True
    return str(row.get("line_item_operation") or "").strip() in BEDROCK_OPERATIONS


@dataclass
class _CurSample:
    columns: list[str]
    rows: int = 0
    bedrock_rows: int = 0
    with_principal: int = 0
    with_iam_tags: int = 0
    truncated: bool = False


def _sample_rows(sample: _CurSample, rows: Iterable[dict[str, Any]]) -> None:
    for row in rows:
        sample.rows += 1
        if sample.rows > MAX_CUR_ROWS:
            sample.truncated = True
            return
        if not _is_bedrock(row):
            continue
        sample.bedrock_rows += 1
        if str(row.get("line_item_iam_principal") or "").strip():
            sample.with_principal += 1
        if any(k.lower().startswith("iamprincipal/") for k in _as_map(row.get("tags"))):
            sample.with_iam_tags += 1


PARQUET_COLUMNS = (
    "line_item_product_code",
    "product_product_family",
    "product_servicecode",
    "product",
    "line_item_operation",
    "line_item_iam_principal",
    "tags",
)


def _read_cur_sample(key: str, data: bytes, truncated: bool) -> _CurSample:
    """Columns and Bedrock/principal/tag counts of one CUR data file (or its first MAX_CUR_BYTES)."""
    lower = key.lower()
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(io.BytesIO(data))
        names = parquet.schema_arrow.names
        sample = _CurSample(columns=list(names))
        wanted = [c for c in PARQUET_COLUMNS if c in names]
        for batch in parquet.iter_batches(batch_size=20_000, columns=wanted):
            _sample_rows(sample, batch.to_pylist())
            if sample.truncated:
                break
        return sample
    raw: io.IOBase = io.BytesIO(data)
    if lower.endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader, [])]
    except (OSError, EOFError, csv.Error):
        header = []
    sample = _CurSample(columns=header, truncated=truncated)

    def rows() -> Iterable[dict[str, Any]]:
        try:
            for values in reader:
                if len(values) == len(header):
                    yield dict(zip(header, values, strict=True))
        except (OSError, EOFError, csv.Error):
            sample.truncated = True  # a partial read of a large file ends mid-line or mid-block

    _sample_rows(sample, rows())
    return sample


def _check_cur(connection: AwsConnection, facts: _Facts) -> list[CheckResult]:
    bucket_label, contents_label = "List the CUR 2.0 export", "CUR 2.0 contents: Bedrock rows and IAM principals"
    if not connection.cur_bucket:
        return [
            CheckResult("cur_bucket", bucket_label, SKIPPED, "No CUR bucket set."),
            CheckResult("cur_contents", contents_label, SKIPPED, "No CUR bucket set."),
        ]
    s3 = aws.client(facts.session, "s3")
    where = f"s3://{connection.cur_bucket}/{cur_root(connection)}"
    skipped = CheckResult("cur_contents", contents_label, SKIPPED, "Needs the CUR export listed.")
    try:
        listing = _list_cur(connection, s3)
    except aws.AwsError as exc:
        if exc.access_denied:
            item = finding("cur_bucket_unreadable", connection, evidence=exc.summary())
            return [_result("cur_bucket", bucket_label, "Listing the CUR bucket was denied.", [item]), skipped]
        if exc.not_found:
            item = finding("cur_bucket_missing", connection, evidence=exc.summary())
            return [_result("cur_bucket", bucket_label, "The CUR bucket does not exist.", [item]), skipped]
        return [_result("cur_bucket", bucket_label, exc.summary(), [], warn=True), skipped]
    if not listing.data:
        evidence = (
            f"{len(listing.manifests)} manifest(s) and no data/BILLING_PERIOD=... files under {where}"
            if listing.manifests
            else f"nothing under {where}metadata/ or {where}data/"
        )
        item = finding("cur_export_missing", connection, evidence=evidence)
        return [_result("cur_bucket", bucket_label, "No export files found.", [item]), skipped]
    periods = sorted({_period(item["Key"]) for item in listing.data})
    bucket_result = _result(
        "cur_bucket",
        bucket_label,
        f"{len(listing.data)} data file(s), {len(listing.manifests)} manifest(s) under {where}; "
        f"billing periods {periods[0]} to {periods[-1]}.",
        [],
    )
    return [bucket_result, _check_cur_contents(connection, s3, listing, contents_label)]


def _merge(total: _CurSample | None, part: _CurSample) -> _CurSample:
    if total is None:
        return part
    total.columns = list(dict.fromkeys([*total.columns, *part.columns]))
    total.rows += part.rows
    total.bedrock_rows += part.bedrock_rows
    total.with_principal += part.with_principal
    total.with_iam_tags += part.with_iam_tags
    total.truncated = total.truncated or part.truncated
    return total


def _check_cur_contents(connection: AwsConnection, s3: Any, listing: _CurListing, label: str) -> CheckResult:
    """Read the newest period's data files, within a byte budget, until Bedrock rows with principals show."""
    files = _newest_data_files(connection, s3, listing)
    key = files[0]["Key"]
    sample: _CurSample | None = None
    budget = MAX_CUR_BYTES
    read: list[str] = []
    for item in files:
        size = int(item.get("Size") or 0)
        if budget <= 0 or (item["Key"].lower().endswith(".parquet") and size > budget):
            if sample is not None:
                sample.truncated = True
                break
            return CheckResult(
                "cur_contents", label, AMBER, f"{item['Key']} is {size:,} bytes: too large to inspect while validating."
            )
        try:
            with aws.aws_errors("s3:GetObject"):
                kwargs: dict[str, Any] = {"Bucket": connection.cur_bucket, "Key": item["Key"]}
                if size > budget:
                    kwargs["Range"] = f"bytes=0-{budget - 1}"
                data = s3.get_object(**kwargs)["Body"].read()
            sample = _merge(sample, _read_cur_sample(item["Key"], data, truncated=size > budget))
        except aws.AwsError as exc:
            if exc.access_denied:
                found = finding("cur_bucket_unreadable", connection, evidence=exc.summary())
                return _result("cur_contents", label, "Reading the CUR file was denied.", [found])
            return _result("cur_contents", label, exc.summary(), [], warn=True)
        except Exception as exc:  # pyarrow and gzip raise several types for a corrupt file
            return _result("cur_contents", label, f"{item['Key']} could not be read: {exc}", [], warn=True)
        budget -= len(data)
        read.append(item["Key"])
        if sample.with_iam_tags or sample.truncated:
            break
    if sample is None:  # not reached: the listing found data files
        return CheckResult("cur_contents", label, SKIPPED, "No data file to read.")
    if len(read) > 1:
        key = f"{read[0]} (and {len(read) - 1} more file(s) of that period)"
    period = _period(key)
    start = date(int(period[:4]), int(period[5:7]), 1) if period else None
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) if start else None
    values = {"file": key, "period_start": start.isoformat() if start else None}
    values["period_end"] = end.isoformat() if end else None
    scanned = f"{sample.rows:,} row(s) read" + (" (first part of the file)" if sample.truncated else "")
    findings: list[Finding] = []
    if not sample.bedrock_rows:
        findings.append(
            finding("cur_no_bedrock_rows", connection, evidence=f"{key}: {scanned}, none Bedrock", **values)
        )
        return _result("cur_contents", label, f"No Bedrock rows in {key}.", findings)
    if "line_item_iam_principal" not in sample.columns:
        findings.append(
            finding(
                "cur_no_iam_principal",
                connection,
                evidence=f"{key} has no line_item_iam_principal column",
                detail="the export's query does not select line_item_iam_principal",
            )
        )
    elif not sample.with_principal:
        findings.append(
            finding(
                "cur_no_iam_principal",
                connection,
                evidence=f"line_item_iam_principal is empty on all {sample.bedrock_rows:,} Bedrock rows of {key}",
                detail="the data predates it (usage from 2026-04-08 on, 24-48 h delay)",
            )
        )
    elif not sample.with_iam_tags:
        evidence = (
            f"no iamPrincipal/ key in the tags of {sample.bedrock_rows:,} Bedrock rows of {key}"
            if "tags" in sample.columns
            else f"{key} has no tags column"
        )
        findings.append(finding("cost_allocation_tags_inactive", connection, evidence=evidence))
    message = (
        f"{key}: {scanned}; {sample.bedrock_rows:,} Bedrock row(s), {sample.with_principal:,} with an IAM principal, "
        f"{sample.with_iam_tags:,} with iamPrincipal/ tags."
    )
    return _result("cur_contents", label, message, findings)
