"""Helpers for the explorer page tests: the ledger summed independently (plain Python over SpendEvent rows) and
the page's table read back out of its HTML."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from connections.models import Tenant
from finops.ledger.models import SpendEvent
from ingestion.services import import_cur, import_invocation_logs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ZERO = Decimal(0)
RANGE = {"start": "2026-05-01", "end": "2026-09-30"}
COLUMNS = {"model": "model_id", "principal": "iam_principal", "user": "user_id", "agent": "agent_id"}


def load_fixtures(tenant: Tenant) -> Tenant:
    """Two months of bills and requests; August's requests run a day past its bill (not yet billed)."""
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "invocations.jsonl"])
    return tenant


def events(tenant: Tenant) -> list[dict]:
    return list(SpendEvent.objects.filter(tenant=tenant).values())


def cost(e: dict, basis: str) -> Decimal:
    if basis == "allocated":
        if e["record_kind"] == "request":
            return e["allocated_cost_usd"] or ZERO
        if e["record_kind"] == "billed_line":
            return (e["cost_usd"] or ZERO) - (e["allocated_cost_usd"] or ZERO)
        return ZERO
    return (e["cost_usd"] or ZERO) if e["cost_basis"] == basis else ZERO


def key(e: dict, dimension: str) -> str:
    column = COLUMNS.get(dimension, dimension)
    if dimension == "model":
        return e["model_id"] or e["model_ref"] or ""
    return e[column] or ""


def costs_by(tenant: Tenant, dimension: str, basis: str = "billed", keep=None) -> dict[str, Decimal]:  # noqa: ANN001
    out: dict[str, Decimal] = defaultdict(Decimal)
    for e in events(tenant):
        if keep is None or keep(e):
            out[key(e, dimension)] += cost(e, basis)
    return dict(out)


def dollars(value: Decimal) -> str:
    """Money as the page writes it, worked out here: cents, thousands separated, a minus sign in front."""
    sign, value = ("−" if value < 0 else ""), abs(value)
    if 0 < value < Decimal("0.01"):  # under a cent: two significant digits, never "$0.00"
        return f"{sign}${value.quantize(Decimal(1).scaleb(value.adjusted() - 1), rounding=ROUND_HALF_UP)}"
    return f"{sign}${value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


class _Table(HTMLParser):
    """The rows of the table with data-testid=explore-table: [cell texts], and each cell's links."""

    def __init__(self, testid: str) -> None:
        super().__init__()
        self.testid = testid
        self.depth = 0
        self.rows: list[list[str]] = []
        self.links: list[list[str]] = []
        self.section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table" and attrs.get("data-testid") == self.testid:
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "table":
            self.depth += 1
        if tag in {"thead", "tbody", "tfoot"}:
            self.section = tag
        if tag == "tr" and self.section in {"tbody", "tfoot"}:
            self.rows.append([])
            self.links.append([])
        if tag in {"td", "th"} and self.section in {"tbody", "tfoot"}:
            self._cell = []
        if tag == "a" and self._cell is not None and self.rows:
            self.links[-1].append(attrs.get("href", ""))
        if tag == "span" and self._cell is not None and "sub" in (attrs.get("class") or "").split():
            self._cell.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if not self.depth:
            return
        if tag == "table":
            self.depth -= 1
        if tag in {"td", "th"} and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(html: str, testid: str = "explore-table") -> tuple[list[list[str]], list[list[str]]]:
    """(rows of cell texts, each row's link hrefs), body rows then the total row."""
    parser = _Table(testid)
    parser.feed(html)
    return parser.rows, parser.links


def params_of(href: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(href).query, keep_blank_values=True)
