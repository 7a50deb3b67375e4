"""benchmark_sync on a tiny export: the first sync through a moto server loads exactly what the local import
loads, and both figures are printed; the generated rows are deleted."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from finops.ledger.models import SpendEvent


@pytest.mark.django_db
def test_the_sync_benchmark_prints_throughput_beside_the_local_import() -> None:
    out = StringIO()
    call_command("benchmark_sync", "--cur-rows", "300", "--log-records", "250", stdout=out)
    text = out.getvalue()
    assert re.search(r"^local import \(baseline\): 550 events in [\d.]+s = [\d,]+/s", text, re.M)
    assert re.search(r"^first sync, cur : succeeded, \d+ fetched, 300 loaded", text, re.M)
    assert re.search(r"^first sync, logs: succeeded, \d+ fetched, 250 loaded", text, re.M)
    assert re.search(r"^first sync, total: 550 events in [\d.]+s = [\d,]+ events/s", text, re.M)
    assert re.search(r"^peak RSS: \d+ MB", text, re.M)
    assert not SpendEvent.objects.exists()


@pytest.mark.django_db
def test_bad_sizes_are_refused() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("benchmark_sync", "--cur-rows", "0", stdout=StringIO())
