"""What the two invocation-log readers (logs.py: CloudWatch Logs, logs_s3.py: S3) share: their options, the
rate limiter and backoff, the import of one batch, and how their two outcomes make one SourceResult."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from ingestion.models import ImportRun
from ingestion.services import import_invocation_logs
from ingestion.sync.base import Progress, SourceResult, Target, utc

LOGS_REQUESTS_PER_SECOND = 5.0  # the FilterLogEvents quota per account and region
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "SlowDown"}
)


@dataclass
class LogOptions:
    """Knobs of a logs sync; tests pass a fake clock and sleep and small pages and batches."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    page_events: int = 10_000  # FilterLogEvents limit (its maximum)
    batch_events: int = 20_000  # import and checkpoint once this many events are read (checked after each page)
    batch_objects: int = 500  # S3 objects per import and checkpoint
    batch_bytes: int = 256 * 1024 * 1024  # or fewer, when the objects are large
    max_retries: int = 5  # backoffs on throttling before the run stops as partial
    backoff_seconds: float = 1.0  # first wait; doubles each retry
    backoff_cap_seconds: float = 30.0
    waits: list[float] = field(default_factory=list)  # every wait, rate limit and backoff, for the record


class RateLimiter:
    """At most `rate` calls a second: each call waits until 1/rate seconds after the previous one."""

    def __init__(self, rate: float, *, clock: Callable[[], float], sleep: Callable[[float], None],
                 waits: list[float] | None = None) -> None:  # fmt: skip
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self.waits = waits if waits is not None else []
        self._next: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            self.waits.append(self._next - now)
            now = self._next
        self._next = now + self.interval


class Throttled(Exception):
    """AWS kept throttling after every backoff."""


def to_ms(value: datetime) -> int:
    return int(utc(value).timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def backoff(attempt: int, options: LogOptions) -> float:
    return min(options.backoff_cap_seconds, options.backoff_seconds * 2**attempt)


def one_line(message: str) -> str:
    """A log event's message as one JSON line (a raw line break is never valid inside a JSON string)."""
    return message.strip().replace("\r", " ").replace("\n", " ")


def import_file(target: Target, path: Path, say: Progress) -> ImportRun:
    return import_invocation_logs(tenant=target.tenant, paths=[path], progress=lambda line: say("    " + line.strip()))


def temp_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix=f"finops-{kind}-", dir=getattr(settings, "FINOPS_SYNC_TMP_DIR", None))


def copy(state: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(state))


# --- one reader's outcome --------------------------------------------------------------------------


@dataclass
class Part:
    """What one log reader (cloudwatch or s3) did for the target."""

    name: str
    status: str = "succeeded"
    items: int = 0
    loaded: int = 0
    rejected: int = 0
    error: str = ""
    remedy: str = ""
    import_runs: list[int] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def fail(self, error: str, remedy: str) -> None:
        self.status, self.error, self.remedy = "failed", error, remedy

    def partial(self, error: str, remedy: str) -> None:
        self.status, self.error, self.remedy = "partial", error, remedy

    def skip(self, reason: str) -> None:
        self.status, self.error = "skipped", reason


def combine(parts: list[Part], state: dict[str, Any]) -> SourceResult:
    """One result from the readers that ran: failed when every one that ran failed, partial when one failed or
    stopped half-way (or rows were rejected), skipped when none applies to this account and region."""
    ran = [p for p in parts if p.status != "skipped"]
    details = {p.name: {"status": p.status, "fetched": p.items, "loaded": p.loaded, **p.details} for p in parts}
    for part in parts:
        if part.error:
            details[part.name]["error" if part.status != "skipped" else "note"] = part.error
    if not ran:
        result = SourceResult.skipped("; ".join(p.error for p in parts), state)
        result.details = details
        return result
    if all(p.status == "failed" for p in ran):
        status = "failed"
    elif any(p.status in ("failed", "partial") for p in ran) or any(p.rejected for p in ran):
        status = "partial"
    else:
        status = "succeeded"
    troubled = [p for p in ran if p.status in ("failed", "partial")]
    return SourceResult(
        status=status,
        items_fetched=sum(p.items for p in ran),
        rows_loaded=sum(p.loaded for p in ran),
        rows_rejected=sum(p.rejected for p in ran),
        watermark=state,
        error="; ".join(f"{p.name}: {p.error}" for p in troubled),
        remedy="\n".join(p.remedy for p in troubled if p.remedy),
        details=details,
        import_runs=[pk for p in ran for pk in p.import_runs],
    )
