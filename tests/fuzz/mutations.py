"""Variant generators: malformed versions of the fixture files, deterministic from a seed.

`variants(importer, count, seed)` returns the named variants (every case the review asked for by name) followed
by `count` random ones. A variant is built lazily into a directory: `variant.build(root)` writes its files and
returns a Scenario (the imports to run, and for every written row what it now says, see oracle.Plan). Random
variant `i` depends only on (seed, importer, i), so a larger --count keeps the earlier variants unchanged.
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import random
import string
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from tests.fuzz import bases
from tests.fuzz.oracle import CUR_FILTER_COLUMNS, CUR_TOUCHES, INVALID, Change, DataFile, Plan

JUNE = date(2026, 6, 1)
CUR_SUFFIX = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".snappy.parquet"}
LOG_SUFFIX = {"jsonl": ".jsonl", "json.gz": ".json.gz", "json": ".json"}
BIG_CUR_ROWS = 600
BIG_LOG_RECORDS = 3000


@dataclass
class Step:
    importer: str  # "cur" | "logs"
    paths: list[Path]


@dataclass
class Scenario:
    name: str
    family: str
    fmt: str
    main: Step
    files: list[DataFile]  # the data files of the main import, with their row plans
    setup: list[Step] = field(default_factory=list)  # imports into the same tenant before the main one
    keep: list[DataFile] = field(default_factory=list)  # rows loaded by the setup that must stay unchanged
    description: str = ""


@dataclass(frozen=True)
class Variant:
    id: str
    importer: str
    label: str
    named: bool
    build: Callable[[Path], Scenario]


# --- value pools ---------------------------------------------------------------------------------------------

WORD = string.ascii_letters + string.digits + "-_./:@"
ODD_CHARS = (
    "\u2028\u2029\u0085\ufeff\u200b\u200f\u202e\u0301\u00e9\u00df\u4e2d\u6587\U0001f600\U0001f4b8\t\\\"',;|"
    "\x7f\x01\x1b\x1c\x1d\x1e\u00a0\u3000\ufffd\uffff"
)
PLAIN_LONG = "long-value-abcdefghijklmnopqrstuvwxyz0123456789"


def long_text(length: int, seed: str = "") -> str:
    """A deterministic string of exactly `length` characters."""
    unit = (seed + PLAIN_LONG) if seed else PLAIN_LONG
    return (unit * (length // len(unit) + 1))[:length]


def random_unicode(rng: random.Random, length: int) -> str:
    chars = []
    for _ in range(length):
        pick = rng.random()
        if pick < 0.4:
            chars.append(rng.choice(ODD_CHARS))
        elif pick < 0.6:
            chars.append(rng.choice(WORD))
        elif pick < 0.9:
            code = rng.randint(0x20, 0xFFFF)
            chars.append(chr(code) if not 0xD800 <= code <= 0xDFFF else "x")
        else:
            chars.append(chr(rng.randint(0x10000, 0x10FFFF)))
    return "".join(chars)


def random_text(rng: random.Random, *, newlines: bool = True) -> str:
    pick = rng.random()
    if pick < 0.3:
        length = rng.choice([13, 33, 65, 129, 256, 257, 300, 513, 1025, 2049, 3000, 100_000])
        if rng.random() < 0.3:
            return rng.choice(["\u00e9", "\u4e2d", "\U0001f600"]) * length
        return long_text(length, rng.choice(["", "t-", "arn:aws:iam::123456789012:user/"]))
    if pick < 0.4:
        return rng.choice(["x\x00y", "\x00", "team\x00", "\x00\x00\x00"])
    if pick < 0.7:
        text = random_unicode(rng, rng.randint(1, 40))
        if newlines and rng.random() < 0.3:
            text += rng.choice(["\n", "\r\n", "\r"]) + random_unicode(rng, 5)
        return text
    return rng.choice(
        [
            "",
            "   ",
            " padded ",
            "'; DROP TABLE ai_spend_events; --",
            "%s%n{0}%(x)s",
            "<script>alert(1)</script>",
            "../../etc/passwd",
            "null",
            "None",
            "NaN",
            "true",
            "0",
            "-1",
        ]
    )


NUMBER_TEXTS = [
    "1e16",
    "-1",
    "-5",
    "-0",
    "0",
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "Infinity",
    "inf",
    "-Infinity",
    "1E+400",
    "1e-400",
    "12345678901.5",
    "9999999999.9999999999",
    "99999999999",
    "0.00000000001",
    "0.123456789012345678",
    "1" + "0" * 30,
    "1,5",
    "$1.00",
    "0x1A",
    " 7 ",
    "1e",
    "--1",
    "+5",
    "1.7976931348623157e308",
    "5e-324",
    "\u0661\u0662",
    "",
    "12.5%",
    "1e16",
    "-1e16",
    "3.3",
]


def random_number_text(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.55:
        return rng.choice(NUMBER_TEXTS)
    if pick < 0.75:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 18)}f}"
    if pick < 0.9:
        return str(rng.randint(-(10**20), 10**20))
    return f"{rng.random():.6f}e{rng.randint(-30, 30)}"


TIMESTAMP_TEXTS = [
    "2026-06-03T23:30:00-05:00",
    "2026-06-03T00:00:00+14:00",
    "2026-06-30T22:00:00-12:00",
    "9999-12-31T23:59:59.999Z",
    "0001-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-06-30T23:59:60Z",
    "2026-06-03",
    "2026-06-03 12:00:00",
    "20260603T120000Z",
    "2026-06-03T12:00:00.123456789Z",
    "2026-06-03T12:00:00.5+05:30",
    "June 3, 2026",
    "",
    "1717000000",
    "2026-13-01T00:00:00Z",
    "2026-06-03T24:00:00Z",
    "2026-06-03T12:00:00z",
    "  2026-06-03T12:00:00Z  ",
    "2026-06-03T12:00:00+0530",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+05:00",
    "2026-W23-3",
    "2026-06-03T12",
]


def random_timestamp_text(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(TIMESTAMP_TEXTS)
    moment = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(seconds=rng.randint(-(10**9), 10**9))
    offset = timedelta(minutes=rng.choice([0, 0, -300, 330, 840, -720, 45]))
    local = moment.astimezone(timezone(offset))
    text = local.isoformat(timespec=rng.choice(["seconds", "milliseconds", "microseconds"]))
    return text.replace("+00:00", "Z") if rng.random() < 0.5 else text


# --- CUR: clean rows and writers ---------------------------------------------------------------------------------


def cur_base(name: str) -> list[dict[str, str]]:
    if name == "big600":
        return bases.cur_big(BIG_CUR_ROWS)
    return bases.CUR_BASES[name]()


def cur_repr(row: dict[str, str], fmt: str) -> dict[str, Any]:
    """A base row as the format holds it (text for CSV, typed values for Parquet)."""
    return bases.typed_row(row) if fmt == "parquet" else dict(row)


@dataclass
class CurOut:
    """One record of a CUR file being written."""

    base: dict[str, Any]
    plan: Plan | None
    cells: list[bases.Cell] | None = None  # CSV
    raw: bytes | None = None  # CSV: a raw (malformed or blank) line
    typed: dict[str, Any] | None = None  # Parquet
    notes: list[str] = field(default_factory=list)
    must_reject: str = ""
    malformed: bool = False


def clean_cur_outs(base: str, fmt: str, ref_fmt: str | None = None, rows: list[int] | None = None) -> list[CurOut]:
    base_rows = cur_base(base)
    indexes = range(len(base_rows)) if rows is None else rows
    outs = []
    for index in indexes:
        row = cur_repr(base_rows[index], fmt)
        plan = Plan(ref=("cur", base, ref_fmt or fmt), index=index)
        if fmt == "parquet":
            outs.append(CurOut(base=row, plan=plan, typed=dict(row)))
        else:
            outs.append(CurOut(base=row, plan=plan, cells=[row[c] for c in bases.CUR_COLUMNS]))
    return outs


def decode_cells(header: list[str], cells: list[bases.Cell]) -> dict[str, str] | None:
    if len(cells) != len(header):
        return None
    return {h: c.decode("utf-8", "replace") if isinstance(c, bytes) else c for h, c in zip(header, cells, strict=True)}


def finish_cur(outs: list[CurOut]) -> None:
    """Record in every mutated row's plan what the row now says."""
    for out in outs:
        if out.plan is None or (not out.notes and not out.must_reject):
            continue
        if out.malformed or out.raw is not None:
            new: dict[str, Any] | None = None
        elif out.typed is not None:
            new = out.typed
        else:
            new = decode_cells(list(bases.CUR_COLUMNS), out.cells or [])
        out.plan.change = Change("cur", out.base, new, "; ".join(out.notes) or out.must_reject, out.must_reject)


def write_cur(path: Path, fmt: str, outs: list[CurOut], header: list[str] | None = None) -> DataFile:
    finish_cur(outs)
    header = header or list(bases.CUR_COLUMNS)
    if fmt == "parquet":
        table = bases.parquet_table(header, [o.typed or {} for o in outs])
        starts = bases.write_parquet(path, table)
    else:
        data, starts = bases.csv_bytes(header, [o.raw if o.raw is not None else (o.cells or []) for o in outs])
        bases.write_bytes(path, data, gz=fmt == "csv.gz")
    plans = []
    for out, start in zip(outs, starts, strict=True):
        if out.plan is not None:
            out.plan.line = start
            plans.append(out.plan)
    return DataFile(path, plans)


def cur_location(root: Path, fmt: str, layout: str, period: str = "2026-06", export: str = "bedrock-cur2") -> Path:
    if layout == "loose":
        return root / f"cur-{period}{CUR_SUFFIX[fmt]}"
    return bases.cur_data_dir(root, period, export) / f"{export}-00001{CUR_SUFFIX[fmt]}"


def cur_paths(root: Path, data_files: list[Path], layout: str, how: str, period: str = "2026-06") -> list[Path]:
    """What to hand the importer: the data file(s), the manifest, or the export folder."""
    if layout == "loose":
        return list(data_files)
    manifest = bases.cur_manifest(root, period, [bases.s3_uri(root, p) for p in data_files])
    if how == "manifest":
        return [manifest]
    if how == "folder":
        return [root / "cur2"]
    return list(data_files)


def period_of(layout: str, period: str = "2026-06") -> date | None:
    return None if layout == "loose" else date(int(period[:4]), int(period[5:]), 1)


def cur_export(
    root: Path, base: str, fmt: str, *, period: str, how: str = "manifest", ref_fmt: str | None = None
) -> tuple[Step, DataFile]:
    """A clean CUR export of one base under BILLING_PERIOD=period."""
    path = cur_location(root, fmt, "s3", period)
    data = write_cur(path, fmt, clean_cur_outs(base, fmt, ref_fmt))
    data.period = period_of("s3", period)
    return Step("cur", cur_paths(root, [path], "s3", how, period)), data


# --- CUR: mutations of one row -------------------------------------------------------------------------------------

CUR_TEXT_COLUMNS = [
    "line_item_usage_type",
    "line_item_operation",
    "line_item_iam_principal",
    "line_item_resource_id",
    "line_item_user_identifier",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "pricing_unit",
    "product_region_code",
    "product_product_family",
    "line_item_product_code",
    "product_servicecode",
    "line_item_line_item_description",
    "identity_line_item_id",
    "line_item_currency_code",
    "bill_payer_account_id",
    "bill_billing_entity",
    "identity_time_interval",
    "bill_bill_type",
]
CUR_NUMBER_COLUMNS = [
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_unblended_rate",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_cost",
]
CUR_TIME_COLUMNS = [
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
]
CUR_MAP_COLUMNS = ["product", "resource_tags", "tags"]
USAGE_TYPES = [
    "USE1-NovaPro-input-tokens",
    "USE1-MP:USE1_InputTokenCount-Units",
    "USW2-Claude4.6Sonnet-cache-write-input-token-count",
    "USE1-Claude4Sonnet-input-tokens-cross-region-global",
    "USE1-NovaCanvas-T2I-1024-Standard",
    "USW2-anthropic.claude-opus-4-8-mantle-cache-write-tokens-standard",
    "APS3-MP:APS3_input_tokens_global_standard-Units",
    "XXXX-Unknown-thing",
    "USE1-",
    "-",
]
PRINCIPALS = [
    "arn:aws:sts::123456789012:assumed-role/BedrockRole/user-1@acme.org",
    "arn:aws:iam::123456789012:user/" + long_text(300),
    "arn:aws:sts::123456789012:assumed-role/" + long_text(200) + "/" + long_text(200),
    "arn:aws:iam::123456789012:root",
    "not-an-arn",
    "arn:aws:sts::123456789012:federated-user/x",
]
TAG_KEYS = [
    "iamPrincipal/team",
    "iamPrincipal/cost-center",
    "accountTag/environment",
    "resourceTags/application",
    "iamPrincipal/application",
    "userAttribute/Department",
    "iamPrincipal/user",
    "iamPrincipal/agent",
    "team",
]


def cur_text_value(rng: random.Random, column: str) -> str:
    if column == "line_item_usage_type" and rng.random() < 0.3:
        return rng.choice(USAGE_TYPES)
    if column == "line_item_iam_principal" and rng.random() < 0.3:
        return rng.choice(PRINCIPALS)
    if column == "line_item_line_item_type" and rng.random() < 0.3:
        return rng.choice(["Credit", "DiscountedUsage", "SavingsPlanCoveredUsage", "Fee", "usage", ""])
    if column == "line_item_resource_id" and rng.random() < 0.3:
        return "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/" + random_text(rng)
    return random_text(rng)


def cur_map_text(rng: random.Random, current: str) -> str:
    try:
        loaded = json.loads(current) if current.strip() else {}
    except (ValueError, RecursionError):
        loaded = {}
    if not isinstance(loaded, dict):
        loaded = {}
    pick = rng.random()
    if pick < 0.45:
        key = rng.choice(list(loaded) or TAG_KEYS) if rng.random() < 0.6 else rng.choice(TAG_KEYS)
        value: Any = random_text(rng)
        roll = rng.random()
        if roll < 0.15:
            value = rng.choice([5, 1.5, -0.0, 10**30, None, True, False, [], {}, {"x": 1}, ["a"]])
        loaded[key] = value
        return json.dumps(loaded, ensure_ascii=rng.random() < 0.3)
    if pick < 0.55:
        loaded[random_text(rng)] = "v"
        return json.dumps(loaded)
    if pick < 0.6:
        return json.dumps({f"iamPrincipal/k{n}": f"v{n}" for n in range(rng.choice([300, 1000]))})
    if pick < 0.65:
        return '{"iamPrincipal/team":"\\ud800"}'
    if pick < 0.7:
        return '{"\\u0000team":"v\\u0000"}'
    if pick < 0.75:
        depth = rng.choice([1000, 5000, 100_000])
        return "[" * depth + "]" * depth if rng.random() < 0.5 else '{"a":' * depth + "1" + "}" * depth
    return rng.choice(
        [
            current[: rng.randint(0, max(0, len(current) - 1))],
            "{",
            "[1,2]",
            '"str"',
            "5",
            "null",
            "NaN",
            "{}",
            "",
            "{,}",
        ]
    )


def random_typed(rng: random.Random, column: str, current: Any) -> Any:
    kind = bases.cur_kind(column)
    if rng.random() < 0.1:
        return None
    if kind == "double":
        return rng.choice(
            [math.nan, math.inf, -math.inf, 1e16, -1.0, -5.0, 12345678901.5, 1e308, 5e-324, -0.0, 0.0, 1e-11]
            + [rng.uniform(-1e6, 1e6), rng.uniform(0, 10) * 10 ** rng.randint(-12, 18)]
        )
    if kind == "timestamp":
        return rng.choice(
            [
                datetime(1, 1, 1),
                datetime(9999, 12, 31, 23, 59, 59, 999000),
                datetime(1970, 1, 1),
                datetime(2026, 6, 3, 23, 30),
                datetime(2026, 6, 1) + timedelta(seconds=rng.randint(-(10**9), 10**9)),
            ]
        )
    if kind == "map":
        pairs = list(current or [])
        pick = rng.random()
        if pick < 0.6:
            pairs.append((rng.choice(TAG_KEYS), random_text(rng)))
        elif pick < 0.7:
            pairs.append((random_text(rng), "v"))
        elif pick < 0.8:
            pairs.append((rng.choice(TAG_KEYS), None))
        elif pick < 0.9:
            pairs = [(f"iamPrincipal/k{n}", f"v{n}") for n in range(1000)]
        else:
            pairs = []
        # A Parquet map may not repeat a key; keep the last value of each.
        return list(dict(pairs).items())
    if column == "line_item_usage_type" and rng.random() < 0.3:
        return rng.choice(USAGE_TYPES)
    return random_text(rng)


def mutate_cur_row(rng: random.Random, out: CurOut, fmt: str) -> str:
    """Apply one random mutation to a CUR record in place; returns its family name."""
    columns = list(bases.CUR_COLUMNS)
    if fmt == "parquet":
        column = _pick_column(rng)
        assert out.typed is not None
        out.typed[column] = random_typed(rng, column, out.typed.get(column))
        out.notes.append(f"{column}={_describe(out.typed[column])}")
        return f"cell:{bases.cur_kind(column)}"
    assert out.cells is not None
    pick = rng.random()
    if len(out.cells) != len(columns):
        pick = 0.7  # already malformed: only byte-level changes of existing cells
    if pick < 0.6:
        column = _pick_column(rng)
        index = columns.index(column)
        kind = bases.cur_kind(column)
        current = out.cells[index]
        current_text = current.decode("utf-8", "replace") if isinstance(current, bytes) else current
        if kind == "double":
            value = random_number_text(rng)
        elif kind == "timestamp":
            value = random_timestamp_text(rng)
        elif kind == "map":
            value = cur_map_text(rng, current_text)
        else:
            value = cur_text_value(rng, column)
        out.cells[index] = value
        out.notes.append(f"{column}={_describe(value)}")
        return f"cell:{kind}"
    if pick < 0.75:
        index = rng.randrange(len(out.cells))
        data = bytearray(out.cells[index].encode("utf-8") if isinstance(out.cells[index], str) else out.cells[index])
        if rng.random() < 0.5 or not data:
            junk = rng.choice([b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
            position = rng.randint(0, len(data))
            data[position:position] = junk
            family = "bytes:invalid-utf8"
        else:
            position = rng.randrange(len(data))
            data[position] = rng.randrange(256)
            family = "bytes:flip"
        out.cells[index] = bytes(data)
        out.notes.append(f"{columns[index] if index < len(columns) else index} bytes {bytes(data)[:40]!r}")
        return family
    if pick < 0.82:
        index = rng.randrange(len(columns))
        out.cells[index] = rng.choice(["", " ", "  \t"])
        out.notes.append(f"{columns[index]} blank")
        return "cell:blank"
    if pick < 0.88:
        index = rng.randrange(len(out.cells))
        del out.cells[index]
        out.notes.append(f"cell {columns[index]} deleted")
        out.malformed = True
        return "struct:delete-cell"
    if pick < 0.94:
        index = rng.randrange(len(out.cells))
        out.cells.insert(index, out.cells[index])
        out.notes.append(f"cell {columns[index]} duplicated")
        out.malformed = True
        return "struct:duplicate-cell"
    keep = rng.randrange(1, len(out.cells))
    last = out.cells[keep - 1]
    if isinstance(last, str) and last and not any(ch in last for ch in ',"\r\n'):
        out.cells = [*out.cells[: keep - 1], last[: rng.randrange(len(last) + 1)]]
    else:
        out.cells = out.cells[:keep]
    out.notes.append(f"row cut after {keep} cells")
    out.malformed = True
    return "struct:truncate-row"


def _pick_column(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(CUR_TEXT_COLUMNS)
    if pick < 0.6:
        return rng.choice(CUR_NUMBER_COLUMNS)
    if pick < 0.75:
        return rng.choice(CUR_TIME_COLUMNS)
    return rng.choice(CUR_MAP_COLUMNS)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        return f"{text[:40]}...({len(str(value))} chars)"
    return text


# --- invocation logs: clean records and writers ---------------------------------------------------------------


def log_base(name: str) -> list[dict[str, Any]]:
    if name == "big3000":
        return bases.log_big(BIG_LOG_RECORDS)
    return bases.log_records()


@dataclass
class LogOut:
    base: dict[str, Any]
    plan: Plan | None
    record: Any = None
    raw: bytes | None = None
    new: Any = None  # what the record now says when it cannot be decoded from `raw` (deep nesting)
    notes: list[str] = field(default_factory=list)
    ascii_only: bool = False


def clean_log_outs(base: str, fmt: str, indexes: list[int] | None = None) -> list[LogOut]:
    records = log_base(base)
    chosen = range(len(records)) if indexes is None else indexes
    return [
        LogOut(base=records[i], plan=Plan(ref=("logs", base, fmt), index=i), record=copy.deepcopy(records[i]))
        for i in chosen
    ]


def decode_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        return INVALID


def _log_bytes(out: LogOut, indent: int | None) -> bytes:
    if out.raw is not None:
        return out.raw
    return bases.record_bytes(out.record, ascii_only=out.ascii_only, indent=indent)


def write_logs(path: Path, fmt: str, outs: list[LogOut]) -> DataFile:
    indent = 4 if fmt == "json" else None
    payloads = [_log_bytes(o, indent) for o in outs]
    if fmt == "json":
        data, starts = payloads[0] + b"\n", [1]
    else:
        data, starts = bases.jsonl_bytes(payloads)
    bases.write_bytes(path, data, gz=fmt == "json.gz")
    plans: list[Plan] = []
    for out, start, payload in zip(outs, starts, payloads, strict=True):
        if out.plan is None:
            continue
        out.plan.line = start
        if out.notes:
            new = out.new if out.new is not None else decode_json(payload)
            out.plan.change = Change("log", out.base, new, "; ".join(out.notes))
        plans.append(out.plan)
    return DataFile(path, plans, single_document=fmt == "json")


def log_location(root: Path, fmt: str, layout: str, name: str = "invocations") -> tuple[Path, list[Path]]:
    if layout == "loose":
        path = root / f"{name}{LOG_SUFFIX[fmt]}"
        return path, [path]
    folder = bases.log_hour_dir(root)
    return folder / f"20260603T140102Z_{name}{LOG_SUFFIX[fmt]}", [root]


# --- invocation logs: mutations of one record -----------------------------------------------------------------

LOG_STRING_PATHS = [
    ("requestId",),
    ("accountId",),
    ("identity", "arn"),
    ("region",),
    ("inferenceRegion",),
    ("operation",),
    ("modelId",),
    ("errorCode",),
    ("serviceTier",),
    ("schemaType",),
    ("status",),
]
LOG_COUNT_PATHS = [
    ("input", "inputTokenCount"),
    ("input", "cacheReadInputTokenCount"),
    ("input", "cacheWriteInputTokenCount"),
    ("output", "outputTokenCount"),
    ("output", "outputImageCount"),
]
LATENCY = ("output", "outputBodyJson", "metrics", "latencyMs")
LOG_CONTAINERS = [("input",), ("output",), ("identity",), ("requestMetadata",), ("performanceConfig",)]
METADATA_KEYS = ["team", "application", "environment", "cost-center", "user", "agent", "workflow", "session", "traceId"]
SWAPS: list[Any] = [0, -1, 1.5, 1e308, True, False, None, [], {}, ["x"], {"a": "b"}]
COUNTS: list[Any] = [
    1.7,
    "",
    [],
    False,
    True,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    2**63,
    2**63 - 1,
    2**64,
    10**15,
    1e20,
    "12",
    "abc",
    0,
    None,
    {},
    5.0,
    -0.0,
    10**100,
    1e308,
    " 7 ",
]
LATENCIES: list[Any] = [1e20, -5, 1234.5, "302", math.nan, math.inf, None, 2**31, 2**31 - 1, 0, True, [], 10**30]
CONTAINERS: list[Any] = [[], 0, "", False, True, None, "x", 5, ["a"], {}]


def set_path(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = record
    for key in path[:-1]:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[path[-1]] = value


def delete_path(record: dict[str, Any], path: tuple[str, ...]) -> bool:
    target: Any = record
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if isinstance(target, dict) and path[-1] in target:
        del target[path[-1]]
        return True
    return False


def json_string_value(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.12:
        return rng.choice(SWAPS)
    if pick < 0.2:
        return rng.choice(["\ud800", "a\udfffb", "\udc00" + long_text(20)])
    return random_text(rng)


def mutate_log_record(rng: random.Random, out: LogOut, fmt: str) -> str:
    """Apply one random mutation to an invocation-log record in place; returns its family name."""
    record = out.record
    pick = rng.random()
    if out.raw is not None or not isinstance(record, dict):
        pick = 0.5  # already raw: only byte-level changes make sense
    if pick < 0.45 and isinstance(record, dict):
        roll = rng.random()
        if roll < 0.35:
            path = rng.choice(LOG_STRING_PATHS)
            value = json_string_value(rng)
            family = "json:string"
        elif roll < 0.45:
            path, value, family = ("timestamp",), _timestamp_json(rng), "json:timestamp"
        elif roll < 0.65:
            path, value, family = rng.choice(LOG_COUNT_PATHS), _count_json(rng), "json:count"
        elif roll < 0.72:
            path, value, family = LATENCY, rng.choice(LATENCIES), "json:latency"
        elif roll < 0.8:
            path, value, family = rng.choice(LOG_CONTAINERS), rng.choice(CONTAINERS), "json:container"
        else:
            key = rng.choice(METADATA_KEYS) if rng.random() < 0.85 else random_text(rng, newlines=False)
            path, value, family = ("requestMetadata", key), json_string_value(rng), "json:metadata"
        set_path(record, path, value)
        out.notes.append(f"{'.'.join(path)}={_describe(value)}")
        return family
    if 0.5 <= pick < 0.53 and isinstance(record, dict):
        scalars = [k for k, v in record.items() if isinstance(v, str | int | float) and not isinstance(v, bool)]
        if scalars and out.raw is None:
            key = rng.choice(scalars)
            text = _log_bytes(out, 4 if fmt == "json" else None).rstrip()
            copy_text = f", {json.dumps(key)}: {json.dumps(record[key])}".encode()
            out.raw = text[:-1].rstrip() + copy_text + text[-1:]
            out.new = copy.deepcopy(record)  # the same key twice with the same value says nothing new
            out.notes.append(f"key {key} written twice (same value)")
            return "json:duplicate-key"
    if pick < 0.5 and isinstance(record, dict):
        candidates = [
            ("timestamp",),
            ("requestId",),
            ("modelId",),
            ("region",),
            ("identity",),
            ("input",),
            ("output",),
            ("requestMetadata",),
            ("input", "inputTokenCount"),
            ("output", "outputTokenCount"),
            ("inferenceRegion",),
            LATENCY,
        ]
        path = rng.choice(candidates)
        delete_path(record, path)
        out.notes.append(f"{'.'.join(path)} deleted")
        return "json:delete"
    payload = bytearray(_log_bytes(out, 4 if fmt == "json" else None))
    out.new = None  # from here on the record is whatever its bytes decode to
    roll = rng.random()
    if roll < 0.45:
        junk = rng.choice([b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xfe\xff"])
        position = rng.randint(0, len(payload))
        payload[position:position] = junk
        family = "bytes:invalid-utf8"
    elif roll < 0.8:
        position = rng.randrange(len(payload))
        choices = [b for b in range(256) if b not in (0x0A, 0x0D)] if fmt != "json" else list(range(256))
        payload[position] = rng.choice(choices)
        family = "bytes:flip"
    elif roll < 0.9:
        payload = payload[: rng.randrange(1, max(2, len(payload)))]
        family = "bytes:truncate"
    elif roll < 0.95:
        depth = rng.choice([1000, 10_000, 100_000])
        body = "[" * depth + "]" * depth
        new = copy.deepcopy(record) if isinstance(record, dict) else None
        if new is not None:
            marker = "__DEEP__"
            new.setdefault("input", {})
            if isinstance(new["input"], dict):
                new["input"]["inputBodyJson"] = marker
                out.raw = bases.record_bytes(new, ascii_only=True).replace(f'"{marker}"'.encode(), body.encode())
                new["input"]["inputBodyJson"] = f"<{depth} nested lists>"
                out.new = new
                out.notes.append(f"inputBodyJson nested {depth} deep")
                return "json:deep"
        payload[rng.randrange(len(payload))] = rng.choice(b"{}[]:,x")
        family = "bytes:flip"
    else:
        # A .json file may hold a list of records, so a list is only malformed in JSON lines.
        value = rng.choice([None, 5, "x"] if fmt == "json" else [None, [], 5, "x", [record]])
        out.raw = json.dumps(value).encode()
        out.notes.append(f"record replaced by {_describe(value)}")
        return "json:not-object"
    out.raw = bytes(payload)
    out.notes.append(f"{family} {bytes(payload)[:30]!r}...")
    return family


def _timestamp_json(rng: random.Random) -> Any:
    if rng.random() < 0.15:
        return rng.choice([1717000000, None, True, [], {}, 1.5])
    return random_timestamp_text(rng)


def _count_json(rng: random.Random) -> Any:
    if rng.random() < 0.75:
        return rng.choice(COUNTS)
    return rng.randint(0, 10**7)


# --- file-level damage ------------------------------------------------------------------------------------------


def gzip_damaged(data: bytes, how: str, rng: random.Random) -> bytes:
    """gzip of `data` with a flipped bit in the compressed stream, a bad CRC or ISIZE, or cut short."""
    packed = bytearray(gzip.compress(data, mtime=0))
    if how == "crc":
        packed[-8 + rng.randrange(4)] ^= 1 << rng.randrange(8)
        return bytes(packed)
    if how == "size":
        packed[-4 + rng.randrange(4)] ^= 1 << rng.randrange(8)
        return bytes(packed)
    if how == "cut":
        return bytes(packed[: rng.randrange(1, len(packed) - 1)])
    for _ in range(200):
        damaged = bytearray(packed)
        damaged[rng.randrange(10, len(packed) - 8)] ^= 1 << rng.randrange(8)
        try:
            if gzip.decompress(bytes(damaged)) == data:
                continue
        except Exception:  # noqa: BLE001 - any failure means the damage is visible
            pass
        return bytes(damaged)
    raise RuntimeError("could not damage the gzip stream")


def parquet_wrong_type(outs: list[CurOut], column: str, kind: str) -> Any:
    """The records as a Parquet table whose `column` has a wrong type."""
    import pyarrow as pa

    rows = [o.typed or {} for o in outs]
    count = len(rows)
    arrays = {
        "list<int64>": pa.array([[1, 2, 3]] * count, type=pa.list_(pa.int64())),
        "int64": pa.array(list(range(count)), type=pa.int64()),
        "bool": pa.array([True] * count, type=pa.bool_()),
        "struct": pa.array([{"a": 1}] * count, type=pa.struct([("a", pa.int64())])),
        "list<double>": pa.array([[1.5]] * count, type=pa.list_(pa.float64())),
        "binary": pa.array([b"\x00\xff"] * count, type=pa.binary()),
    }
    columns = list(bases.CUR_COLUMNS)
    table = bases.parquet_table(columns, rows)
    return table.set_column(columns.index(column), column, arrays[kind])


# --- the variants ----------------------------------------------------------------------------------------------


def variants(importer: str, count: int, seed: int) -> list[Variant]:
    named = cur_named() if importer == "cur" else log_named()
    result = [Variant(f"{importer}-n{i:03d}", importer, label, True, build) for i, (label, build) in enumerate(named)]
    maker = random_cur if importer == "cur" else random_logs
    for number in range(count):
        rng_seed = f"{seed}:{importer}:{number}"
        result.append(
            Variant(f"{importer}-r{number:05d}", importer, f"random #{number}", False, partial(maker, rng_seed))
        )
    return result


# --- CUR random variants ---------------------------------------------------------------------------------------


def random_cur(rng_seed: str, root: Path) -> Scenario:
    rng = random.Random(rng_seed)
    fmt = rng.choice(["csv", "csv", "csv", "csv.gz", "csv.gz", "parquet", "parquet", "parquet"])
    if rng.random() < 0.12:
        return _random_cur_file_level(rng, root, fmt)
    layout = "s3" if rng.random() < 0.3 else "loose"
    how = rng.choice(["manifest", "folder", "file"])
    outs = clean_cur_outs("june", fmt)
    families: list[str] = []
    targets = sorted(rng.sample(range(len(outs)), k=rng.choice([1, 1, 1, 1, 2, 3])), reverse=True)
    for target in targets:
        out = outs[target]
        roll = rng.random()
        if roll < 0.05 and out.plan is not None:
            twin_plan = Plan(ref=out.plan.ref, index=out.plan.index, duplicate=True)
            twin = CurOut(base=out.base, plan=twin_plan, cells=list(out.cells or []), typed=dict(out.typed or {}))
            if fmt != "parquet":
                twin.typed = None
            twin.notes.append("a copy of the row above")
            outs.insert(target + 1, twin)
            families.append("struct:duplicate-row")
            continue
        if roll < 0.09:
            out.plan = None
            out.notes.append("deleted")
            families.append("struct:delete-row")
            continue
        if roll < 0.12 and fmt != "parquet":
            outs.insert(target, CurOut(base={}, plan=None, raw=b""))
            families.append("struct:blank-line")
            continue
        for _ in range(rng.choice([1, 1, 1, 2])):
            families.append(mutate_cur_row(rng, out, fmt))
    outs = [o for o in outs if not (o.plan is None and "deleted" in o.notes)]
    path = cur_location(root, fmt, layout)
    data = write_cur(path, fmt, outs)
    data.period = period_of(layout)
    paths = cur_paths(root, [path], layout, how)
    description = " | ".join(
        f"line {o.plan.line}: {'; '.join(o.notes)}" for o in outs if o.plan is not None and o.notes
    ) or ", ".join(families)
    return Scenario(
        name=f"{fmt}/{layout}/{families[0]}",
        family=f"{fmt}/{families[0]}",
        fmt=fmt,
        main=Step("cur", paths),
        files=[data],
        description=description,
    )


def _preload(root: Path) -> tuple[list[Step], list[DataFile]]:
    """June as delivered before (the restated fixture), in another export folder."""
    step, data = cur_export(root / "before", "restated", "csv.gz", period="2026-06")
    return [step], [data]


def _random_cur_file_level(rng: random.Random, root: Path, fmt: str) -> Scenario:
    setup, keep = _preload(root)
    layout = "s3" if rng.random() < 0.7 else "loose"
    how = rng.choice(["manifest", "folder", "file"])
    outs = clean_cur_outs("june", fmt)
    path = cur_location(root / "main", fmt, layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = DataFile(path, [], whole_file_rejected=True, period=period_of(layout))
    detail = ""
    if fmt == "csv.gz":
        how_damage = rng.choice(["flip", "flip", "crc", "size", "cut", "cut"])
        raw, _ = bases.csv_bytes(bases.CUR_COLUMNS, [o.cells or [] for o in outs])
        path.write_bytes(gzip_damaged(raw, how_damage, rng))
        family = f"file:gzip-{how_damage}"
    elif fmt == "csv":
        header = list(bases.CUR_COLUMNS)
        if rng.random() < 0.5:
            column = rng.choice(header)
            position = rng.choice([header.index(column) + 1, len(header)])
            other = rng.random() < 0.5
            rows = []
            for o in outs:
                cells = list(o.cells or [])
                cells.insert(position, random_number_text(rng) if other else cells[header.index(column)])
                rows.append(cells)
            header.insert(position, column)
            family = "file:duplicate-column"
            detail = f"{column} twice ({'other' if other else 'same'} values)"
        else:
            column = rng.choice(["line_item_usage_type", "line_item_unblended_cost", "line_item_usage_start_date"])
            index = header.index(column)
            del header[index]
            rows = [[c for i, c in enumerate(o.cells or []) if i != index] for o in outs]
            family = "file:missing-column"
            detail = f"no {column}"
        raw, _ = bases.csv_bytes(header, rows)
        path.write_bytes(raw)
        data.path = path
    else:
        roll = rng.random()
        if roll < 0.6:
            # Only columns that decide what is stored or whether a row is Bedrock: an unused column of the wrong
            # type may fairly be ignored.
            column = rng.choice(sorted((set(CUR_TOUCHES) | CUR_FILTER_COLUMNS) & set(bases.CUR_COLUMNS)))
            kinds = ["list<int64>", "bool", "struct", "list<double>"]
            if bases.cur_kind(column) != "string":
                kinds.append("binary")
            kind = rng.choice(kinds)
            table = parquet_wrong_type(outs, column, kind)
            bases.write_parquet(path, table)
            data.all_rows_rejected_ok = True
            family = "file:parquet-wrong-type"
            detail = f"{column} as {kind}"
        else:
            table = bases.parquet_table(bases.CUR_COLUMNS, [o.typed or {} for o in outs])
            bases.write_parquet(path, table)
            raw = path.read_bytes()
            if roll < 0.85:
                path.write_bytes(raw[: rng.randrange(0, len(raw) - 1)])
                family = "file:parquet-cut"
            else:
                path.write_bytes(raw[:-4] + b"PAR2")
                family = "file:parquet-bad-magic"
    paths = cur_paths(root / "main", [path], layout, how)
    return Scenario(
        name=f"{fmt}/{layout}/{family}",
        family=family,
        fmt=fmt,
        main=Step("cur", paths),
        files=[data],
        setup=setup,
        keep=keep,
        description=f"{family} {detail} (import via {how if layout == 's3' else 'file'})",
    )


# --- CUR named variants ----------------------------------------------------------------------------------------

NamedBuild = tuple[str, Callable[[Path], Scenario]]


def _cur_one(
    root: Path,
    *,
    name: str,
    fmt: str,
    changes: dict[int, dict[str, Any]],
    layout: str = "loose",
    how: str = "file",
    base: str = "june",
) -> Scenario:
    """The base with `changes` ({row index: {column: value}}) applied."""
    outs = clean_cur_outs(base, fmt)
    for index, cells in changes.items():
        out = outs[index]
        for column, value in cells.items():
            if fmt == "parquet":
                assert out.typed is not None
                out.typed[column] = value
            else:
                assert out.cells is not None
                out.cells[bases.CUR_COLUMNS.index(column)] = value
            out.notes.append(f"{column}={_describe(value)}")
    path = cur_location(root, fmt, layout)
    data = write_cur(path, fmt, outs)
    data.period = period_of(layout)
    return Scenario(
        name=name,
        family=name.split("/")[0],
        fmt=fmt,
        main=Step("cur", cur_paths(root, [path], layout, how)),
        files=[data],
        description=name,
    )


def _tags_with(row: int, key: str, value: Any) -> str:
    loaded = json.loads(bases.cur_june()[row]["tags"] or "{}")
    loaded[key] = value
    return json.dumps(loaded)


def _resource_tags_with(row: int, key: str, value: str) -> str:
    loaded = json.loads(bases.cur_june()[row]["resource_tags"] or "{}")
    loaded[key] = value
    return json.dumps(loaded)


def _product_with(row: int, key: str, value: str) -> str:
    loaded = json.loads(bases.cur_june()[row]["product"] or "{}")
    loaded[key] = value
    return json.dumps(loaded)


def cur_named() -> list[NamedBuild]:
    named: list[NamedBuild] = []

    def add(name: str, fmt: str, changes: dict[int, dict[str, Any]], **kw: Any) -> None:
        named.append((name, partial(_cur_one, name=name, fmt=fmt, changes=changes, **kw)))

    for length in (300, 3000, 100_000):
        text = long_text(length)
        long_fields: dict[str, dict[int, dict[str, Any]]] = {
            "line_item_usage_type": {0: {"line_item_usage_type": "USE1-" + text}},
            "line_item_operation": {0: {"line_item_operation": text}},
            "line_item_iam_principal": {0: {"line_item_iam_principal": "arn:aws:iam::123456789012:user/" + text}},
            "line_item_iam_principal(role)": {
                0: {"line_item_iam_principal": f"arn:aws:sts::123456789012:assumed-role/{text}/session-1"}
            },
            "line_item_resource_id": {
                17: {
                    "line_item_resource_id": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/"
                    + text
                }
            },
            "product_region_code": {15: {"product_region_code": text}},
            "line_item_user_identifier": {0: {"line_item_user_identifier": text}},
            "line_item_usage_account_id": {0: {"line_item_usage_account_id": text}},
            "line_item_line_item_type": {13: {"line_item_line_item_type": text}},
            "pricing_unit": {0: {"pricing_unit": text}},
            "tags[iamPrincipal/team]": {0: {"tags": _tags_with(0, "iamPrincipal/team", text)}},
            "tags[iamPrincipal/application]": {0: {"tags": _tags_with(0, "iamPrincipal/application", text)}},
            "tags[accountTag/environment]": {0: {"tags": _tags_with(0, "accountTag/environment", text)}},
            "tags[iamPrincipal/cost-center]": {0: {"tags": _tags_with(0, "iamPrincipal/cost-center", text)}},
            "tags[iamPrincipal/user]": {0: {"tags": _tags_with(0, "iamPrincipal/user", text)}},
            "resource_tags[user_team]": {17: {"resource_tags": _resource_tags_with(17, "user_team", text)}},
            "resource_tags[user_application]": {
                17: {"resource_tags": _resource_tags_with(17, "user_application", text)}
            },
            "product[product_name]": {12: {"product": _product_with(12, "product_name", text)}},
        }
        for field_name, changes in long_fields.items():
            add(f"long-{length}/{field_name}/csv", "csv", changes)
    add(
        "long-100000/tags[iamPrincipal/team]/parquet",
        "parquet",
        {0: {"tags": [("iamPrincipal/team", long_text(100_000))]}},
    )
    add("long-3000/line_item_usage_type/parquet", "parquet", {0: {"line_item_usage_type": "USE1-" + long_text(3000)}})
    add(
        "long-300/line_item_iam_principal/csv.gz",
        "csv.gz",
        {0: {"line_item_iam_principal": "arn:aws:iam::1:user/" + long_text(300)}},
    )
    for column, value in [
        ("line_item_usage_type", "USE1-Claude4.6Sonnet-input\x00-tokens"),
        ("line_item_iam_principal", "arn:aws:iam::123456789012:user/al\x00ice"),
        ("line_item_operation", "Invoke\x00"),
        ("tags", _tags_with(0, "iamPrincipal/team", "data\x00science")),
        ("tags", '{"iamPrincipal/team\\u0000":"x"}'),
    ]:
        add(f"nul/{column}/csv", "csv", {0: {column: value}})
    add(
        "nul/line_item_iam_principal/parquet", "parquet", {0: {"line_item_iam_principal": "arn:aws:iam::1:user/a\x00b"}}
    )
    add("surrogate/tags-json-escape/csv", "csv", {0: {"tags": '{"iamPrincipal/team":"\\ud800"}'}})
    add("invalid-utf8/usage_type/csv", "csv", {3: {"line_item_usage_type": b"USE1-Claude\xff-input-tokens"}})
    add("invalid-utf8/tags/csv.gz", "csv.gz", {8: {"tags": b'{"iamPrincipal/team":"da\xc3"}'}})
    named.append(("invalid-utf8/row-300-of-600/csv", _cur_big_bad_byte))
    for fmt in ("csv", "parquet"):
        cost: Any = "12345678901.5" if fmt == "csv" else 12345678901.5
        amount: Any = "1e16" if fmt == "csv" else 1e16
        add(f"number/cost-12345678901.5/{fmt}", fmt, {0: {"line_item_unblended_cost": cost}})
        add(f"number/usage-amount-1e16/{fmt}", fmt, {1: {"line_item_usage_amount": amount}})
    add("number/usage-amount-negative/csv", "csv", {0: {"line_item_usage_amount": "-5"}})
    add("number/usage-amount-1e15-1M/csv", "csv", {12: {"line_item_usage_amount": "1e15"}})
    add("number/cost-NaN/csv", "csv", {0: {"line_item_unblended_cost": "NaN"}})
    add("number/cost-Infinity/parquet", "parquet", {0: {"line_item_unblended_cost": math.inf}})
    add("number/cost-1E+400/csv", "csv", {0: {"line_item_unblended_cost": "1E+400"}})
    add("number/cost-11-decimals/csv", "csv", {0: {"line_item_unblended_cost": "0.12345678901"}})
    add("number/list-cost-huge/csv", "csv", {0: {"pricing_public_on_demand_cost": "99999999999999"}})
    add("number/rate-garbage/csv", "csv", {0: {"line_item_unblended_rate": "n/a"}})
    for fmt, value in [("csv", "9999-12-31T23:59:59.999Z"), ("parquet", datetime(9999, 12, 31, 23, 59, 59, 999000))]:
        add(f"time/usage-start-9999/{fmt}", fmt, {0: {"line_item_usage_start_date": value}})
    add("time/usage-start-0001/csv", "csv", {0: {"line_item_usage_start_date": "0001-01-01T00:00:00Z"}})
    add("time/usage-start-offset-05/csv", "csv", {0: {"line_item_usage_start_date": "2026-06-03T23:30:00-05:00"}})
    add("time/usage-start-offset+14/csv", "csv", {1: {"line_item_usage_start_date": "2026-06-04T01:00:00+14:00"}})
    add("time/usage-end-offset/csv", "csv", {2: {"line_item_usage_end_date": "2026-06-03T23:30:00-05:00"}})
    add("time/period-start-offset/csv", "csv", {0: {"bill_billing_period_start_date": "2026-06-01T00:00:00+02:00"}})
    add("time/usage-start-garbage/csv", "csv", {0: {"line_item_usage_start_date": "June 3rd"}})
    add("time/usage-start-leap-second/csv", "csv", {0: {"line_item_usage_start_date": "2026-06-30T23:59:60Z"}})
    named.append(("time/parquet-timestamps-tz-aware", _cur_parquet_tz))
    add("deep-nesting/tags-100k/csv", "csv", {0: {"tags": "[" * 100_000 + "]" * 100_000}})
    add("deep-nesting/tags-object-100k/csv", "csv", {0: {"tags": '{"a":' * 100_000 + "1" + "}" * 100_000}})
    add("map/tags-nested-value/csv", "csv", {0: {"tags": _tags_with(0, "iamPrincipal/team", {"x": 1})}})
    add("map/tags-array/csv", "csv", {0: {"tags": "[1,2]"}})
    add(
        "map/tags-1000-keys/csv", "csv", {0: {"tags": json.dumps({f"iamPrincipal/k{n}": f"v{n}" for n in range(1000)})}}
    )
    add("struct/multiline-row-then-mutation/csv", "csv", {8: {"line_item_unblended_cost": "oops"}})
    named.append(("file/duplicate-header-column/same-values/csv", partial(_cur_dup_header, same=True, fmt="csv")))
    named.append(("file/duplicate-header-column/other-values/csv", partial(_cur_dup_header, same=False, fmt="csv")))
    named.append(("file/duplicate-header-column/csv.gz", partial(_cur_dup_header, same=False, fmt="csv.gz")))
    for column in ("line_item_usage_type", "line_item_unblended_cost", "line_item_usage_start_date"):
        named.append((f"file/missing-column/{column}/csv", partial(_cur_missing_column, column=column)))
    for how in ("flip", "crc", "cut"):
        named.append((f"file/gzip-{how}/csv.gz", partial(_cur_gzip, how=how)))
    named.append(("file/gzip-cut/second-file-of-period", _cur_gzip_second_file))
    for column, kind in [
        ("tags", "list<int64>"),
        ("product", "list<int64>"),
        ("resource_tags", "int64"),
        ("line_item_unblended_cost", "bool"),
        ("line_item_usage_start_date", "bool"),
        ("line_item_usage_amount", "list<double>"),
        ("line_item_usage_type", "struct"),
    ]:
        named.append((f"file/parquet-wrong-type/{column}-{kind}", partial(_cur_parquet_type, column=column, kind=kind)))
    named.append(("file/parquet-cut-short", partial(_cur_parquet_damage, how="cut")))
    named.append(("file/parquet-bad-magic", partial(_cur_parquet_damage, how="magic")))
    named.append(("invalid-utf8/parquet-string", _cur_parquet_bad_utf8))
    for form in ("data-dotdot", "period-dotdot", "nested-dotdot"):
        for how in ("manifest", "folder"):
            named.append((f"file/manifest-escape/{form}/{how}", partial(_cur_manifest_escape, form=form, how=how)))
    for fmt in ("csv", "parquet", "csv.gz"):
        named.append((f"redelivery/july-row-in-june-delivery/{fmt}", partial(_cur_july_row, fmt=fmt)))
    for fmt, how in (("csv.gz", "manifest"), ("parquet", "folder"), ("csv", "file")):
        named.append((f"redelivery/identical-twice/{fmt}/{how}", partial(_cur_identical, fmt=fmt, how=how)))
    named.append(("redelivery/restatement-replaces-june-only", _cur_restatement))
    return named


def _cur_big_bad_byte(root: Path) -> Scenario:
    """The review's case: a bad byte in data row 300 of a 600-row CUR CSV."""
    outs = clean_cur_outs("big600", "csv")
    out = outs[299]
    assert out.cells is not None
    index = bases.CUR_COLUMNS.index("line_item_line_item_description")
    out.cells[index] = (out.cells[index] if isinstance(out.cells[index], str) else "").encode() + b"\xff"
    out.notes.append("description gets byte 0xff")
    path = root / "cur-big.csv"
    data = write_cur(path, "csv", outs)
    return Scenario(
        "invalid-utf8/row-300-of-600/csv", "invalid-utf8", "csv", Step("cur", [path]), [data], description="0xff"
    )


def _cur_parquet_tz(root: Path) -> Scenario:
    """Every timestamp as the same instant in a timestamp-with-time-zone column (America/New_York)."""
    import pyarrow as pa

    outs = clean_cur_outs("june", "parquet")
    zone = zoneinfo.ZoneInfo("America/New_York")
    for out in outs:
        assert out.typed is not None
        for column in bases.CUR_COLUMNS:
            value = out.typed.get(column)
            if bases.cur_kind(column) == "timestamp" and isinstance(value, datetime):
                out.typed[column] = value.replace(tzinfo=UTC).astimezone(zone)
        out.notes.append("timestamps as America/New_York")
    finish_cur(outs)
    types = {
        c: pa.timestamp("ms", tz="America/New_York") for c in bases.CUR_COLUMNS if bases.cur_kind(c) == "timestamp"
    }
    table = bases.parquet_table(bases.CUR_COLUMNS, [o.typed or {} for o in outs], types)
    path = root / "cur-tz.snappy.parquet"
    starts = bases.write_parquet(path, table)
    for out, start in zip(outs, starts, strict=True):
        assert out.plan is not None
        out.plan.line = start
    data = DataFile(path, [o.plan for o in outs if o.plan is not None])
    return Scenario("time/parquet-timestamps-tz-aware", "time", "parquet", Step("cur", [path]), [data])


def _cur_file_level(
    root: Path, name: str, fmt: str, write: Callable[[Path], None], *, rows_ok: bool = False, layout: str = "s3"
) -> Scenario:
    setup, keep = _preload(root)
    path = cur_location(root / "main", fmt, layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path)
    data = DataFile(path, [], whole_file_rejected=True, all_rows_rejected_ok=rows_ok, period=period_of(layout))
    paths = cur_paths(root / "main", [path], layout, "manifest")
    return Scenario(name, "file", fmt, Step("cur", paths), [data], setup=setup, keep=keep, description=name)


def _cur_dup_header(root: Path, *, same: bool, fmt: str) -> Scenario:
    outs = clean_cur_outs("june", "csv")
    header = list(bases.CUR_COLUMNS)
    column = "line_item_unblended_cost"
    rows = []
    for o in outs:
        cells = list(o.cells or [])
        cells.append(cells[header.index(column)] if same else "0")
        rows.append(cells)

    def write(path: Path) -> None:
        raw, _ = bases.csv_bytes([*header, column], rows)
        bases.write_bytes(path, raw, gz=fmt == "csv.gz")

    return _cur_file_level(root, f"file/duplicate-header-column/{fmt}", fmt, write)


def _cur_missing_column(root: Path, *, column: str) -> Scenario:
    outs = clean_cur_outs("june", "csv")
    header = list(bases.CUR_COLUMNS)
    index = header.index(column)

    def write(path: Path) -> None:
        rows = [[c for i, c in enumerate(o.cells or []) if i != index] for o in outs]
        raw, _ = bases.csv_bytes([h for h in header if h != column], rows)
        path.write_bytes(raw)

    return _cur_file_level(root, f"file/missing-column/{column}", "csv", write)


def _cur_gzip(root: Path, *, how: str) -> Scenario:
    outs = clean_cur_outs("june", "csv")
    raw, _ = bases.csv_bytes(bases.CUR_COLUMNS, [o.cells or [] for o in outs])
    rng = random.Random(f"gzip-{how}")

    def write(path: Path) -> None:
        path.write_bytes(gzip_damaged(raw, how, rng))

    return _cur_file_level(root, f"file/gzip-{how}", "csv.gz", write)


def _cur_gzip_second_file(root: Path) -> Scenario:
    """A period delivered as two files; the second is cut short: nothing of the period may load."""
    setup, keep = _preload(root)
    outs = clean_cur_outs("june", "csv")
    first = bases.cur_data_dir(root / "main", "2026-06") / "bedrock-cur2-00001.csv.gz"
    second = first.with_name("bedrock-cur2-00002.csv.gz")
    good = write_cur(first, "csv.gz", outs[:10])
    raw, _ = bases.csv_bytes(bases.CUR_COLUMNS, [o.cells or [] for o in outs[10:]])
    second.write_bytes(gzip_damaged(raw, "cut", random.Random("second")))
    files = [
        DataFile(first, good.plans, whole_file_rejected=True, period=JUNE),
        DataFile(second, [], whole_file_rejected=True, period=JUNE),
    ]
    paths = cur_paths(root / "main", [first, second], "s3", "manifest")
    return Scenario("file/gzip-cut/second-file-of-period", "file", "csv.gz", Step("cur", paths), files, setup, keep)


def _cur_parquet_type(root: Path, *, column: str, kind: str) -> Scenario:
    outs = clean_cur_outs("june", "parquet")

    def write(path: Path) -> None:
        bases.write_parquet(path, parquet_wrong_type(outs, column, kind))

    return _cur_file_level(root, f"file/parquet-wrong-type/{column}-{kind}", "parquet", write, rows_ok=True)


def _cur_parquet_damage(root: Path, *, how: str) -> Scenario:
    outs = clean_cur_outs("june", "parquet")

    def write(path: Path) -> None:
        bases.write_parquet(path, bases.parquet_table(bases.CUR_COLUMNS, [o.typed or {} for o in outs]))
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) * 2 // 3] if how == "cut" else raw[:-4] + b"PAR2")

    return _cur_file_level(root, f"file/parquet-{how}", "parquet", write)


def _cur_parquet_bad_utf8(root: Path) -> Scenario:
    """A Parquet string cell that is not UTF-8 (row 4): only that row may be rejected."""
    import pyarrow as pa

    outs = clean_cur_outs("june", "parquet")
    values = [(o.typed or {}).get("line_item_line_item_description") or "" for o in outs]
    raw = [v.encode() for v in values]
    raw[3] = raw[3] + b"\xff\xfe"
    binary = pa.array(raw, type=pa.binary())
    outs[3].notes.append("description holds bytes ff fe")
    outs[3].typed = dict(outs[3].typed or {})
    outs[3].typed["line_item_line_item_description"] = raw[3].decode("utf-8", "replace")
    finish_cur(outs)
    columns = list(bases.CUR_COLUMNS)
    table = bases.parquet_table(columns, [o.base for o in outs])
    index = columns.index("line_item_line_item_description")
    table = table.set_column(index, "line_item_line_item_description", binary.view(pa.string()))
    path = root / "cur-bad-utf8.snappy.parquet"
    starts = bases.write_parquet(path, table)
    for out, start in zip(outs, starts, strict=True):
        assert out.plan is not None
        out.plan.line = start
    data = DataFile(path, [o.plan for o in outs if o.plan is not None])
    return Scenario("invalid-utf8/parquet-string", "invalid-utf8", "parquet", Step("cur", [path]), [data])


def _cur_manifest_escape(root: Path, *, form: str, how: str) -> Scenario:
    """A manifest listing its own data file plus a file outside the export folder (the bait)."""
    setup, keep = _preload(root)
    main_root = root / "main"
    path = cur_location(main_root, "csv.gz", "s3")
    data = write_cur(path, "csv.gz", clean_cur_outs("june", "csv.gz"))
    prefix = "s3://acme-cur/cur2/bedrock-cur2/data/"
    if form == "data-dotdot":
        key, bait = prefix + "../../../bait/bait.csv", main_root / "bait" / "bait.csv"
    elif form == "period-dotdot":
        key, bait = prefix + "BILLING_PERIOD=2026-06/../../../../outside.csv", main_root / "outside.csv"
    else:
        key, bait = (
            prefix + "BILLING_PERIOD=2026-06/x/../../../../../bait-2/bait.csv",
            main_root.parent / "bait-2" / "bait.csv",
        )
    (bases.cur_data_dir(main_root, "2026-06") / "x").mkdir(parents=True, exist_ok=True)  # so x/.. resolves
    bait_file = write_cur(bait, "csv", clean_cur_outs("bait", "csv"))
    bait_file.whole_file_rejected = True
    manifest = bases.cur_manifest(main_root, "2026-06", [bases.s3_uri(main_root, path), key])
    paths = [manifest] if how == "manifest" else [main_root / "cur2"]
    data.whole_file_rejected = True
    data.period = JUNE
    name = f"file/manifest-escape/{form}/{how}"
    return Scenario(name, "file", "csv.gz", Step("cur", paths), [data, bait_file], setup, keep, description=key)


def _cur_july_row(root: Path, *, fmt: str) -> Scenario:
    """July loaded; then a June delivery holding one July-stamped row: July must stay, the row be rejected."""
    setup_step, july = cur_export(root / "july", "july", "csv.gz", period="2026-07")
    outs = clean_cur_outs("june", fmt)
    stray = clean_cur_outs("july", fmt, rows=[1])[0]
    stray.must_reject = "a July-stamped row in a June delivery"
    # Another cost than the July row loaded before, so that it cannot pass for it.
    if stray.typed is not None:
        stray.typed["line_item_unblended_cost"] = 9.99
    if stray.cells is not None:
        stray.cells[bases.CUR_COLUMNS.index("line_item_unblended_cost")] = "9.99"
    stray.notes.append("July-stamped, line_item_unblended_cost=9.99")
    outs.insert(4, stray)
    path = cur_location(root / "june", fmt, "s3")
    data = write_cur(path, fmt, outs)
    data.period = JUNE
    paths = cur_paths(root / "june", [path], "s3", "manifest")
    name = f"redelivery/july-row-in-june-delivery/{fmt}"
    return Scenario(name, "redelivery", fmt, Step("cur", paths), [data], [setup_step], [july], description=name)


def _cur_identical(root: Path, *, fmt: str, how: str) -> Scenario:
    step, data = cur_export(root, "june", fmt, period="2026-06", how=how)
    name = f"redelivery/identical-twice/{fmt}/{how}"
    return Scenario(name, "redelivery", fmt, Step("cur", step.paths), [data], [step], [], description=name)


def _cur_restatement(root: Path) -> Scenario:
    may_step, may = cur_export(root / "may", "may", "csv.gz", period="2026-05")
    june_step, _ = cur_export(root / "june", "june", "csv.gz", period="2026-06")
    restated_step, restated = cur_export(root / "restated", "restated", "csv.gz", period="2026-06")
    name = "redelivery/restatement-replaces-june-only"
    return Scenario(name, "redelivery", "csv.gz", restated_step, [restated], [may_step, june_step], [may], name)


# --- log random variants ----------------------------------------------------------------------------------------


def random_logs(rng_seed: str, root: Path) -> Scenario:
    rng = random.Random(rng_seed)
    fmt = rng.choice(["jsonl", "jsonl", "jsonl", "json.gz", "json.gz", "json"])
    layout = "s3" if rng.random() < 0.2 else "loose"
    if fmt == "json.gz" and rng.random() < 0.15:
        return _random_log_gzip(rng, root, layout)
    if fmt == "json":
        index = rng.randrange(len(bases.log_records()))
        outs = clean_log_outs("records", "json", [index])
        outs[0].ascii_only = rng.random() < 0.3
        families = [mutate_log_record(rng, outs[0], fmt) for _ in range(rng.choice([1, 1, 2]))]
    else:
        outs = clean_log_outs("records", fmt)
        for out in outs:
            out.ascii_only = rng.random() < 0.3
        families = []
        for target in sorted(rng.sample(range(len(outs)), k=rng.choice([1, 1, 1, 1, 2, 3])), reverse=True):
            out = outs[target]
            roll = rng.random()
            if roll < 0.05 and out.plan is not None:
                twin_plan = Plan(ref=out.plan.ref, index=out.plan.index, duplicate=True)
                twin = LogOut(
                    base=out.base, plan=twin_plan, record=copy.deepcopy(out.record), ascii_only=out.ascii_only
                )
                twin.notes.append("a copy of the line above")
                outs.insert(target + 1, twin)
                families.append("struct:duplicate-line")
                continue
            if roll < 0.09:
                out.plan = None
                out.raw = b"\x00DELETED"
                families.append("struct:delete-line")
                continue
            if roll < 0.12:
                outs.insert(target, LogOut(base={}, plan=None, raw=rng.choice([b"", b"   ", b"\t"])))
                families.append("struct:blank-line")
                continue
            for _ in range(rng.choice([1, 1, 1, 2])):
                families.append(mutate_log_record(rng, out, fmt))
        outs = [o for o in outs if o.raw != b"\x00DELETED"]
    path, paths = log_location(root, fmt, layout)
    data = write_logs(path, fmt, outs)
    description = " | ".join(f"line {o.plan.line}: {'; '.join(o.notes)}" for o in outs if o.plan and o.notes)
    return Scenario(
        name=f"{fmt}/{layout}/{families[0]}",
        family=f"{fmt}/{families[0]}",
        fmt=fmt,
        main=Step("logs", paths),
        files=[data],
        description=description or ", ".join(families),
    )


def _random_log_gzip(rng: random.Random, root: Path, layout: str) -> Scenario:
    how = rng.choice(["flip", "flip", "crc", "size", "cut", "cut"])
    outs = clean_log_outs("records", "json.gz")
    raw, _ = bases.jsonl_bytes([_log_bytes(o, None) for o in outs])
    path, paths = log_location(root, "json.gz", layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip_damaged(raw, how, rng))
    data = DataFile(path, [], whole_file_rejected=True)
    return Scenario(f"json.gz/{layout}/file:gzip-{how}", f"file:gzip-{how}", "json.gz", Step("logs", paths), [data])


# --- log named variants -------------------------------------------------------------------------------------------


def _log_one(
    root: Path, *, name: str, fmt: str, changes: dict[int, dict[tuple[str, ...], Any]], ascii_only: bool = False
) -> Scenario:
    if fmt == "json":
        (index,) = changes
        outs = clean_log_outs("records", "json", [index])
        changes = {0: changes[index]}
    else:
        outs = clean_log_outs("records", fmt)
    for index, paths in changes.items():
        out = outs[index]
        out.ascii_only = ascii_only
        for path, value in paths.items():
            if value is MISSING_KEY:
                delete_path(out.record, path)
                out.notes.append(f"{'.'.join(path)} deleted")
            else:
                set_path(out.record, path, value)
                out.notes.append(f"{'.'.join(path)}={_describe(value)}")
    path, import_paths = log_location(root, fmt, "loose")
    data = write_logs(path, fmt, outs)
    return Scenario(name, name.split("/")[0], fmt, Step("logs", import_paths), [data], description=name)


MISSING_KEY = object()


def log_named() -> list[NamedBuild]:
    named: list[NamedBuild] = []

    def add(name: str, fmt: str, changes: dict[int, dict[tuple[str, ...], Any]], **kw: Any) -> None:
        named.append((name, partial(_log_one, name=name, fmt=fmt, changes=changes, **kw)))

    string_paths = {
        "requestId": ("requestId",),
        "modelId": ("modelId",),
        "operation": ("operation",),
        "region": ("region",),
        "inferenceRegion": ("inferenceRegion",),
        "accountId": ("accountId",),
        "identity.arn": ("identity", "arn"),
        "errorCode": ("errorCode",),
        "serviceTier": ("serviceTier",),
    }
    for length in (300, 3000, 100_000):
        text = long_text(length)
        for label, path in string_paths.items():
            value = text
            if label == "identity.arn":
                value = "arn:aws:iam::123456789012:user/" + text
            elif label == "modelId":
                value = "acme." + text
            add(f"long-{length}/{label}/jsonl", "jsonl", {0: {path: value}})
        for key in METADATA_KEYS[:-1]:
            add(f"long-{length}/requestMetadata.{key}/jsonl", "jsonl", {0: {("requestMetadata", key): text}})
    add(
        "long-300/modelId-profile-arn/jsonl",
        "jsonl",
        {3: {("modelId",): "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/" + long_text(300)}},
    )
    add("long-100000/requestId/json.gz", "json.gz", {2: {("requestId",): long_text(100_000)}})
    add("long-3000/requestMetadata.team/json", "json", {0: {("requestMetadata", "team"): long_text(3000)}})
    for label, path in [
        ("requestId", ("requestId",)),
        ("modelId", ("modelId",)),
        ("region", ("region",)),
        ("identity.arn", ("identity", "arn")),
        ("requestMetadata.team", ("requestMetadata", "team")),
        ("errorCode", ("errorCode",)),
    ]:
        add(f"nul/{label}/jsonl", "jsonl", {0: {path: "ab\x00cd"}})
    add("nul/requestMetadata-key/jsonl", "jsonl", {0: {("requestMetadata", "te\x00am"): "x"}})
    for label, path in [
        ("requestId", ("requestId",)),
        ("region", ("region",)),
        ("requestMetadata.team", ("requestMetadata", "team")),
        ("modelId", ("modelId",)),
        ("inputBodyJson", ("input", "inputBodyJson", "messages")),
    ]:
        add(f"surrogate/{label}/jsonl", "jsonl", {1: {path: "x\ud800y"}}, ascii_only=True)
    named.append(("request-ids/shared-124-prefix/jsonl", partial(_log_shared_prefix, length=124)))
    named.append(("request-ids/shared-64-prefix/jsonl", partial(_log_shared_prefix, length=64)))
    for label, value in [
        ("1.7", 1.7),
        ('""', ""),
        ("[]", []),
        ("false", False),
        ("true", True),
        ("NaN", math.nan),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("-1", -1),
        ("2^63", 2**63),
        ("2^64", 2**64),
        ('"12"', "12"),
        ("null", None),
        ("5.0", 5.0),
        ("1e20", 1e20),
    ]:
        add(f"tokens/inputTokenCount={label}/jsonl", "jsonl", {0: {("input", "inputTokenCount"): value}})
    add("tokens/outputTokenCount=10^15/jsonl", "jsonl", {0: {("output", "outputTokenCount"): 10**15}})
    add(
        "tokens/cacheReadInputTokenCount=2^63-1/jsonl", "jsonl", {1: {("input", "cacheReadInputTokenCount"): 2**63 - 1}}
    )
    add("tokens/outputTokenCount=1.7/json", "json", {11: {("output", "outputTokenCount"): 1.7}})
    add("tokens/outputTokenCount=NaN/json.gz", "json.gz", {4: {("output", "outputTokenCount"): math.nan}})
    add("tokens/outputImageCount=1.5/jsonl", "jsonl", {5: {("output", "outputImageCount"): 1.5}})
    for label, value in [("[]", []), ("0", 0), ('""', ""), ("false", False), ("null", None), ('"x"', "x")]:
        add(f"container/input={label}/jsonl", "jsonl", {0: {("input",): value}})
    add("container/output=[]/jsonl", "jsonl", {1: {("output",): []}})
    add("container/identity=string/jsonl", "jsonl", {0: {("identity",): "arn:aws:iam::123456789012:user/alice"}})
    add("container/requestMetadata=list/jsonl", "jsonl", {0: {("requestMetadata",): ["team", "search"]}})
    add("container/requestMetadata-value-object/jsonl", "jsonl", {0: {("requestMetadata", "team"): {"a": 1}}})
    add("container/requestMetadata-value-true/jsonl", "jsonl", {0: {("requestMetadata", "team"): True}})
    for label, value in [("1e20", 1e20), ("-5", -5), ("1234.5", 1234.5), ('"302"', "302"), ("NaN", math.nan)]:
        add(f"latencyMs={label}/jsonl", "jsonl", {0: {LATENCY: value}})
    for label, value in [
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("offset-05", "2026-06-03T23:30:00-05:00"),
        ("offset-05-month-end", "2026-06-30T23:30:00-05:00"),
        ("offset+0530", "2026-06-04T03:00:00+05:30"),
        ("date-only", "2026-06-03"),
        ("garbage", "yesterday"),
        ("number", 1717000000),
    ]:
        add(f"timestamp/{label}/jsonl", "jsonl", {2: {("timestamp",): value}})
    add("timestamp/offset-05/json", "json", {11: {("timestamp",): "2026-06-03T23:30:00-05:00"}})
    named.append(("deep-nesting/inputBodyJson-100k/jsonl", partial(_log_deep, where="body")))
    named.append(("deep-nesting/extra-key-100k/jsonl", partial(_log_deep, where="extra")))
    named.append(("invalid-utf8/record-10-of-3000/jsonl", partial(_log_big_bad_byte, fmt="jsonl")))
    named.append(("invalid-utf8/record-10-of-3000/json.gz", partial(_log_big_bad_byte, fmt="json.gz")))
    named.append(("invalid-utf8/record-3/jsonl", partial(_log_bad_byte_small, fmt="jsonl")))
    named.append(("unicode/u2028-with-broken-first-line/jsonl", _log_u2028))
    for how in ("flip", "crc", "cut"):
        named.append((f"file/gzip-{how}/json.gz", partial(_log_gzip, how=how)))
    named.append(("file/gzip-cut-next-to-good-file/json.gz", _log_gzip_two_files))
    named.append(("redelivery/identical-twice/json.gz", _log_identical))
    return named


def _log_shared_prefix(root: Path, *, length: int) -> Scenario:
    """Two records whose request ids share their first `length` characters: they must stay two rows."""
    prefix = long_text(length, "req-")
    outs = clean_log_outs("records", "jsonl")
    for index, suffix in ((0, "-first"), (1, "-second")):
        set_path(outs[index].record, ("requestId",), prefix + suffix)
        outs[index].notes.append(f"requestId={length}-char shared prefix + {suffix}")
    path, paths = log_location(root, "jsonl", "loose")
    data = write_logs(path, "jsonl", outs)
    name = f"request-ids/shared-{length}-prefix/jsonl"
    return Scenario(name, "request-ids", "jsonl", Step("logs", paths), [data], description=name)


def _log_deep(root: Path, *, where: str) -> Scenario:
    outs = clean_log_outs("records", "jsonl")
    out = outs[4]
    depth = 100_000
    record = copy.deepcopy(out.record)
    marker = "__DEEP__"
    if where == "body":
        record["input"]["inputBodyJson"] = marker
    else:
        record["extraNesting"] = marker
    out.raw = bases.record_bytes(record).replace(f'"{marker}"'.encode(), ("[" * depth + "]" * depth).encode())
    if where == "body":
        record["input"]["inputBodyJson"] = "<100000 nested lists>"
    else:
        record["extraNesting"] = "<100000 nested lists>"
    out.new = record
    out.notes.append(f"{where} nested {depth} deep")
    path, paths = log_location(root, "jsonl", "loose")
    data = write_logs(path, "jsonl", outs)
    name = f"deep-nesting/{where}-100k/jsonl"
    return Scenario(name, "deep-nesting", "jsonl", Step("logs", paths), [data], description=name)


def _log_big_bad_byte(root: Path, *, fmt: str) -> Scenario:
    """The review's case: a bad byte in record 10 of a 3,000-record file; only record 10 may be rejected."""
    outs = clean_log_outs("big3000", fmt)
    out = outs[9]
    out.raw = bases.record_bytes(out.record).replace(b'"operation": "', b'"operation": "\xff', 1)
    out.notes.append("byte 0xff in operation")
    path, paths = log_location(root, fmt, "loose", "big")
    data = write_logs(path, fmt, outs)
    name = f"invalid-utf8/record-10-of-3000/{fmt}"
    return Scenario(name, "invalid-utf8", fmt, Step("logs", paths), [data], description=name)


def _log_bad_byte_small(root: Path, *, fmt: str) -> Scenario:
    outs = clean_log_outs("records", fmt)
    outs[2].raw = bases.record_bytes(outs[2].record).replace(b'"requestId": "', b'"requestId": "\xc3', 1)
    outs[2].notes.append("byte 0xc3 in requestId")
    path, paths = log_location(root, fmt, "loose")
    data = write_logs(path, fmt, outs)
    return Scenario("invalid-utf8/record-3/jsonl", "invalid-utf8", fmt, Step("logs", paths), [data])


def _log_u2028(root: Path) -> Scenario:
    """A broken first line (so the file is re-read as text) and a U+2028 inside a string of line 3."""
    outs = clean_log_outs("records", "jsonl")
    outs[0].raw = bases.record_bytes(outs[0].record)[:50]
    outs[0].notes.append("line cut after 50 bytes")
    set_path(outs[2].record, ("region",), "us-east-1\u2028x")
    outs[2].notes.append("region holds U+2028")
    path, paths = log_location(root, "jsonl", "loose")
    data = write_logs(path, "jsonl", outs)
    name = "unicode/u2028-with-broken-first-line/jsonl"
    return Scenario(name, "unicode", "jsonl", Step("logs", paths), [data], description=name)


def _log_gzip(root: Path, *, how: str) -> Scenario:
    outs = clean_log_outs("records", "json.gz")
    raw, _ = bases.jsonl_bytes([_log_bytes(o, None) for o in outs])
    path, paths = log_location(root, "json.gz", "loose")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip_damaged(raw, how, random.Random(f"logs-gzip-{how}")))
    data = DataFile(path, [], whole_file_rejected=True)
    name = f"file/gzip-{how}/json.gz"
    return Scenario(name, "file", "json.gz", Step("logs", paths), [data], description=name)


def _log_gzip_two_files(root: Path) -> Scenario:
    outs = clean_log_outs("records", "json.gz")
    good_path = root / "good.json.gz"
    good = write_logs(good_path, "json.gz", outs[:6])
    raw, _ = bases.jsonl_bytes([_log_bytes(o, None) for o in outs[6:]])
    bad_path = root / "bad.json.gz"
    bad_path.write_bytes(gzip_damaged(raw, "cut", random.Random("two-files")))
    files = [good, DataFile(bad_path, [], whole_file_rejected=True)]
    name = "file/gzip-cut-next-to-good-file/json.gz"
    return Scenario(name, "file", "json.gz", Step("logs", [good_path, bad_path]), files, description=name)


def _log_identical(root: Path) -> Scenario:
    outs = clean_log_outs("records", "json.gz")
    path, paths = log_location(root, "json.gz", "s3")
    data = write_logs(path, "json.gz", outs)
    name = "redelivery/identical-twice/json.gz"
    return Scenario(name, "redelivery", "json.gz", Step("logs", paths), [data], [Step("logs", paths)], [], name)


# --- reference files ------------------------------------------------------------------------------------------------


def reference_files(key: tuple[str, str, str], index: int | None, root: Path) -> list[Path]:
    """A clean file of base `key` holding row `index` alone (None: the whole base), as the format writes it."""
    importer, base, fmt = key
    if importer == "cur":
        rows = None if index is None else [index]
        path = root / f"ref{CUR_SUFFIX[fmt]}"
        write_cur(path, fmt, clean_cur_outs(base, fmt, rows=rows))
        return [path]
    if fmt == "json":
        path = root / "ref.json"
        write_logs(path, fmt, clean_log_outs(base, fmt, [index or 0]))
        return [path]
    path = root / f"ref{LOG_SUFFIX[fmt]}"
    write_logs(path, fmt, clean_log_outs(base, fmt, None if index is None else [index]))
    return [path]


def base_size(importer: str, base: str) -> int:
    return len(cur_base(base)) if importer == "cur" else len(log_base(base))
