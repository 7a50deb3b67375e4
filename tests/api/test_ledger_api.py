"""The ledger's events (cursor pagination) and chargeback endpoints, against the raw rows."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from connections.models import Tenant
from finops.ledger.api import encode_cursor
from finops.ledger.models import SpendEvent
from tests.api.conftest import bearer, token_for
from tests.factories import billed_line


@pytest.fixture
def token(loaded: Tenant, viewer) -> str:  # noqa: ANN001
    return token_for(viewer)


def _walk(client: Client, token: str, params: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every page of the events, following next_cursor; and how many pages it took."""
    events: list[dict[str, Any]] = []
    cursor, pages = "", 0
    while True:
        url = f"/api/v1/ledger/acme/events?limit={limit}&{params}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, **bearer(token))
        assert response.status_code == 200, response.content
        data = response.json()
        pages += 1
        assert len(data["events"]) <= limit
        events += data["events"]
        cursor = data["next_cursor"]
        if cursor is None:
            return events, pages
        assert pages < 1000


def test_the_cursor_walks_every_event_exactly_once_in_id_order(client: Client, token, loaded, other_tenant) -> None:  # noqa: ANN001
    billed_line(other_tenant, cost="9.99")  # someone else's row between two of ours by id: never returned
    billed_line(loaded, cost="1.25")
    ids = list(SpendEvent.objects.filter(tenant=loaded).order_by("id").values_list("id", flat=True))
    assert len(ids) > 7

    events, pages = _walk(client, token, "", limit=3)

    assert [e["id"] for e in events] == ids
    assert pages == -(-len(ids) // 3)  # a full last page already says there is no next one


def test_a_last_page_that_is_full_still_ends_with_a_null_cursor(client: Client, token, loaded) -> None:  # noqa: ANN001
    count = SpendEvent.objects.filter(tenant=loaded).count()
    data = client.get(f"/api/v1/ledger/acme/events?limit={count}", **bearer(token)).json()

    assert len(data["events"]) == count and data["next_cursor"] is None


def test_filters_narrow_the_walk(client: Client, token, loaded) -> None:  # noqa: ANN001
    requests = SpendEvent.objects.filter(tenant=loaded, record_kind="request")
    team = requests.exclude(team="").values_list("team", flat=True).first()
    model = requests.values_list("model_id", flat=True).first()

    by_kind, _ = _walk(client, token, "record_kind=request", limit=2)
    by_team, _ = _walk(client, token, f"team={team}&record_kind=request", limit=2)
    by_model, _ = _walk(client, token, f"model={model}", limit=2)
    june, _ = _walk(client, token, "start=2026-06-01&end=2026-06-30", limit=2)

    assert [e["id"] for e in by_kind] == list(requests.order_by("id").values_list("id", flat=True))
    assert [e["id"] for e in by_team] == list(requests.filter(team=team).order_by("id").values_list("id", flat=True))
    assert {e["model_id"] for e in by_model} == {model}
    assert len(by_model) == SpendEvent.objects.filter(tenant=loaded, model_id=model).count()
    june_rows = SpendEvent.objects.filter(
        tenant=loaded, usage_date__gte=date(2026, 6, 1), usage_date__lte=date(2026, 6, 30)
    )
    assert [e["id"] for e in june] == list(june_rows.order_by("id").values_list("id", flat=True))


def test_an_event_carries_the_ledger_fields_and_hashes_but_no_secret(client: Client, token, loaded) -> None:  # noqa: ANN001
    row = SpendEvent.objects.filter(tenant=loaded, record_kind="request").order_by("id").first()
    (event,) = client.get(f"/api/v1/ledger/acme/events?request_id={row.request_id}", **bearer(token)).json()["events"]

    assert event["id"] == row.pk and Decimal(event["cost_usd"]) == row.cost_usd
    assert (event["model_id"], event["team"], event["input_tokens"]) == (row.model_id, row.team, row.input_tokens)
    assert event["prompt_hash"] == row.prompt_hash
    assert loaded.hash_secret not in json.dumps(event) and "hash_secret" not in event


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("cursor=not-a-cursor", "cursor is not one this API gave"),
        (f"cursor={encode_cursor(5)[:-2]}!!", "cursor is not one this API gave"),
        ("limit=1001", "limit: Input should be less than or equal to 1000"),
        ("limit=0", "limit: Input should be greater than or equal to 1"),
        ("limit=many", "limit: Input should be a valid integer"),
        ("record_kind=invoice", "record_kind='invoice': use one of billed_line, request, metric"),
        ("start=2026-6-1", "start='2026-6-1' is not a date: use YYYY-MM-DD"),
        ("start=2026-07-01&end=2026-06-01", "is after end"),
    ],
)
def test_bad_event_parameters_are_400s_that_say_what_to_send(client: Client, token, params: str, words: str) -> None:  # noqa: ANN001
    response = client.get(f"/api/v1/ledger/acme/events?{params}", **bearer(token))

    assert response.status_code == 400
    assert words in response.json()["detail"]


# --- chargeback -------------------------------------------------------------------------------------------


def test_chargeback_rows_add_up_to_the_bill_and_match_the_command(client: Client, token, loaded) -> None:  # noqa: ANN001
    response = client.get("/api/v1/ledger/acme/chargeback?period=2026-08&group_by=team,principal_name", **bearer(token))
    assert response.status_code == 200
    data = response.json()

    bill = SpendEvent.objects.filter(tenant=loaded, billing_period=date(2026, 8, 1), record_kind="billed_line")
    invoice = sum((e.cost_usd for e in bill), Decimal(0))
    assert Decimal(data["invoice_total_usd"]) == invoice
    assert sum(Decimal(r["billed_cost_usd"]) for r in data["rows"]) == invoice
    # Requests per group, as the raw request rows count them.
    counts: dict[tuple[str, str], int] = defaultdict(int)
    requests = SpendEvent.objects.filter(tenant=loaded, billing_period=date(2026, 8, 1), record_kind="request")
    for e in requests:
        counts[(e.team, e.principal_name)] += e.requests
    grouped = [r for r in data["rows"] if "unattributed" not in r and "shared" not in r]
    assert {(r["team"], r["principal_name"]): r["requests"] for r in grouped} == counts
    # The same rows as `manage.py chargeback --format json`.
    out = StringIO()
    call_command("chargeback", tenant="acme", period="2026-08", by="team,principal_name", format="json", stdout=out)
    assert data["rows"] == json.loads(out.getvalue())
    assert (data["period"], data["group_by"], data["count"], data["pages"]) == (
        "2026-08",
        ["team", "principal_name"],
        len(data["rows"]),
        1,
    )


def test_chargeback_pages(client: Client, token, loaded) -> None:  # noqa: ANN001
    whole = client.get("/api/v1/ledger/acme/chargeback?period=2026-08&group_by=principal_name", **bearer(token)).json()
    pages = [
        client.get(
            f"/api/v1/ledger/acme/chargeback?period=2026-08&group_by=principal_name&page_size=2&page={n}",
            **bearer(token),
        ).json()
        for n in range(1, whole["count"] // 2 + 2)
    ]

    assert [row for page in pages for row in page["rows"]] == whole["rows"]
    assert {page["pages"] for page in pages} == {-(-whole["count"] // 2)}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ("period=2026-8", "period='2026-8' is not a billing period: use YYYY-MM"),
        ("period=August", "is not a billing period"),
        ("period=2026-08&group_by=colour", "Unknown or missing group_by field(s): colour"),
        ("group_by=team", "period: Field required"),
    ],
)
def test_bad_chargeback_parameters_are_400s(client: Client, token, params: str, words: str) -> None:  # noqa: ANN001
    response = client.get(f"/api/v1/ledger/acme/chargeback?{params}", **bearer(token))

    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_the_report_is_unchanged_and_honours_a_tokens_tenant(client: Client, viewer, loaded, other_tenant) -> None:  # noqa: ANN001
    token = token_for(viewer, tenant=loaded)
    rows = client.get("/api/v1/ledger/acme/report?group_by=team", **bearer(token)).json()
    billed = defaultdict(Decimal)
    for e in SpendEvent.objects.filter(tenant=loaded, cost_basis="billed"):
        billed[e.team] += e.cost_usd

    assert {r["group"]["team"]: Decimal(r["billed_cost_usd"]) for r in rows} == billed
    assert client.get("/api/v1/ledger/acme/report?start=nope", **bearer(token)).status_code == 400
