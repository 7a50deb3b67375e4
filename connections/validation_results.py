"""What a validation check returns (CheckResult), how its status follows from its findings, and what earlier
checks learn for later ones (_Facts). Shared by connections.validation and its CUR checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3

from connections.diagnostics import Finding

GREEN, AMBER, RED, SKIPPED = "green", "amber", "red", "skipped"
REGION_WINDOW = timedelta(days=14)  # CloudWatch lists a metric for two weeks after its last datapoint
MAX_CUR_BYTES = 64 * 1024 * 1024  # read at most this much of a CUR file while validating
MAX_CUR_ROWS = 200_000
CUR_SUFFIXES = (".csv", ".csv.gz", ".parquet")
BEDROCK_OPERATIONS = {"InvokeModelInference", "InvokeModelStreamingInference"}

SessionFactory = Callable[[], boto3.session.Session]


@dataclass
class CheckResult:
    key: str
    label: str
    status: str
    message: str
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "status": self.status,
            "message": self.message,
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            key=str(data.get("key", "")),
            label=str(data.get("label", "")),
            status=str(data.get("status", "")),
            message=str(data.get("message", "")),
            findings=[Finding.from_dict(f) for f in data.get("findings", []) if isinstance(f, dict)],
        )


def _result(key: str, label: str, message: str, findings: list[Finding], *, warn: bool = False) -> CheckResult:
    """Red when a red finding is present, amber for amber findings (or warn), green otherwise."""
    if any(f.severity == RED for f in findings):
        status = RED
    elif findings or warn:
        status = AMBER
    else:
        status = GREEN
    return CheckResult(key, label, status, message, findings)


@dataclass
class _Facts:
    """What earlier checks learned, for later ones."""

    session: boto3.session.Session
    now: datetime
    lookback: timedelta
    invocations_24h: dict[str, float] = field(default_factory=dict)
    invocations_14d: dict[str, float] = field(default_factory=dict)
    cloudwatch_ok: bool = False
    logging: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # None: could not read


def _logging_on(config: dict[str, Any] | None) -> bool:
    return bool(config and (config.get("cloudWatchConfig") or config.get("s3Config")))
