"""CUR 2.0 reader: CSV (plain or gzip) and Parquet files, read in batches so memory stays bounded.

Pure: file in, raw Bedrock rows out. Mapping to ledger fields (catalog, tags, units) is in
ingestion.normalize. Non-Bedrock rows are counted as skipped; broken rows are rejected with the
file and line (CSV: physical line; Parquet: row number) and the rest of the file still loads."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.parsers.common import (
    Batch,
    FileUnreadable,
    Rejected,
    billing_period_from_path,
    month_start,
    parse_decimal,
    parse_map,
    parse_timestamp,
)

REQUIRED_COLUMNS = ("line_item_usage_type", "line_item_unblended_cost", "line_item_usage_start_date")
MAP_COLUMNS = ("product", "resource_tags", "tags", "cost_category", "discount")
BEDROCK_OPERATIONS = {"InvokeModelInference", "InvokeModelStreamingInference"}
CUR_SUFFIXES = (".csv", ".csv.gz", ".parquet")


@dataclass(frozen=True)
class CurFile:
    path: Path
    billing_period: Any  # date | None, from the BILLING_PERIOD= path segment
    manifest: Path | None = None


def is_bedrock(raw: dict[str, Any], product: dict[str, str]) -> bool:
    """The robust filter of the reference (A.7): family, product code, product name or operation."""
    if (raw.get("product_product_family") or "").strip().lower() == "amazon bedrock":
        return True
    if "bedrock" in (raw.get("line_item_product_code") or "").lower():
        return True
    for key in ("product_name", "servicename"):
        if "bedrock" in (product.get(key) or "").lower():
            return True
    if "bedrock" in (raw.get("product_servicecode") or "").lower():
        return True
    return (raw.get("line_item_operation") or "").strip() in BEDROCK_OPERATIONS


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def parse_cur_row(raw: dict[str, Any], *, file: str, line: int) -> dict[str, Any] | None:
    """One CUR record as a dict of typed values; None when it is not a Bedrock row.

    Raises ValueError naming the field when a value is broken."""
    maps = {name: parse_map(raw.get(name), field_name=name) for name in MAP_COLUMNS if name in raw}
    product = maps.get("product", {})
    if not is_bedrock(raw, product):
        return None
    usage_start = parse_timestamp(raw.get("line_item_usage_start_date"))
    end_raw = raw.get("line_item_usage_end_date")
    usage_end = parse_timestamp(end_raw) if end_raw not in (None, "") else usage_start
    period_raw = raw.get("bill_billing_period_start_date")
    billing_period = month_start(parse_timestamp(period_raw) if period_raw not in (None, "") else usage_start)
    cost = parse_decimal(raw.get("line_item_unblended_cost"), field_name="line_item_unblended_cost", blank_ok=False)
    return {
        "file": file,
        "line": line,
        "line_item_id": _text(raw, "identity_line_item_id"),
        "time_interval": _text(raw, "identity_time_interval"),
        "line_item_type": _text(raw, "line_item_line_item_type") or "Usage",
        "billing_entity": _text(raw, "bill_billing_entity"),
        "payer_account_id": _text(raw, "bill_payer_account_id"),
        "usage_account_id": _text(raw, "line_item_usage_account_id"),
        "product_code": _text(raw, "line_item_product_code"),
        "usage_type": _text(raw, "line_item_usage_type"),
        "operation": _text(raw, "line_item_operation"),
        "description": _text(raw, "line_item_line_item_description"),
        "usage_start": usage_start,
        "usage_end": usage_end,
        "billing_period": billing_period,
        "usage_amount": parse_decimal(raw.get("line_item_usage_amount"), field_name="line_item_usage_amount"),
        "unblended_cost": cost,
        "net_unblended_cost": parse_decimal(
            raw.get("line_item_net_unblended_cost"), field_name="line_item_net_unblended_cost"
        ),
        "unblended_rate": parse_decimal(raw.get("line_item_unblended_rate"), field_name="line_item_unblended_rate"),
        "public_on_demand_cost": parse_decimal(
            raw.get("pricing_public_on_demand_cost"), field_name="pricing_public_on_demand_cost"
        ),
        "pricing_unit": _text(raw, "pricing_unit") or _text(raw, "product_pricing_unit"),
        "currency": _text(raw, "line_item_currency_code") or "USD",
        "iam_principal": _text(raw, "line_item_iam_principal"),
        "user_identifier": _text(raw, "line_item_user_identifier"),
        "resource_id": _text(raw, "line_item_resource_id"),
        "region_code": _text(raw, "product_region_code") or product.get("region", ""),
        "product": product,
        "resource_tags": maps.get("resource_tags", {}),
        "tags": maps.get("tags", {}),
    }


def _rows_from_csv(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record or None, error) for every data line of a CSV file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        handle = opener(path, "rt", encoding="utf-8-sig", newline="")
        reader = csv.reader(handle)
        header = next(reader, None)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise FileUnreadable(f"{path}: cannot read as CSV: {exc}") from exc
    with handle:
        if not header:
            raise FileUnreadable(f"{path}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise FileUnreadable(f"{path}: not a CUR 2.0 file: missing column(s) {', '.join(missing)}")
        width = len(header)
        line = reader.line_num
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield reader.line_num, None, f"malformed CSV: {exc}"
                line = reader.line_num
                continue
            except (OSError, EOFError) as exc:
                # A truncated gzip. Loading what came before it would replace the billing period
                # with part of its rows, so the whole file is unreadable; say where it stopped.
                raise FileUnreadable(f"{path}: file ends unexpectedly after line {line}: {exc}") from exc
            start_line, line = line + 1, reader.line_num
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                yield start_line, None, f"expected {width} fields, found {len(values)}"
                continue
            yield start_line, dict(zip(header, values, strict=True)), None


def _rows_from_parquet(path: Path, batch_size: int) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a corrupt file
        raise FileUnreadable(f"{path}: cannot read as Parquet: {exc}") from exc
    names = parquet.schema_arrow.names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise FileUnreadable(f"{path}: not a CUR 2.0 file: missing column(s) {', '.join(missing)}")
    number = 0
    batches = parquet.iter_batches(batch_size=batch_size)
    while True:
        try:
            record_batch = next(batches, None)
            records = record_batch.to_pylist() if record_batch is not None else None
        except Exception as exc:  # corrupt pages surface only while reading; same reason as a truncated gzip
            raise FileUnreadable(f"{path}: cannot read as Parquet after row {number}: {exc}") from exc
        if records is None:
            return
        for record in records:
            number += 1
            yield number, record, None


def iter_cur_file(path: Path, *, batch_size: int = 5000) -> Iterator[Batch]:
    """Batches of Bedrock rows from one CUR file. Raises FileUnreadable when nothing can be read
    or the file is cut short (a partial file must not replace its billing period)."""
    name = path.name.lower()
    if name.endswith(".parquet"):
        source = _rows_from_parquet(path, batch_size)
    elif name.endswith(".csv") or name.endswith(".csv.gz"):
        source = _rows_from_csv(path)
    else:
        raise FileUnreadable(f"{path}: not a CUR data file (expected .csv, .csv.gz or .parquet)")
    label = str(path)
    batch = Batch()
    for line, record, error in source:
        batch.read += 1
        if error is not None or record is None:
            batch.rejected.append(Rejected(label, line, error or "unreadable row"))
        else:
            try:
                row = parse_cur_row(record, file=label, line=line)
            except ValueError as exc:
                batch.rejected.append(Rejected(label, line, str(exc)))
            else:
                if row is None:
                    batch.skipped["not a Bedrock row"] += 1
                else:
                    batch.rows.append(row)
        if batch.read >= batch_size:
            yield batch
            batch = Batch()
    if batch.read or batch.rejected:
        yield batch


# --- finding files ----------------------------------------------------------------------------


def _is_data_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and name.endswith(CUR_SUFFIXES)


def files_from_manifest(manifest: Path) -> list[CurFile]:
    """The data files a CUR 2.0 manifest lists, found next to it in the S3 layout."""
    try:
        document = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileUnreadable(f"{manifest}: not a readable manifest: {exc}") from exc
    data_files = document.get("dataFiles") if isinstance(document, dict) else None
    if not isinstance(data_files, list):
        raise FileUnreadable(f"{manifest}: the manifest has no dataFiles list")
    # <root>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json -> <root>/<export>
    export_root = manifest.parent.parent.parent if manifest.parent.parent.name == "metadata" else manifest.parent
    period = billing_period_from_path(str(manifest))
    found: list[CurFile] = []
    for uri in data_files:
        key = str(uri)
        marker = key.find("/data/")
        relative = key[marker + 1 :] if marker >= 0 else Path(key).name
        local = export_root / relative
        if not local.exists():
            alternative = manifest.parent / Path(key).name
            if not alternative.exists():
                raise FileUnreadable(f"{manifest}: listed data file {key} was not found at {local}")
            local = alternative
        found.append(CurFile(local, billing_period_from_path(str(local)) or period, manifest))
    return found


def discover_cur_files(paths: list[Path]) -> list[CurFile]:
    """Expand paths (files, manifests, directories) into data files. In a directory that holds
    manifests, the manifests say which files are current; otherwise every data file counts."""
    result: list[CurFile] = []
    seen: set[Path] = set()

    def add(item: CurFile) -> None:
        resolved = item.path.resolve()
        if resolved not in seen:
            seen.add(resolved)
            result.append(item)

    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if path.is_dir():
            manifests = sorted(p for p in path.rglob("*.json") if p.name.lower().endswith("manifest.json"))
            if manifests:
                for manifest in manifests:
                    for item in files_from_manifest(manifest):
                        add(item)
            else:
                for data in sorted(p for p in path.rglob("*") if _is_data_file(p)):
                    add(CurFile(data, billing_period_from_path(str(data))))
        elif path.name.lower().endswith(".json"):
            for item in files_from_manifest(path):
                add(item)
        else:
            add(CurFile(path, billing_period_from_path(str(path))))
    return result
