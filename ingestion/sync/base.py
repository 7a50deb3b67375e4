"""What every sync source takes (a Target, its watermark, a window, a checkpoint) and returns (a SourceResult).

A source is a function

    def sync_<source>(target: Target, *, watermark: dict, since: datetime, until: datetime,
                      checkpoint: Checkpoint, say: Progress) -> SourceResult

It reads only through `target.session` (the connection's or member account's assumed-role session) and
`target.client(service)`, loads rows through ingestion.services / ingestion.loader, and calls
`checkpoint(watermark)` after each batch it has committed, so a sync killed at any point resumes from
there with nothing lost or doubled. It raises nothing for AWS problems: it returns a failed result with the
error and the remedy (connections.diagnostics wording where one exists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3

from connections.aws import client as aws_client
from connections.models import AwsConnection, Tenant

Progress = Callable[[str], None]
Checkpoint = Callable[[dict[str, Any]], None]

# Invocation logs are re-read from a little before the watermark, so events delivered late are not missed;
# request ids make the overlap harmless.
LOG_OVERLAP_SECONDS = 15 * 60
# A first sync (no watermark yet) reads this far back.
BACKFILL_DAYS = 90


@dataclass
class Target:
    """Where a source reads: one account (the connection's, or a member's in Organization mode) and region."""

    connection: AwsConnection
    account_id: str
    region: str
    session: boto3.session.Session

    @property
    def tenant(self) -> Tenant:
        return self.connection.tenant

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client with the app's standard retries and timeouts (and AWS_ENDPOINT_URL, for moto)."""
        return aws_client(self.session, service, region or self.region or None)


@dataclass
class SourceResult:
    """What a source did. status: succeeded, partial (loaded, with rejected rows or some parts unreadable),
    failed (nothing could be read), skipped (the source is not configured for this connection)."""

    status: str = "succeeded"
    items_fetched: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    watermark: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    remedy: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    import_runs: list[int] = field(default_factory=list)

    @classmethod
    def skipped(cls, reason: str, watermark: dict[str, Any] | None = None) -> SourceResult:
        return cls(status="skipped", error=reason, watermark=dict(watermark or {}))

    @classmethod
    def failed(cls, error: str, remedy: str, watermark: dict[str, Any] | None = None, **details: Any) -> SourceResult:
        return cls(status="failed", error=error, remedy=remedy, watermark=dict(watermark or {}), details=details)


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return utc(value).isoformat().replace("+00:00", "Z")


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
