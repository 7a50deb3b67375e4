"""The CUR normaliser works out each distinct set of a line's text values once (ingestion.normalize_cur). It must
give what the per-line implementation it replaced gave (tests/ingestion/cur_reference.py, frozen): the same
fields with the same values and types, the same dedupe key, the same reason for a rejected row, over the
fixture files, the demo company's CUR deliveries, damaged files and generated rows."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.models import DEFAULT_TAG_MAPPING
from finops.ledger.catalog import Catalog
from finops.ledger.selectors import catalog_load
from ingestion.normalize_cur import normalize_cur_row
from ingestion.parsers.common import parse_decimal, parse_map
from ingestion.parsers.cur import discover_cur_files, iter_cur_file
from tests.fixtures import make_fixtures as mf
from tests.ingestion import cur_reference

pytestmark = pytest.mark.django_db
PROPERTY = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)
MAPPINGS = [DEFAULT_TAG_MAPPING, {"team": ["owner", "team"], "user_id": ["user"]}, {}]


def _outcome(normaliser: Any, raw: dict[str, Any], catalog: Catalog, mapping: Any, float_storage: bool) -> Any:
    try:
        fields = normaliser(copy.deepcopy(raw), catalog=catalog, mapping=mapping, float_storage=float_storage)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        return ("error", type(exc).__name__, str(exc))
    # Values and their exact types and spellings (Decimal('1.0') == Decimal('1.00'), but they are stored apart).
    return ("fields", {key: (type(value).__name__, repr(value)) for key, value in sorted(fields.items())})


def _same(raw: dict[str, Any], catalog: Catalog, *, float_storage: bool = False) -> None:
    for mapping in MAPPINGS:
        # Twice through the new one: the second time from what the first worked out and kept.
        expected = _outcome(cur_reference.normalize_cur_row, raw, catalog, mapping, float_storage)
        for _ in range(2):
            assert _outcome(normalize_cur_row, raw, catalog, mapping, float_storage) == expected, raw


def _rows(path: Path) -> list[dict[str, Any]]:
    return [row for batch in iter_cur_file(path, batch_size=500) for row in batch.rows]


def test_every_fixture_row_normalises_as_before() -> None:
    catalog = catalog_load()
    files = [path for path in sorted(mf.CUR_DIR.glob("*.csv")) if path != mf.NOT_CUR_CSV]
    rows = [row for path in files for row in _rows(path)]
    assert len(files) >= 7 and len(rows) > 50
    for raw in rows:
        _same(raw, catalog)
        _same(raw, catalog, float_storage=True)


def test_the_demo_company_cur_normalises_as_before(tmp_path: Path) -> None:
    from finops.demo.generator import generate_demo

    generate_demo(tmp_path, end_date=date(2026, 8, 20), days=8, seed=3, progress=lambda _line: None)
    files = discover_cur_files([tmp_path])
    rows = [row for item in files for row in _rows(item.path)]
    assert rows
    catalog = catalog_load()
    for raw in rows[:3000]:
        _same(raw, catalog)


def test_a_catalog_change_is_seen_by_rows_after_it() -> None:
    """What is worked out once is kept on the catalog and forgotten when a model or price is added to it."""
    catalog = copy.deepcopy(catalog_load())
    raw = _rows(mf.CUR_JUNE_CSV)[0]
    before = normalize_cur_row(copy.deepcopy(raw), catalog=catalog, mapping=DEFAULT_TAG_MAPPING)
    assert catalog.derived
    model = catalog.models[before["model_id"]]
    for token_type in ("input", "output"):
        for entry in list(catalog.prices.get((model.model_id, token_type, "standard"), [])):
            catalog.add_price(type(entry)(**{**entry.__dict__, "effective_from": date(2000, 1, 1)}))
    assert not catalog.derived
    _same(raw, catalog)


TEXT = st.one_of(
    st.sampled_from(["", "Usage", "Tax", "Credit", "units", "1K tokens", "Million tokens", "tokens", "x" * 300]),
    st.text(max_size=20),
)
USAGE_TYPES = st.one_of(
    st.sampled_from(
        [
            "USE1-Claude4.6Sonnet-input-tokens",
            "USE1-Claude4.6Sonnet-output-tokens",
            "USE1-Claude4.6Sonnet-cache-write-1h-input-tokens",
            "USW2-NovaPro-cache-read-input-token-count",
            "USE1-MP:USE1_InputTokenCount-Units",
            "USE1-ProvisionedThroughput-ModelUnits",
            "EUC1-TitanImage-Images",
            "USE1-Llama3-3-70B-batch-input-tokens",
            "weird",
            "",
        ]
    ),
    st.text(max_size=30),
)
AMOUNTS = st.one_of(
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("-1"), Decimal("0"), Decimal("1.5"), Decimal("1e20"), Decimal("0.0000000001")]),
)
MONEY = st.one_of(st.decimals(min_value=-(10**10), max_value=10**10, places=12), st.just(Decimal("1e9")))
TIMES = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
TAGS = st.dictionaries(st.sampled_from(["team", "user_team", "owner", "user", "Team", "a b", "\x00"]), TEXT, max_size=4)


@st.composite
def cur_rows(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(TIMES)
    return {
        "file": "f.csv",
        "line": draw(st.integers(2, 99)),
        "line_item_id": draw(TEXT),
        "time_interval": draw(TEXT),
        "line_item_type": draw(st.sampled_from(["Usage", "DiscountedUsage", "Tax", "Credit", "Fee", ""])),
        "billing_entity": "AWS",
        "payer_account_id": draw(st.sampled_from(["111111111111", "", "12"])),
        "usage_account_id": draw(st.sampled_from(["111111111111", "", "abc", "1" * 13])),
        "product_code": "AmazonBedrock",
        "usage_type": draw(USAGE_TYPES),
        "operation": draw(TEXT),
        "description": draw(TEXT),
        "usage_start": start,
        "usage_end": start,
        "billing_period": date(start.year, start.month, 1),
        "usage_amount": draw(AMOUNTS),
        "unblended_cost": draw(MONEY),
        "net_unblended_cost": None,
        "unblended_rate": draw(st.one_of(st.none(), MONEY)),
        "public_on_demand_cost": draw(st.one_of(st.none(), MONEY)),
        "pricing_unit": draw(TEXT),
        "currency": "USD",
        "iam_principal": draw(
            st.sampled_from(["", "arn:aws:iam::111111111111:user/ana", "arn:aws:sts::1:assumed-role/R/s", "é"])
        ),
        "user_identifier": draw(st.sampled_from(["", "ana", "x" * 300])),
        "resource_id": draw(
            st.sampled_from(["", "arn:aws:bedrock:us-east-1:111111111111:application-inference-profile/p1", "r\n"])
        ),
        "region_code": draw(st.sampled_from(["", "us-east-1", "US East", "eu-west-3"])),
        "product": draw(
            st.sampled_from(
                [{}, {"product_name": "Claude Sonnet 4.6 (Amazon Bedrock Edition)"}, {"model": "Nova Pro"}, {"x": "y"}]
            )
        ),
        "resource_tags": draw(TAGS),
        "tags": draw(TAGS),
    }


@PROPERTY
@given(rows=st.lists(cur_rows(), min_size=1, max_size=8), float_storage=st.booleans())
def test_generated_rows_normalise_as_before(rows: list[dict[str, Any]], float_storage: bool) -> None:
    catalog = catalog_load()
    for raw in rows:
        _same(raw, catalog, float_storage=float_storage)
    # Rows that share their text values but not their amounts: the second is worked out from the first's.
    for raw in rows:
        other = {**raw, "usage_amount": Decimal("12.5"), "unblended_cost": Decimal("0.04"), "line_item_id": "li-2"}
        _same(other, catalog, float_storage=float_storage)


@PROPERTY
@given(
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 20), st.binary(max_size=8)), min_size=1, max_size=4)
)
def test_rows_of_damaged_files_normalise_as_before(edits: list[tuple[int, int, bytes]], tmp_path_factory: Any) -> None:
    data = mf.CUR_JUNE_CSV.read_bytes()
    for position, remove, insert in edits:
        at = position % (len(data) + 1)
        data = data[:at] + insert + data[at + remove :]
    path = tmp_path_factory.mktemp("cur") / "damaged.csv"
    path.write_bytes(data)
    catalog = catalog_load()
    try:
        rows = _rows(path)
    except Exception:  # noqa: BLE001 - a file the reader refuses has no rows to compare
        return
    for raw in rows:
        _same(raw, catalog)


def _decimal_outcome(value: str, bound: Decimal | None) -> Any:
    try:
        return repr(parse_decimal(value, field_name="line_item_unblended_cost", bound=bound))
    except ValueError as exc:
        return str(exc).replace(f"={value.strip()!r}", "=?").replace(f"={value!r}", "=?")


@PROPERTY
@given(
    value=st.one_of(
        st.decimals(allow_nan=False).map(str),
        st.from_regex(r"-?[0-9_.eE+-]{1,70}", fullmatch=True),
        st.sampled_from(["1e999999999", "-0", ".5", "5.", "1_000", "9" * 64, "9" * 65, "-1e-7"]),
    ),
    bound=st.sampled_from([None, Decimal(10**9)]),
)
def test_plain_decimal_text_reads_as_through_the_general_path(value: str, bound: Decimal | None) -> None:
    """A plain number cell goes straight to Decimal; padded with spaces it takes the general path (strip, checks):
    both must give the same number, or the same reason."""
    assert _decimal_outcome(value, bound) == _decimal_outcome(f" {value} ", bound)


@PROPERTY
@given(tags=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4))
def test_a_map_text_read_again_is_a_fresh_equal_dict(tags: dict[str, str]) -> None:
    text = json.dumps(tags)
    first = parse_map(text, field_name="tags")
    first["changed"] = "by a caller"
    assert parse_map(text, field_name="tags") == tags
