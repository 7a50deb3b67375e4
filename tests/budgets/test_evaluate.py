"""Evaluating budgets: actual from the ledger (checked against the raw rows), each threshold alerts once per period,
on every channel, failures recorded, everything audited; and the triggers (after an import, daily)."""

from __future__ import annotations

import json
import urllib.error
from datetime import date
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command

from budgets.models import Budget, BudgetAlert
from budgets.selectors import budget_status
from budgets.services import budget_create, budgets_evaluate
from budgets.tasks import evaluate_all, evaluate_tenant
from connections.models import AlertChannel, AuditLog, Tenant
from finops.ledger.models import SpendEvent
from tests.budgets.conftest import bill, raw_billed, rebuild

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOOK = "https://hooks.example.com/services/T0/B0/secret-token"


class _Response:
    status = 200

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *args: object) -> None:
        return None


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Webhook POSTs, captured instead of sent."""
    bodies: list[dict] = []

    def urlopen(request, timeout=None):  # noqa: ANN001, ANN202
        bodies.append({"url": request.full_url, **json.loads(request.data)})
        return _Response()

    monkeypatch.setattr("urllib.request.urlopen", urlopen)
    return bodies


@pytest.fixture
def search_spend(tenant: Tenant) -> None:
    """$100 a day for team search and $50 for ads, 1 Sep to 15 Nov 2026; another tenant's search spend too."""
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "100.00", team="search")
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "50.00", team="ads")
    rebuild(tenant)


def search_budget(tenant: Tenant, **values: object) -> Budget:
    defaults: dict[str, object] = {
        "name": "Search",
        "amount_usd": Decimal("2000"),
        "basis": "billed",
        "scope": [{"dimension": "team", "values": ["search"]}],
        "emails": ["search-lead@example.com"],
        "webhooks": [HOOK],
    }
    return budget_create(tenant=tenant, actor=None, **{**defaults, **values})


# --- actual and forecast -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "fields"),
    [
        ([{"dimension": "team", "values": ["search"]}], {"team": "search"}),
        ([{"dimension": "team", "values": ["ads"], "exclude": True}], {"team": "search"}),
        ([], {}),
    ],
)
def test_actual_is_the_scopes_billed_dollars_of_the_period_so_far(
    tenant: Tenant, other_tenant: Tenant, search_spend: None, scope: list, fields: dict
) -> None:
    bill(other_tenant, date(2026, 11, 1), date(2026, 11, 15), "999.00", team="search")
    rebuild(other_tenant)
    budget = search_budget(tenant, scope=scope)
    status = budget_status(budget=budget, as_of=date(2026, 11, 12))
    assert status.actual_usd == raw_billed(tenant, date(2026, 11, 1), date(2026, 11, 12), **fields)
    assert status.known_through == date(2026, 11, 12)


def test_allocated_dollars_reach_a_team_the_bill_does_not_name(tenant: Tenant) -> None:
    from ingestion.services import import_cur, import_invocation_logs

    import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-08-reconcile.csv"])
    import_invocation_logs(tenant=tenant, paths=[FIXTURES / "invocation_logs" / "reconcile-2026-08.jsonl"])
    rows = list(SpendEvent.objects.filter(tenant=tenant).values())
    billed_through = max(r["usage_date"] for r in rows if r["cost_basis"] == "billed")
    for team in ("mobile", "BedrockDataScience"):
        expected = Decimal(0)
        for r in rows:
            if r["team"] != team or not date(2026, 8, 1) <= r["usage_date"] <= billed_through:
                continue
            if r["record_kind"] == "request":
                expected += r["allocated_cost_usd"] or 0
            elif r["record_kind"] == "billed_line":
                expected += (r["cost_usd"] or 0) - (r["allocated_cost_usd"] or 0)
        budget = budget_create(
            tenant=tenant,
            actor=None,
            name=team,
            amount_usd=Decimal("1"),
            scope=[{"dimension": "team", "values": [team]}],
        )
        assert budget.basis == "allocated"  # the default
        status = budget_status(budget=budget, as_of=date(2026, 8, 20))
        assert expected > 0
        assert status.actual_usd == expected
        assert status.known_through == billed_through


def test_a_tenant_without_data_has_no_forecast_and_sends_nothing(tenant: Tenant, posted: list) -> None:
    search_budget(tenant)
    [evaluation] = budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    assert evaluation.status.status == "no_data"
    assert evaluation.status.forecast_usd is None
    assert evaluation.alerts_sent == [] and not mail.outbox and not posted


# --- alerts once per period ----------------------------------------------------------------------------------------


def test_each_threshold_alerts_once_per_period(tenant: Tenant, search_spend: None, posted: list) -> None:
    budget = search_budget(tenant)
    # 12 Nov: $1,200 spent (60%), forecast $3,000 (150%): only the forecast threshold is crossed.
    [first] = budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    assert [(a.kind, a.pct) for a in first.alerts_sent] == [("forecast", 100)]
    [again] = budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    assert again.alerts_sent == []
    # 15 Nov: $1,500 is not yet 80% of $2,000; add the 16th and 17th: $1,700 is.
    bill(tenant, date(2026, 11, 16), date(2026, 11, 17), "100.00", team="search")
    rebuild(tenant)
    [later] = budgets_evaluate(tenant, as_of=date(2026, 11, 17))
    assert [(a.kind, a.pct) for a in later.alerts_sent] == [("actual", 80)]
    assert {(t.kind, t.pct) for t in later.status.crossed} == {("forecast", 100), ("actual", 80)}
    assert BudgetAlert.objects.filter(budget=budget).count() == 2
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["search-lead@example.com"]
    assert [p["url"] for p in posted] == [HOOK, HOOK]
    assert "forecast at 100%" in posted[0]["text"]
    assert AuditLog.objects.filter(tenant=tenant, action="budget.alert").count() == 2


def test_a_new_period_alerts_again(tenant: Tenant, search_spend: None, posted: list) -> None:
    budget = search_budget(tenant)
    budgets_evaluate(tenant, as_of=date(2026, 10, 20))
    budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    alerts = BudgetAlert.objects.filter(budget=budget, kind="forecast", pct=100).order_by("period_start")
    assert [a.period_start for a in alerts] == [date(2026, 10, 1), date(2026, 11, 1)]
    # In October the actual thresholds were crossed too (by the 20th: $2,000).
    assert BudgetAlert.objects.filter(budget=budget, period_start=date(2026, 10, 1), kind="actual").count() == 2
    assert len(mail.outbox) == 4


def test_a_failing_webhook_is_recorded_and_the_email_still_goes(
    tenant: Tenant, search_spend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(request, timeout=None):  # noqa: ANN001, ANN202
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    search_budget(tenant)
    [evaluation] = budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    [alert] = evaluation.alerts_sent
    assert len(mail.outbox) == 1
    email, webhook = alert.deliveries
    assert email == {"channel": "Email: search-lead@example.com", "ok": True, "error": ""}
    assert webhook["ok"] is False and "connection refused" in webhook["error"]
    assert "secret-token" not in webhook["channel"]  # a webhook URL is a credential: stored masked
    audit = AuditLog.objects.get(tenant=tenant, action="budget.alert")
    assert audit.details["deliveries"] == alert.deliveries
    alert.refresh_from_db()
    assert alert.failed == [webhook]


def test_the_tenants_alert_channels_get_the_alert_when_the_budget_says_so(
    tenant: Tenant, search_spend: None, posted: list
) -> None:
    AlertChannel.objects.create(tenant=tenant, kind="email", target="finops@example.com")
    search_budget(tenant, emails=[], webhooks=[])
    search_budget(tenant, name="Quiet", emails=[], webhooks=[], use_tenant_channels=False)
    budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    assert [m.to for m in mail.outbox] == [["finops@example.com"]]
    assert AuditLog.objects.filter(tenant=tenant, action="alert.sent").count() == 1


def test_an_alert_another_evaluation_claimed_is_not_sent_again(
    tenant: Tenant, search_spend: None, posted: list
) -> None:
    budget = search_budget(tenant)
    # A concurrent run inserted the row first: the unique constraint makes this run's insert fail quietly.
    BudgetAlert.objects.create(
        budget=budget, period_start=date(2026, 11, 1), kind="forecast", pct=100, actual_usd=0, message="claimed"
    )
    [evaluation] = budgets_evaluate(tenant, as_of=date(2026, 11, 12))
    assert evaluation.alerts_sent == [] and not mail.outbox and not posted
    assert [(t.kind, t.pct) for t in evaluation.status.crossed] == [("forecast", 100)]


# --- triggers ------------------------------------------------------------------------------------------------------


def test_an_import_queues_the_budget_evaluation_on_commit(tenant: Tenant, django_capture_on_commit_callbacks) -> None:  # noqa: ANN001
    from ingestion.services import import_cur

    with mock.patch("django_q.tasks.async_task") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            import_cur(tenant=tenant, paths=[FIXTURES / "cur" / "cur2-bedrock-2026-06.csv"])
    funcs = [c.args[0] for c in queued.call_args_list]
    assert "budgets.tasks.evaluate_tenant" in funcs
    assert queued.call_args_list[funcs.index("budgets.tasks.evaluate_tenant")].args[1] == tenant.pk


def test_the_daily_schedule_is_declared() -> None:
    from ingestion.management.commands.setup_schedules import SCHEDULES

    spec = next(s for s in SCHEDULES if s["name"] == "budgets-daily")
    assert spec["func"] == "budgets.tasks.evaluate_all"


def test_the_tasks_evaluate_tenants_with_budgets(
    tenant: Tenant, other_tenant: Tenant, search_spend: None, posted: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    search_budget(tenant)
    monkeypatch.setattr("budgets.selectors.today", lambda: date(2026, 11, 12))
    assert evaluate_all() == {"tenants": 1, "alerts_sent": 1, "failed_tenant_ids": []}
    assert evaluate_tenant(tenant.pk) == {"tenant_id": tenant.pk, "budgets": 1, "alerts_sent": 0}
    assert evaluate_tenant(999_999)["skipped"]


def test_setup_schedules_creates_the_daily_run(db: None) -> None:
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=mock.MagicMock())
    assert Schedule.objects.get(name="budgets-daily").func == "budgets.tasks.evaluate_all"
