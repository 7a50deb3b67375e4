"""Cards over their life: created, updated, resolved, reopened, accepted (with measured savings),
dismissed (with a reason); audited; announced on the tenant's alert channels; the command, the
page and the overview."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client

from connections.models import AlertChannel, AuditLog, Membership, Tenant
from recommendations.cards import Card, fingerprint
from recommendations.models import Recommendation
from recommendations.services import (
    measured_savings,
    recommendation_accept,
    recommendation_dismiss,
    store_cards,
)
from tests.factories import ledger_row

AS_OF = date(2026, 11, 20)


def card(value: str = "120.00", *, kind: str = "model_routing", app: str = "txn-classifier", **extra: object) -> Card:
    scope = {"application": app}
    return Card(
        kind=kind,
        fingerprint=fingerprint(kind, **scope),
        title=f"{app}: route short calls to Haiku",
        scope=scope,
        action="change the modelId",
        confidence="high",
        monthly_savings_usd=Decimal(value),
        evidence={"request_ids": ["r-1"]},
        math="the sum",
        **extra,  # type: ignore[arg-type]
    )


def _request(tenant: Tenant, day: date, cost: str, app: str = "txn-classifier") -> None:
    start = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    ledger_row(
        tenant=tenant,
        record_kind="request",
        cost_basis="estimated",
        dedupe_key=f"req:{app}:{day}:{cost}",
        usage_start=start,
        usage_end=start,
        usage_date=day,
        billing_period=day.replace(day=1),
        application=app,
        requests=1,
        cost_usd=Decimal(cost),
    )


def test_a_card_is_created_once_updated_resolved_and_reopened(tenant: Tenant) -> None:
    first = store_cards(tenant=tenant, cards=[card("120.00")], as_of=AS_OF)
    again = store_cards(tenant=tenant, cards=[card("150.00")], as_of=AS_OF)

    rec = Recommendation.objects.get(tenant=tenant)
    assert (first.created, again.created, again.updated) == (1, 0, 1)
    assert (rec.status, rec.monthly_savings_usd) == ("open", Decimal("150.00"))

    gone = store_cards(tenant=tenant, cards=[], as_of=AS_OF)
    rec.refresh_from_db()
    assert (gone.resolved, rec.status) == (1, "resolved")

    back = store_cards(tenant=tenant, cards=[card("150.00")], as_of=AS_OF)
    rec.refresh_from_db()
    assert (back.reopened, rec.status) == (1, "open")
    actions = list(AuditLog.objects.filter(tenant=tenant).values_list("action", flat=True).order_by("id"))
    assert actions == ["recommendation.generated", "recommendation.resolved", "recommendation.reopened"]


def test_a_dismissed_card_comes_back_only_when_its_value_doubles(tenant: Tenant, tenant_admin) -> None:  # noqa: ANN001
    store_cards(tenant=tenant, cards=[card("100.00")], as_of=AS_OF)
    rec = Recommendation.objects.get(tenant=tenant)
    with pytest.raises(ValueError, match="Say why"):
        recommendation_dismiss(rec=rec, actor=tenant_admin, reason="  ")

    recommendation_dismiss(rec=rec, actor=tenant_admin, reason="quality matters more for fraud")
    store_cards(tenant=tenant, cards=[card("190.00")], as_of=AS_OF)
    rec.refresh_from_db()
    assert (rec.status, rec.dismissed_reason) == ("dismissed", "quality matters more for fraud")

    store_cards(tenant=tenant, cards=[card("200.00")], as_of=AS_OF)
    rec.refresh_from_db()
    assert rec.status == "open"
    entry = AuditLog.objects.get(tenant=tenant, action="recommendation.dismissed")
    assert entry.actor == tenant_admin and entry.details["reason"] == "quality matters more for fraud"


def test_an_accepted_card_measures_its_savings_since(tenant: Tenant, tenant_admin) -> None:  # noqa: ANN001
    today = date.today()
    for offset in range(6, 20):
        _request(tenant, today - timedelta(days=offset), "10.00")  # $10 a day before
    store_cards(tenant=tenant, cards=[card()], as_of=today)
    rec = recommendation_accept(rec=Recommendation.objects.get(tenant=tenant), actor=tenant_admin)
    rec.accepted_at = datetime.combine(today - timedelta(days=6), datetime.min.time(), tzinfo=UTC)
    rec.save()
    assert rec.baseline_daily_usd == Decimal("10.00")  # the 14 days before it was accepted
    assert measured_savings(rec=rec) is None  # no day of data after it yet

    for offset in range(1, 6):
        _request(tenant, today - timedelta(days=offset), "4.00")  # $4 a day after
    measured = measured_savings(rec=rec)

    assert (measured["after_daily_usd"], measured["days"]) == (Decimal("4.00"), 5)
    assert measured["monthly_savings_usd"] == (Decimal("10.00") - Decimal("4.00")) * 30


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> str:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_anomalies_and_high_impact_cards_are_announced_on_every_channel(
    tenant: Tenant,
    webhook: str,
    settings,  # noqa: ANN001
) -> None:
    settings.RECOMMENDATION_ALERT_USD = 100
    AlertChannel.objects.create(tenant=tenant, kind="email", target="finops@acme.example")
    AlertChannel.objects.create(tenant=tenant, kind="webhook", target=webhook)
    AlertChannel.objects.create(tenant=tenant, kind="webhook", target="http://127.0.0.1:9/refused")
    small = card("20.00", app="small")
    anomaly = card("0", kind="anomaly", app="agent", anomaly_type="runaway_loop")
    anomaly.monthly_savings_usd, anomaly.monthly_impact_usd = None, Decimal("350.00")

    store_cards(tenant=tenant, cards=[card("500.00"), small, anomaly], as_of=AS_OF)

    subjects = sorted(m.subject for m in mail.outbox)
    assert len(subjects) == 2 and any("Anomaly" in s for s in subjects)
    assert not any("small" in s for s in subjects)
    assert len(_Hook.received) == 2 and all("text" in body for body in _Hook.received)
    assert AuditLog.objects.filter(tenant=tenant, action="alert.sent").count() == 4
    assert AuditLog.objects.filter(tenant=tenant, action="alert.failed").count() == 2  # the refused webhook, twice


def test_the_recommend_command_prints_cards_as_json(tenant: Tenant) -> None:
    from ingestion.services import import_cur, import_invocation_logs
    from tests.fixtures import make_fixtures as mf

    import_invocation_logs(tenant=tenant, paths=[mf.LOG_DIR / "reconcile-2026-08.jsonl"])
    import_cur(tenant=tenant, paths=[mf.CUR_DIR / "cur2-bedrock-2026-08-reconcile.csv"])
    out = StringIO()

    call_command("recommend", tenant=tenant.slug, as_of="2026-08-31", format="json", stdout=out)

    cards = json.loads(out.getvalue())
    assert isinstance(cards, list)
    for item in cards:
        assert {"kind", "fingerprint", "title", "scope", "monthly_savings_usd", "monthly_impact_usd", "confidence",
                "evidence", "action"} <= set(item)  # fmt: skip
        assert len(item["evidence"]["request_ids"]) <= 20
    assert AuditLog.objects.filter(tenant=tenant, action="recommendations.run").exists()


def test_the_command_on_a_tenant_without_data_says_so(tenant: Tenant) -> None:
    out = StringIO()
    call_command("recommend", tenant=tenant.slug, stdout=out)
    assert "No data" in out.getvalue()


# --- pages --------------------------------------------------------------------------------------------


@pytest.fixture
def cards(tenant: Tenant) -> list[Recommendation]:
    store_cards(
        tenant=tenant,
        cards=[card("500.00", app="a"), card("50.00", app="b"), card("5.00", kind="prompt_caching", app="c")],
        as_of=AS_OF,
    )
    return list(Recommendation.objects.filter(tenant=tenant))


def test_the_page_lists_cards_by_value_and_filters_them(cards, viewer, client: Client) -> None:  # noqa: ANN001
    client.force_login(viewer)

    page = client.get("/t/acme/recommendations/").content.decode()
    only = client.get("/t/acme/recommendations/?kind=prompt_caching").content.decode()
    bad = client.get("/t/acme/recommendations/?kind=nonsense").content.decode()

    assert page.index("a: route") < page.index("b: route") < page.index("c: route")
    assert "c: route" in only and "a: route" not in only
    assert "is not a kind of recommendation" in bad
    assert "/accept/" not in page and "/dismiss/" not in page  # a viewer cannot act


def test_an_analyst_accepts_and_dismisses_and_a_viewer_cannot(cards, tenant, viewer, client: Client) -> None:  # noqa: ANN001
    analyst = get_user_model().objects.create_user("ana", password="pw-ana-12345")
    Membership.objects.create(user=analyst, tenant=tenant, role=Membership.Role.ANALYST)
    first, second = cards[0], cards[1]

    client.force_login(viewer)
    assert client.post(f"/t/acme/recommendations/{first.pk}/accept/").status_code == 403
    client.force_login(analyst)
    client.post(f"/t/acme/recommendations/{first.pk}/accept/")
    client.post(f"/t/acme/recommendations/{second.pk}/dismiss/", {"reason": "not now"})

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status, second.dismissed_reason) == ("accepted", "dismissed", "not now")
    assert AuditLog.objects.filter(tenant=tenant, action="recommendation.accepted", actor=analyst).exists()


def test_outsiders_get_404_everywhere(cards, outsider, client: Client) -> None:  # noqa: ANN001
    client.force_login(outsider)
    assert client.get("/t/acme/recommendations/").status_code == 404
    for action in ("accept", "dismiss", "reopen"):
        assert client.post(f"/t/acme/recommendations/{cards[0].pk}/{action}/").status_code == 404
    # A card of another tenant through one's own tenant slug is 404 too.
    assert client.post(f"/t/globex/recommendations/{cards[0].pk}/accept/").status_code == 404


def test_the_overview_shows_the_savings_on_offer_and_the_top_three(cards, tenant, viewer, client: Client) -> None:  # noqa: ANN001
    _request(tenant, AS_OF, "1.00", app="x")
    client.force_login(viewer)

    html = client.get(f"/t/acme/?start={AS_OF}&end={AS_OF}").content.decode()

    assert "$555.00/month of savings on offer" in html.replace(",", "")
    panel = html[html.index('data-testid="savings-on-offer"') :]
    assert panel.index("a: route") < panel.index("b: route")
