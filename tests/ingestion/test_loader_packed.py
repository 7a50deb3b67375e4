"""Packed rows: a batch made ready for COPY where it was normalised (pack_events) loads exactly the ledger rows,
counts and rollup that the same rows handed over as dicts do, for CUR lines and invocation-log requests,
re-deliveries (claim) and duplicates within the batch included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_check
from finops.ledger.selectors import catalog_load
from ingestion.loader import Packed, insert_events, pack_events
from ingestion.normalize_cur import normalize_cur_row
from ingestion.normalize_logs import normalize_log_record
from ingestion.parsers.cur import iter_cur_file
from ingestion.parsers.invocation_logs import iter_log_file
from tests.fixtures import make_fixtures as mf

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="packed rows are PostgreSQL COPY text")
SKIP = {"id", "tenant_id", "import_run_id", "created_at"}


def _cur_rows(path: Path) -> list[dict[str, Any]]:
    catalog = catalog_load()
    rows = []
    for batch in iter_cur_file(path):
        for raw in batch.rows:
            try:
                rows.append(normalize_cur_row(raw, catalog=catalog, mapping={"team": ["team"]}))
            except ValueError:
                continue
    return rows


def _log_rows(path: Path) -> list[dict[str, Any]]:
    catalog = catalog_load()
    rows = []
    for batch in iter_log_file(path, hash_key=b"k"):
        for raw in batch.rows:
            try:
                rows.append(normalize_log_record(raw, catalog=catalog, mapping={}))
            except ValueError:
                continue
    return rows


def _stored(tenant: Tenant) -> list[dict[str, Any]]:
    names = [f.attname for f in SpendEvent._meta.concrete_fields if f.attname not in SKIP]
    return sorted(SpendEvent.objects.filter(tenant=tenant).values(*names), key=lambda row: row["dedupe_key"])


def _load(rows: Any, tenant: Tenant, run_id: int | None, **options: Any) -> tuple[int, int, int]:
    with transaction.atomic():
        loaded = insert_events(rows, tenant_id=tenant.pk, import_run_id=run_id, **options)
    return loaded.inserted, loaded.unchanged, loaded.duplicates


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows_of", "path", "claim", "rollup"),
    [
        (_cur_rows, mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv", True, False),
        (_cur_rows, mf.CUR_DIR / "cur2-bedrock-2026-05.csv", True, True),
        (_cur_rows, mf.CUR_DIR / "cur2-broken-rows.csv", True, False),
        (_log_rows, mf.LOG_DIR / "reconcile-2026-08.jsonl", False, True),
    ],
)
def test_packed_rows_load_what_the_same_rows_as_dicts_load(
    rows_of: Any, path: Path, claim: bool, rollup: bool, tenant: Tenant, other_tenant: Tenant
) -> None:
    rows = rows_of(path)
    assert rows, f"{path.name} gave no rows"
    # Text COPY must escape: a tab, a newline, a backslash and a non-ASCII letter in a text and a JSON column.
    odd = {**rows[0], "dedupe_key": "odd:1", "application": "a\tb\nc\\d é", "tags": {"k\t": "v\\\n ü"}}
    rows = [*rows, odd]
    batch = rows + rows[:3]  # three rows twice in the batch

    plain = _load(batch, tenant, None, claim=claim, rollup=rollup)
    packed_rows = pack_events(batch, tenant_id=other_tenant.pk, import_run_id=None)
    assert isinstance(packed_rows, Packed)
    assert (packed_rows.rows, packed_rows.duplicates) == (len(rows), 3)
    assert packed_rows.billing_periods == {row["billing_period"] for row in rows}
    packed = _load(packed_rows, other_tenant, None, claim=claim, rollup=rollup)

    assert packed == plain == (len(rows), 0, 3)
    assert _stored(other_tenant) == _stored(tenant)
    if rollup:
        assert rollup_check(tenant_id=other_tenant.pk) == []
    # The same rows again: every one already there, in both ways.
    assert _load(pack_events(rows, tenant_id=other_tenant.pk, import_run_id=None), other_tenant, None, claim=claim) == (
        _load(rows, tenant, None, claim=claim)
    )


@pytest.mark.django_db
def test_a_packed_batch_with_nothing_distinct_loads_nothing(tenant: Tenant) -> None:
    empty = pack_events([], tenant_id=tenant.pk, import_run_id=None)
    assert (empty.rows, empty.duplicates, empty.data, empty.billing_periods) == (0, 0, b"", frozenset())
    assert _load(empty, tenant, None) == (0, 0, 0)
