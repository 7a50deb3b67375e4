"""The explorer benchmark command on a tiny ledger: it generates, builds the rollup, measures and
cleans up; the generated ledger is consistent with its rollup."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connections.models import Tenant
from finops.explorer.benchmark import generate_rows, load_rows
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check, rollup_rebuild


@pytest.mark.django_db
def test_the_benchmark_prints_each_query_beside_the_raw_baseline_and_cleans_up() -> None:
    out = StringIO()
    call_command("benchmark_explorer", "--events", "3000", "--days", "20", "--repeat", "2", stdout=out)
    text = out.getvalue()
    for label in ("raw GROUP BY model", "overview over raw rows", "overview", "explorer: by model",
                  "explorer: team x model", "explorer: by user", "explorer: by principal"):  # fmt: skip
        assert re.search(rf"^{re.escape(label)}.*\d+\.\d\s+\d+\.\d", text, re.M), label
    assert len(re.findall(r"^  same over raw rows\s+\d+\.\d\s+\d+\.\d", text, re.M)) == 3
    assert re.search(r"^explorer: by model.*\d+\.\dx\s+\d+\.\dx$", text, re.M)  # both speed-ups printed
    assert "Ledger: 3,000 rows" in text
    assert not SpendEvent.objects.exists() and not SpendDaily.objects.exists()


@pytest.mark.django_db
def test_the_generated_ledger_and_its_rollup_agree() -> None:
    tenant = Tenant.objects.create(slug="bench", name="Bench")
    count = load_rows(
        generate_rows(tenant_id=tenant.pk, events=2000, days=10, end=__import__("datetime").date(2026, 11, 20)),
        progress=print,
    )
    assert count == SpendEvent.objects.filter(tenant=tenant).count() == 2000
    kinds = set(SpendEvent.objects.filter(tenant=tenant).values_list("record_kind", flat=True))
    assert kinds == {"request", "billed_line"}
    rollup_rebuild(tenant_id=tenant.pk)
    assert rollup_check(tenant_id=tenant.pk) == []


@pytest.mark.django_db
def test_bad_arguments_are_refused() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("benchmark_explorer", "--events", "0", stdout=StringIO())
    with pytest.raises(CommandError, match="No tenant"):
        call_command("benchmark_explorer", "--tenant", "nope", stdout=StringIO())
