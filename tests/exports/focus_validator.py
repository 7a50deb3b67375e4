"""Running the official FOCUS validator (focus-validator, from .venv-focus/, Python 3.12) on an export, offline,
with the FOCUS 1.2 rules it bundles, and reading its results rule by rule.

A rule is mandatory when its keyword is MUST or MUST NOT. A failed mandatory rule is accepted only for a reason
this module can show from the validator's own model or from the file:

- it is one branch of an OR composite that passed (the model asks for either branch: InvoiceId-C-004-C "null
  when not invoiced" OR InvoiceId-C-005-C "not null when invoiced", both unconditional);
- it is one of KNOWN_MODEL_DEFECTS, and the bundled model still has that defect (checked each run, so the
  exemption ends when the validator is fixed);
- CSV only: a String type check on a column whose every value is digits (an AWS account id): CSV has no types
  and the validator's reader guesses integers (finopsfoundation/focus_validator#122); Parquet carries the type;
- it is a composite whose failed children are all accepted, or are not mandatory."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("FOCUS_VALIDATOR_VENV", REPO / ".venv-focus"))
EXECUTABLE = VENV / "bin" / "focus-validator"
PYTHON = VENV / "bin" / "python"
MANDATORY = {"MUST", "MUST NOT"}
CRITERIA = "ALL"  # every applicability criterion: the strictest run (all conditional columns are checked)
TIMEOUT_S = 600


def _condition(model: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return model["ModelRules"][rule_id]["ValidationCriteria"]["Condition"]


KNOWN_MODEL_DEFECTS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "CommitmentDiscountStatus-C-004-C": (
        "its Condition tests CommitmentDiscountId IS NULL where the text says 'when CommitmentDiscountId is not "
        "null', so it demands a status on every row without a commitment discount (and contradicts C-003-C)",
        lambda m: _condition(m, "CommitmentDiscountStatus-C-004-C").get("CheckFunction") == "CheckValue",
    ),
    "CapacityReservationStatus-C-004-C": (
        "its Condition is {'AND': [...]} without a CheckFunction, so the validator drops it and demands a status on "
        "every row, also where CapacityReservationId is null (contradicting C-003-C)",
        lambda m: (
            "AND" in _condition(m, "CapacityReservationStatus-C-004-C")
            and "CheckFunction" not in _condition(m, "CapacityReservationStatus-C-004-C")
        ),
    ),
}


class ValidatorUnavailable(RuntimeError):
    pass


@dataclass
class RuleResult:
    rule_id: str
    check: str
    status: str  # passed, failed, skipped, errored
    message: str = ""


@dataclass
class Report:
    data_file: Path
    results: dict[str, RuleResult]
    model: dict[str, Any]
    stdout: str = ""
    accepted: dict[str, str] = field(default_factory=dict)  # rule id -> why its failure is accepted

    def count(self, status: str) -> int:
        return sum(1 for r in self.results.values() if r.status == status)

    @property
    def summary(self) -> str:
        return (
            f"{len(self.results)} rules: {self.count('passed')} passed, {self.count('failed')} failed, "
            f"{self.count('errored')} errored, {self.count('skipped')} skipped"
        )

    def keyword(self, rule_id: str) -> str:
        rule = self.model["ModelRules"].get(rule_id)
        return rule["ValidationCriteria"]["Keyword"] if rule else "MUST"  # an unknown rule counts as mandatory

    def children(self, rule_id: str) -> tuple[str, list[str]]:
        requirement = self.model["ModelRules"].get(rule_id, {}).get("ValidationCriteria", {}).get("Requirement", {})
        items = requirement.get("Items") or []
        return requirement.get("CheckFunction", ""), [
            i["ModelRuleId"] for i in items if isinstance(i, dict) and i.get("CheckFunction") == "CheckModelRule"
        ]


def missing_reason() -> str | None:
    if EXECUTABLE.exists() and PYTHON.exists():
        return None
    return (
        f"The FOCUS validator is not installed at {EXECUTABLE}. Build its venv with `make focus-validator` "
        "(Python 3.12 from pyenv or python3.12 on PATH, packages from tools/focus-validator/requirements.lock); "
        "`make test` builds it first."
    )


def package_dir() -> Path:
    # Importing focus_validator opens its log file in the working directory: not in the repository's.
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run(
            [str(PYTHON), "-c", "import focus_validator, os; print(os.path.dirname(focus_validator.__file__))"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            cwd=scratch,
        )
    return Path(out.stdout.strip())


def load_model(version: str = "1.2") -> dict[str, Any]:
    rules = package_dir() / "rules"
    candidates = sorted(rules.glob(f"model-{version}*.json"))
    if not candidates:
        raise ValidatorUnavailable(f"no bundled FOCUS {version} model in {rules}")
    return json.loads(candidates[-1].read_text(encoding="utf-8"))


def run_validator(data_file: Path, *, workdir: Path) -> Report:
    """focus-validator on one file, offline (--block-download: the bundled 1.2 rules; proxies pointed at a
    closed local port, so any attempt to reach the network fails at once instead of leaving the machine)."""
    reason = missing_reason()
    if reason:
        raise ValidatorUnavailable(reason)
    workdir.mkdir(parents=True, exist_ok=True)
    # The validator reads focus_validator/rules/currency_codes.csv relative to the working directory, and
    # writes its log there: run it in a scratch folder that links to the installed package.
    link = workdir / "focus_validator"
    if not link.exists():
        link.symlink_to(package_dir(), target_is_directory=True)
    xml_path = workdir / "results.xml"
    env = {
        **os.environ,
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(EXECUTABLE),
        "--data-file",
        str(data_file),
        "--validate-version",
        "1.2",
        "--block-download",
        "--applicability-criteria",
        CRITERIA,
        "--output-type",
        "unittest",
        "--output-destination",
        str(xml_path),
    ]
    done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode != 0 or not xml_path.exists():
        raise AssertionError(
            f"focus-validator exited {done.returncode} on {data_file}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
    return Report(data_file=data_file, results=parse_results(xml_path), model=load_model(), stdout=done.stdout)


def parse_results(xml_path: Path) -> dict[str, RuleResult]:
    results: dict[str, RuleResult] = {}
    for case in ET.parse(xml_path).iter("testcase"):
        rule_id, _, check = case.get("name", "").partition(" :: ")
        status, message = "passed", ""
        for tag, name in (("failure", "failed"), ("error", "errored"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                status, message = name, element.get("message", "")
                break
        results[rule_id.strip()] = RuleResult(rule_id.strip(), check.strip(), status, message)
    return results


def _digit_columns(csv_path: Path) -> set[str]:
    """Columns of a CSV whose every non-empty value is digits (and that have at least one value)."""
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        seen: dict[str, bool] = {}
        for row in reader:
            for column, value in row.items():
                if value:
                    seen[column] = seen.get(column, True) and value.isdigit()
    return {c for c, digits in seen.items() if digits}


def unaccepted_mandatory_failures(report: Report) -> list[RuleResult]:
    """The failed (or errored) mandatory rules that no reason above accepts; fills report.accepted."""
    failed = {rid: r for rid, r in report.results.items() if r.status in {"failed", "errored"}}
    digit_columns = _digit_columns(report.data_file) if report.data_file.suffix == ".csv" else set()
    accepted: dict[str, str] = {}
    # 1. a branch of an OR that passed
    for rid, result in report.results.items():
        kind, children = report.children(rid)
        if kind == "OR" and result.status == "passed":
            for child in children:
                if child in failed:
                    accepted[child] = f"one branch of {rid} (OR), which passed"
    # 2. defects of the bundled model, verified
    for rid, (why, still_defective) in KNOWN_MODEL_DEFECTS.items():
        if rid in failed and still_defective(report.model):
            accepted[rid] = f"defect of the bundled 1.2 model: {why}"
    # 3. CSV type guessing on digit-only id columns
    for rid in failed:
        requirement = report.model["ModelRules"].get(rid, {}).get("ValidationCriteria", {}).get("Requirement", {})
        if requirement.get("CheckFunction") == "TypeString" and requirement.get("ColumnName") in digit_columns:
            accepted[rid] = (
                f"CSV only: every {requirement['ColumnName']} value is digits (an AWS account id), which the "
                "validator's CSV reader takes for an integer (finopsfoundation/focus_validator#122)"
            )
    # 4. composites whose failed children are all accepted or not mandatory (to a fixed point)
    changed = True
    while changed:
        changed = False
        for rid in failed:
            if rid in accepted:
                continue
            _, children = report.children(rid)
            bad = [c for c in children if c in failed]
            if bad and all(c in accepted or report.keyword(c) not in MANDATORY for c in bad):
                accepted[rid] = "composite: its failed parts are accepted above or not mandatory"
                changed = True
    report.accepted = accepted
    return [r for rid, r in failed.items() if rid not in accepted and report.keyword(rid) in MANDATORY]


def describe(failures: list[RuleResult], report: Report) -> str:
    lines = [f"{report.data_file.name}: {report.summary}; failed mandatory rules:"]
    for r in sorted(failures, key=lambda r: r.rule_id):
        must = report.model["ModelRules"].get(r.rule_id, {}).get("ValidationCriteria", {}).get("MustSatisfy", "")
        lines.append(f"  {r.rule_id} ({r.check}, {r.status}): {r.message} | {must}")
    return "\n".join(lines)
