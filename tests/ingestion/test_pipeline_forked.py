"""forked: a file's batches made in a child process beside the loading. The items in order, an error raised
after the items before it, the child killed when the consumer stops early, its stage times brought back, the
parent's database connection untouched; and an import through it loads exactly what one through a thread does."""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from finops.ledger.rollups import rollup_check
from ingestion.parsers.common import FileUnreadable
from ingestion.pipeline import forked
from ingestion.services import import_cur, import_invocation_logs
from tests.fixtures import make_fixtures as mf


def test_items_come_out_in_order_made_in_another_process() -> None:
    def produce() -> Iterator[tuple[int, int]]:
        for i in range(2000):
            yield i, os.getpid()

    items = list(forked(produce))
    assert [i for i, _ in items] == list(range(2000))
    assert {pid for _, pid in items} != {os.getpid()}


def test_an_error_in_the_child_is_raised_after_the_items_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise FileUnreadable("bills.csv.gz: file ends unexpectedly after line 2")

    received: list[int] = []
    with pytest.raises(FileUnreadable, match="ends unexpectedly after line 2"):
        for item in forked(produce):
            received.append(item)
    assert received == [1, 2]


def test_the_child_stage_times_come_back() -> None:
    seconds: Counter[str] = Counter({"load": 1.0, "parse": 2.0})

    def produce() -> Iterator[int]:
        seconds["parse"] += 0.5
        seconds["normalise"] += 0.25
        yield 1

    assert list(forked(produce, stage_seconds=seconds)) == [1]
    assert seconds == Counter({"load": 1.0, "parse": 2.5, "normalise": 0.25})


def test_a_consumer_that_stops_early_ends_the_child() -> None:
    def produce() -> Iterator[tuple[int, bytes]]:
        for _ in range(100_000):
            yield os.getpid(), b"x" * 10_000

    items = forked(produce)
    child, data = next(items)
    assert data == b"x" * 10_000 and child != os.getpid()
    items.close()  # the loading failed: the child must not go on (nor linger)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # killed and reaped


def _in_a_daemonic_process(results: Any) -> None:
    results.put(sum(forked(lambda: iter(range(10)))))


def test_it_works_in_a_daemonic_process_as_a_django_q2_worker_is() -> None:
    """multiprocessing refuses children to a daemonic process (django-q2's workers are): a plain fork is not refused."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    worker = context.Process(target=_in_a_daemonic_process, args=(results,), daemon=True)
    worker.start()
    assert results.get(timeout=30) == 45
    worker.join(timeout=30)
    assert worker.exitcode == 0


@pytest.mark.django_db
def test_the_parent_connection_still_works_after_a_child_has_ended() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert list(forked(lambda: iter(range(3)))) == [0, 1, 2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone()[0] == 42


def _ledger(tenant: Tenant) -> list[tuple[Any, ...]]:
    skip = {"id", "tenant", "import_run", "connection"}
    names = [f.attname for f in SpendEvent._meta.concrete_fields if f.name not in skip]
    return sorted(
        (tuple(str(v) if isinstance(v, Decimal | dict) else v for v in row))
        for row in SpendEvent.objects.filter(tenant=tenant).values_list(*names)
    )


@pytest.mark.django_db(transaction=True)
def test_an_import_through_a_child_process_loads_what_one_through_a_thread_does() -> None:
    loaded: list[list[tuple[Any, ...]]] = []
    for slug, fork_from in (("thread", 10**12), ("child", 0)):
        # One hash secret for both, so their prompt hashes can be compared.
        tenant = Tenant.objects.create(slug=f"fork-{slug}", name=slug, hash_secret="the same secret")
        with override_settings(FINOPS_IMPORT_FORK_MIN_BYTES=fork_from):
            logs = import_invocation_logs(tenant=tenant, paths=[mf.LOGS_JSONL])
            cur = import_cur(tenant=tenant, paths=[mf.CUR_JUNE_CSV, mf.CUR_BROKEN_CSV])
        for run in (logs, cur):
            run.refresh_from_db()
            assert run.status in {"succeeded", "partial"}, run.message
            assert {"parse", "normalise", "load"} <= set(run.stage_seconds)
        assert rollup_check(tenant_id=tenant.pk) == []
        loaded.append(_ledger(tenant))
        loaded.append(
            [
                (r.rows_read, r.rows_loaded, r.rows_rejected, r.rejected_samples, r.skipped_reasons, r.warnings)
                for r in (logs, cur)
            ]
        )
    thread_rows, thread_runs, child_rows, child_runs = loaded
    assert thread_rows and child_rows == thread_rows
    assert child_runs == thread_runs
