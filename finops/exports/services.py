"""Writing a FOCUS 1.2 export of one billing period (command, page and API all call focus_export)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from connections.models import Tenant
from connections.services import audit_log_record
from finops.exports import selectors
from finops.exports.columns import FOCUS_VERSION
from finops.exports.focus import focus_rows
from finops.exports.platforms import SOURCES
from finops.exports.writers import FORMATS, ExportFormatError, write_rows


class ExportError(ValueError):
    """An export that cannot be made; the message says why and what to do."""


class ExportBadRequest(ExportError):
    """A billing period or format that is not one (HTTP 400)."""


class ExportNotFound(ExportError):
    """A billing period without billed data (HTTP 404)."""


@dataclass(frozen=True)
class ExportResult:
    period: date
    fmt: str
    rows: int
    billed_total: Decimal  # the export's BilledCost, summed
    ledger_total: Decimal  # the ledger's billed dollars for the period, read separately

    @property
    def matches(self) -> bool:
        return self.billed_total == self.ledger_total


def parse_period(value: str) -> date:
    """YYYY-MM -> the first day of that month; ExportError otherwise."""
    text = (value or "").strip()
    if len(text) != 7 or text[4] != "-":
        raise ExportBadRequest(f"{value!r} is not a billing period: use YYYY-MM, e.g. 2026-06.")
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError as exc:
        raise ExportBadRequest(f"{value!r} is not a billing period: use YYYY-MM, e.g. 2026-06.") from exc


def parse_sources(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """Platform filter: ledger sources, repeated or comma-separated (`openai,vertex`), in the order SOURCES lists
    them; empty means every platform. ExportBadRequest names an unknown one."""
    if isinstance(values, str):
        values = [values]
    wanted = {part.strip() for value in values or () for part in str(value).split(",") if part.strip()}
    unknown = sorted(wanted - set(SOURCES))
    if unknown:
        raise ExportBadRequest(
            f"Unknown source {', '.join(map(repr, unknown))}: use one or more of {', '.join(SOURCES)}."
        )
    return tuple(s for s in SOURCES if s in wanted)


def export_filename(tenant: Tenant, period: date, fmt: str, sources: Iterable[str] = ()) -> str:
    platforms = "".join(f"-{s}" for s in sources)
    return f"focus-{FOCUS_VERSION}-{tenant.slug}-{period:%Y-%m}{platforms}.{fmt}"


def focus_export(
    *,
    tenant: Tenant,
    period: date,
    fmt: str,
    output_path: str | Path | BinaryIO,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    via: str = "command",
    sources: Iterable[str] = (),
) -> ExportResult:
    """Write the period's bill lines as FOCUS 1.2 (CSV or Parquet) to a path or an open binary file; with
    `sources`, only those platforms' lines (and the ledger total of those platforms beside them).

    Raises ExportBadRequest for an unknown format or source, ExportNotFound for a period with no billed data
    (of those platforms); nothing is written then. Audited as export.focus with the row count and the BilledCost
    total."""
    if fmt not in FORMATS:
        raise ExportBadRequest(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")
    sources = parse_sources(list(sources))
    period = period.replace(day=1)
    lines = selectors.billed_lines(tenant=tenant, period=period, sources=sources)
    if not lines:
        available = ", ".join(p.label for p in selectors.billed_periods(tenant=tenant, sources=sources)) or "none yet"
        which = f" from {', '.join(sources)}" if sources else ""
        raise ExportNotFound(
            f"No billed (CUR) data{which} for {period:%Y-%m} in tenant {tenant.slug}: nothing to export. "
            f"Billing periods with billed data{which}: {available}."
        )
    context = selectors.focus_context(tenant=tenant, lines=lines)
    rows = 0
    billed = Decimal(0)

    def counted() -> Iterator[dict[str, Any]]:  # the rows, counted and summed as they are written
        nonlocal rows, billed
        for row in focus_rows(lines, context=context, period=period):
            rows += 1
            billed += row["BilledCost"]
            yield row

    try:
        if isinstance(output_path, str | Path):
            with open(output_path, "wb") as handle:
                write_rows(counted(), handle, fmt)
        else:
            write_rows(counted(), output_path, fmt)
    except ExportFormatError as exc:  # pragma: no cover - checked above
        raise ExportError(str(exc)) from exc
    ledger_total = selectors.ledger_billed_total(tenant=tenant, period=period, sources=sources) or Decimal(0)
    result = ExportResult(period=period, fmt=fmt, rows=rows, billed_total=billed, ledger_total=ledger_total)
    audit_log_record(
        tenant=tenant,
        actor=actor,
        action="export.focus",
        target=export_filename(tenant, period, fmt, sources),
        details={
            "billing_period": f"{period:%Y-%m}",
            "format": fmt,
            "focus_version": FOCUS_VERSION,
            "rows": rows,
            "billed_cost_usd": str(billed),
            "ledger_billed_usd": str(ledger_total),
            "via": via,
            **({"sources": list(sources)} if sources else {}),
        },
    )
    return result
