"""End to end on both databases: malformed variants of the fixture files (every case the review found,
plus random damage) imported with the real services, the tenant's report, API and overview read back,
and the ledger compared with what the clean rows give (tests/fuzz/oracle.py). `make fuzz` runs
thousands; this runs a fixed few hundred on every CI run."""

from __future__ import annotations

import os

import pytest

from tests.fuzz.runner import run

COUNT = int(os.environ.get("FUZZ_COUNT_CI", "60"))


@pytest.mark.django_db
@pytest.mark.parametrize("importer", ["cur", "logs"])
def test_malformed_files_are_loaded_exactly_or_rejected_by_line_never_crash_nor_load_wrong_data(importer: str) -> None:
    report = run(COUNT, 1, importer)

    assert not report.failures(), report.summary(examples=10)
    counts = report.counts()[importer]
    assert counts["ok"] == counts["variants"] >= COUNT + 100  # the named cases of the review come on top
