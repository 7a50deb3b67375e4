"""The official FOCUS validator (focus-validator, run offline with its bundled FOCUS 1.2 rules and every
applicability criterion) passes our exports of the fixture ledger: no mandatory (MUST / MUST NOT) rule fails,
CSV and Parquet, a period with credits, a refund, tax and Marketplace lines and one with a correction, a
discount and provisioned throughput. The rules a failure may be accepted for are in tests/exports/focus_validator.py.

`make test` builds the validator's venv (.venv-focus/, Python 3.12) first; without it these tests fail, they
do not skip."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from connections.models import Tenant
from finops.exports.services import focus_export
from tests.exports import focus_validator as fv
from tests.exports.conftest import JUNE, SEPTEMBER


@pytest.fixture(scope="module")
def validator() -> None:
    reason = fv.missing_reason()
    if reason:
        pytest.fail(reason, pytrace=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("period", [JUNE, SEPTEMBER], ids=["2026-06", "2026-09"])
def test_the_export_passes_every_mandatory_rule_of_the_focus_validator(
    validator: None, billed_ledger: Tenant, tmp_path: Path, period: date, fmt: str
) -> None:
    data = tmp_path / f"focus-{period:%Y-%m}.{fmt}"
    result = focus_export(tenant=billed_ledger, period=period, fmt=fmt, output_path=data)
    assert result.rows > 0
    report = fv.run_validator(data, workdir=tmp_path / "validator")
    failures = fv.unaccepted_mandatory_failures(report)
    print(f"\n{data.name}: {report.summary}")  # the summary, for whoever runs pytest -s
    for rule_id, why in sorted(report.accepted.items()):
        print(f"  accepted {rule_id}: {why}")
    assert not failures, fv.describe(failures, report)
    # The run checked the data, not an empty plan: the dataset's composite and the cost rules passed.
    assert report.results["BilledCost-C-000-M"].status == "passed"
    assert report.results["ServiceSubcategory-C-000-O"].status == "passed"
    assert report.count("passed") > 300


def test_the_validator_test_fails_on_a_broken_export(validator: None, billed_ledger: Tenant, tmp_path: Path) -> None:
    """The harness is not blind: an export with a row whose BilledCost is missing, and a row that is no longer
    a Usage charge but keeps its consumed quantity, fails, and the failed rules are named. (This validator
    release lets an unknown ChargeCategory value through its allowed-values rule, ChargeCategory-C-003-M;
    test_focus_mapping checks our values.)"""
    good = tmp_path / "good.csv"
    focus_export(tenant=billed_ledger, period=SEPTEMBER, fmt="csv", output_path=good)
    with good.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    rows[0]["ChargeCategory"] = "Usage-ish"
    rows[1]["BilledCost"] = ""
    broken = tmp_path / "broken.csv"
    with broken.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields or [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = fv.run_validator(broken, workdir=tmp_path / "validator")
    failed = {r.rule_id for r in fv.unaccepted_mandatory_failures(report)}
    assert {"BilledCost-C-003-M", "ConsumedQuantity-C-004-C"} <= failed, fv.describe(
        fv.unaccepted_mandatory_failures(report), report
    )
