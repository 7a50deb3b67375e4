"""Properties of both parsers and their normalisation, over generated input (hypothesis):

any bytes in, only parsed rows or `Rejected` out, and `FileUnreadable` for a file that cannot be
trusted; normalisation only ever raises ValueError (a reason for the user), never another error; every
row it returns fits the ledger. `make fuzz` runs these with thousands of examples
(HYPOTHESIS_PROFILE=fuzz); CI runs a few hundred."""

from __future__ import annotations

import gzip
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops.ledger.selectors import catalog_load
from ingestion.normalize_cur import normalize_cur_row
from ingestion.normalize_logs import normalize_log_record
from ingestion.parsers.common import Batch, FileUnreadable, Rejected
from ingestion.parsers.cur import iter_cur_file
from ingestion.parsers.invocation_logs import iter_log_file
from ingestion.validation import validate_event
from tests.fixtures import make_fixtures as mf

pytestmark = pytest.mark.django_db
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
CUR_TEXT = mf.CUR_JUNE_CSV.read_bytes()
LOG_TEXT = mf.LOGS_JSONL.read_bytes()
HASH_KEY = b"property-test-key"


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, length to remove, bytes to insert) edits, positions taken modulo the length."""
    for position, remove, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + remove :]
    return data


EDITS = st.lists(
    st.tuples(st.integers(0, 10**6), st.integers(0, 40), st.binary(max_size=12)),
    min_size=1,
    max_size=6,
)
INTERESTING_TEXT = st.sampled_from(
    [b'"', b",", b"\n", b"\r", b"\x00", b"\xff", b"\xc3", b"{", b"}", b"[", b"NaN", b"1e400", b"-1", b"9" * 30]
)
INTERESTING_EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 3), INTERESTING_TEXT), max_size=4)


def _write(data: bytes, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)  # noqa: SIM115
    with handle:
        handle.write(gzip.compress(data) if suffix.endswith(".gz") else data)
    return Path(handle.name)


def _gzip_damage(data: bytes, flip: int, cut: int) -> bytes:
    packed = bytearray(gzip.compress(data))
    if flip:
        packed[flip % len(packed)] ^= 1 << (flip % 8)
    return bytes(packed[: len(packed) - (cut % 30)] if cut else packed)


def _drain(batches: Any) -> list[Batch]:
    try:
        return list(batches)
    except FileUnreadable:
        return []


def _check_batches(batches: list[Batch]) -> None:
    for batch in batches:
        assert batch.read >= len(batch.rows) + len(batch.rejected)
        for rejected in batch.rejected:
            assert isinstance(rejected, Rejected) and rejected.line >= 1 and rejected.reason


def _normalises_or_rejects(rows: list[dict[str, Any]], normaliser: Any, catalog: Any) -> None:
    for raw in rows:
        try:
            fields = normaliser(raw, catalog=catalog, mapping={"team": ["team"], "application": ["application"]})
        except ValueError as exc:
            assert str(exc)
            continue
        validate_event(dict(fields))  # what reaches the loader fits every column
        for value in fields.values():
            if isinstance(value, Decimal):
                assert value.is_finite()


@PROPERTY
@given(edits=EDITS, interesting=INTERESTING_EDITS, suffix=st.sampled_from([".csv", ".csv.gz"]))
def test_any_damaged_cur_csv_gives_rows_or_reasons(edits: list, interesting: list, suffix: str) -> None:
    catalog = catalog_load()
    path = _write(_mutate(CUR_TEXT, edits + interesting), suffix)
    try:
        batches = _drain(iter_cur_file(path, batch_size=7))
        _check_batches(batches)
        _normalises_or_rejects([row for b in batches for row in b.rows], normalize_cur_row, catalog)
    finally:
        path.unlink()


@PROPERTY
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".csv.gz", ".parquet"]))
def test_any_bytes_as_a_cur_file_give_rows_reasons_or_unreadable(data: bytes, suffix: str) -> None:
    path = _write(data, suffix)
    try:
        _check_batches(_drain(iter_cur_file(path)))
    finally:
        path.unlink()


@PROPERTY
@given(flip=st.integers(0, 10**6), cut=st.integers(0, 30))
def test_a_damaged_cur_gzip_is_read_whole_or_refused_whole(flip: int, cut: int) -> None:
    path = _write(b"", ".csv.gz")
    path.write_bytes(_gzip_damage(CUR_TEXT, flip, cut))
    try:
        try:
            batches = list(iter_cur_file(path))
        except FileUnreadable:
            return
        # Read to the end with a good CRC: then the text is the original (gzip's CRC32 caught no change).
        assert sum(b.read for b in batches) == 19
    finally:
        path.unlink()


SHORT = st.text(max_size=5)
ARROW_VALUES = {
    "string": (pa.string(), st.one_of(st.none(), st.text(max_size=30))),
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
    "float": (pa.float64(), st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))),
    "timestamp": (pa.timestamp("ms"), st.one_of(st.none(), st.integers(-(2**50), 2**50))),
    "ints": (pa.list_(pa.int64()), st.one_of(st.none(), st.lists(st.integers(-5, 5), max_size=3))),
    "map": (pa.map_(pa.string(), pa.string()), st.one_of(st.none(), st.lists(st.tuples(SHORT, SHORT), max_size=3))),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
}  # fmt: skip
COLUMNS = ["line_item_usage_type", "line_item_unblended_cost", "line_item_usage_start_date", "tags", "product",
           "line_item_usage_amount", "line_item_iam_principal", "bill_billing_period_start_date", "pricing_unit",
           "line_item_line_item_type", "line_item_usage_account_id", "product_product_family"]  # fmt: skip


@st.composite
def parquet_tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(1, 6))
    arrays, fields = [], []
    for column in COLUMNS:
        kind = draw(st.sampled_from(sorted(ARROW_VALUES)))
        arrow_type, values = ARROW_VALUES[kind]
        if column == "product_product_family" and draw(st.booleans()):
            arrow_type, values = pa.string(), st.just("Amazon Bedrock")  # so most rows are Bedrock rows
        data = [draw(values) for _ in range(rows)]
        if kind == "timestamp" and arrow_type == pa.timestamp("ms"):
            arrays.append(pa.array(data, type=pa.int64()).cast(arrow_type))
        else:
            arrays.append(pa.array(data, type=arrow_type))
        fields.append(pa.field(column, arrow_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


@PROPERTY
@given(table=parquet_tables())
def test_any_parquet_column_types_give_rows_or_reasons(table: pa.Table) -> None:
    catalog = catalog_load()
    path = _write(b"", ".parquet")
    pq.write_table(table, path)
    try:
        batches = _drain(iter_cur_file(path))
        _check_batches(batches)
        _normalises_or_rejects([row for b in batches for row in b.rows], normalize_cur_row, catalog)
    finally:
        path.unlink()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
LOG_FIELDS = [
    "requestId", "timestamp", "modelId", "accountId", "region", "inferenceRegion", "operation", "input",
    "output", "identity", "requestMetadata", "schemaType", "serviceTier", "errorCode", "performanceConfig",
    "input.inputTokenCount", "input.cacheReadInputTokenCount", "output.outputTokenCount", "identity.arn",
    "output.outputBodyJson", "output.outputBodyJson.metrics", "output.outputBodyJson.metrics.latencyMs",
    "input.inputBodyJson", "requestMetadata.team",
]  # fmt: skip


def _set(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        child = record.get(key)
        if not isinstance(child, dict):
            child = record[key] = {}
        record = child
    record[last] = value


@PROPERTY
@given(
    changes=st.lists(st.tuples(st.sampled_from(LOG_FIELDS), JSON_VALUES), min_size=1, max_size=4),
    which=st.integers(0, 10),
)
def test_any_field_of_a_log_record_set_to_any_json_gives_a_row_or_a_reason(changes: list, which: int) -> None:
    catalog = catalog_load()
    lines = LOG_TEXT.splitlines()
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    record = records[which % len(records)]
    for path, value in changes:
        _set(record, path, value)
    path = _write(json.dumps(record).encode() + b"\n", ".jsonl")
    try:
        batches = _drain(iter_log_file(path, hash_key=HASH_KEY))
        _check_batches(batches)
        _normalises_or_rejects([row for b in batches for row in b.rows], normalize_log_record, catalog)
    finally:
        path.unlink()


@PROPERTY
@given(edits=EDITS, interesting=INTERESTING_EDITS, suffix=st.sampled_from([".jsonl", ".json.gz", ".json"]))
def test_any_damaged_log_file_gives_rows_or_reasons(edits: list, interesting: list, suffix: str) -> None:
    catalog = catalog_load()
    path = _write(_mutate(LOG_TEXT, edits + interesting), suffix)
    try:
        batches = _drain(iter_log_file(path, hash_key=HASH_KEY, batch_size=3))
        _check_batches(batches)
        _normalises_or_rejects([row for b in batches for row in b.rows], normalize_log_record, catalog)
    finally:
        path.unlink()


@PROPERTY
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".jsonl", ".json.gz"]))
def test_any_bytes_as_a_log_file_give_rows_reasons_or_unreadable(data: bytes, suffix: str) -> None:
    path = _write(data, suffix)
    try:
        _check_batches(_drain(iter_log_file(path, hash_key=HASH_KEY)))
    finally:
        path.unlink()
