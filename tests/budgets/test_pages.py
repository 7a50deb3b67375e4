"""Budget pages: admins create, edit and delete; analysts and viewers read (403 on every write); outsiders get 404
everywhere; the chart's figure; the admin site."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from budgets.charts import budget_chart
from budgets.models import Budget, BudgetAlert
from budgets.selectors import budget_status
from budgets.services import budget_create
from connections.models import AuditLog, Tenant
from tests.budgets.conftest import bill, rebuild


@pytest.fixture
def budget(tenant: Tenant) -> Budget:
    return budget_create(
        tenant=tenant,
        actor=None,
        name="Data science",
        amount_usd=Decimal("5000"),
        scope=[{"dimension": "team", "values": ["data-science"]}],
        webhooks=["https://hooks.example.com/services/T/B/secret-token"],
    )


@pytest.fixture
def spend(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "100.00", team="data-science")
    rebuild(tenant)
    monkeypatch.setattr("budgets.selectors.today", lambda: date(2026, 11, 15))


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Search",
        "amount_usd": "3000",
        "period": "monthly",
        "basis": "billed",
        "actual_pcts": "50, 100",
        "forecast_pcts": "100",
        "emails_text": "lead@example.com",
        "webhooks_text": "",
        "use_tenant_channels": "on",
        "scope-TOTAL_FORMS": "3",
        "scope-INITIAL_FORMS": "0",
        "scope-MIN_NUM_FORMS": "0",
        "scope-MAX_NUM_FORMS": "30",
        "scope-0-dimension": "team",
        "scope-0-values": "search, ads",
        "scope-0-mode": "include",
        "scope-1-dimension": "model",
        "scope-1-values": "anthropic.claude-opus-4-6-v1",
        "scope-1-mode": "exclude",
        "scope-2-dimension": "",
        "scope-2-values": "",
        "scope-2-mode": "include",
    }
    return {**data, **overrides}


def urls(slug: str, pk: int) -> dict[str, str]:
    return {
        "list": f"/t/{slug}/budgets/",
        "create": f"/t/{slug}/budgets/new/",
        "detail": f"/t/{slug}/budgets/{pk}/",
        "edit": f"/t/{slug}/budgets/{pk}/edit/",
        "delete": f"/t/{slug}/budgets/{pk}/delete/",
    }


# --- isolation and roles -------------------------------------------------------------------------------------------


def test_it_rejects_other_tenant_on_every_page(client: Client, outsider, budget: Budget) -> None:  # noqa: ANN001
    client.force_login(outsider)
    for url in urls("acme", budget.pk).values():
        assert client.get(url).status_code == 404, url
        assert client.post(url, form_data()).status_code in (404, 405), url
    assert Budget.objects.filter(pk=budget.pk, name="Data science").exists()


def test_another_tenants_budget_is_404_under_ones_own_tenant(
    client: Client, outsider, other_tenant: Tenant, budget: Budget
) -> None:  # noqa: ANN001
    client.force_login(outsider)
    for name, url in urls("globex", budget.pk).items():
        if name not in ("list", "create"):
            assert client.get(url).status_code == 404, url
            assert client.post(url, form_data()).status_code == (405 if name == "detail" else 404), url


def test_the_pages_need_a_login(client: Client, budget: Budget) -> None:
    assert client.get(urls("acme", budget.pk)["list"]).status_code == 302


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_analysts_and_viewers_read_but_every_write_is_403(client: Client, request, budget: Budget, role: str) -> None:  # noqa: ANN001
    client.force_login(request.getfixturevalue(role))
    pages = urls("acme", budget.pk)
    listing = client.get(pages["list"]).content.decode()
    assert "Data science" in listing and "New budget" not in listing
    detail = client.get(pages["detail"]).content.decode()
    assert "Edit" not in detail and "Delete" not in detail
    assert "secret-token" not in detail
    for name in ("create", "edit", "delete"):
        assert client.get(pages[name]).status_code == 403
        assert client.post(pages[name], form_data(name="Hijacked")).status_code == 403
    assert Budget.objects.get(pk=budget.pk).name == "Data science"
    assert not Budget.objects.filter(name="Hijacked").exists()


# --- admins manage -------------------------------------------------------------------------------------------------


def test_an_admin_creates_a_budget_from_scope_rows(client: Client, tenant_admin, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    assert "New budget" in client.get("/t/acme/budgets/").content.decode()
    assert "No budgets yet" in client.get("/t/acme/budgets/").content.decode()
    response = client.post("/t/acme/budgets/new/", form_data())
    budget = Budget.objects.get(tenant=tenant, name="Search")
    assert response.status_code == 302 and response["Location"] == f"/t/acme/budgets/{budget.pk}/"
    assert budget.scope == [
        {"dimension": "team", "values": ["search", "ads"], "exclude": False},
        {"dimension": "model", "values": ["anthropic.claude-opus-4-6-v1"], "exclude": True},
    ]
    assert budget.thresholds == [
        {"kind": "actual", "pct": 50},
        {"kind": "actual", "pct": 100},
        {"kind": "forecast", "pct": 100},
    ]
    assert budget.amount_usd == Decimal("3000") and budget.basis == "billed" and budget.created_by == tenant_admin
    assert budget.emails == ["lead@example.com"] and budget.use_tenant_channels
    assert AuditLog.objects.filter(tenant=tenant, action="budget.created", actor=tenant_admin).exists()


def test_an_admin_edits_and_deletes_a_budget(client: Client, tenant_admin, budget: Budget) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    pages = urls("acme", budget.pk)
    form = client.get(pages["edit"]).content.decode()
    assert 'value="data-science"' in form and 'value="Data science"' in form
    data = form_data(
        name="Data science team",
        **{
            "scope-INITIAL_FORMS": "1",
            "scope-0-dimension": "team",
            "scope-0-values": "data-science",
            "scope-1-dimension": "",
            "scope-1-values": "",
        },
    )
    assert client.post(pages["edit"], data).status_code == 302
    budget.refresh_from_db()
    assert budget.name == "Data science team"
    assert budget.scope == [{"dimension": "team", "values": ["data-science"], "exclude": False}]
    changed = AuditLog.objects.get(action="budget.changed")
    assert "name" in changed.details["fields"]
    assert "Delete the budget" in client.get(pages["delete"]).content.decode()
    response = client.post(pages["delete"])
    assert response.status_code == 302 and response["Location"] == "/t/acme/budgets/"
    assert not Budget.objects.filter(pk=budget.pk).exists()
    assert AuditLog.objects.filter(action="budget.deleted", target="Data science team").exists()


def test_staff_manage_any_tenants_budgets(client: Client, staff, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(staff)
    assert client.post("/t/acme/budgets/new/", form_data()).status_code == 302
    assert Budget.objects.filter(tenant=tenant, name="Search").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount_usd": "0"}, "The amount must be more than $0."),
        ({"emails_text": "lead@example"}, "is not an email address"),
        ({"webhooks_text": "http://hooks.example.com/x"}, "https"),
        ({"actual_pcts": "eighty"}, "is not a whole percent"),
        ({"forecast_pcts": "0"}, "from 1 to 1000"),
        ({"scope-0-values": ""}, "Give one value or more"),
        ({"scope-2-values": "orphans"}, "Choose what these values are"),
        ({"name": "Data science"}, "already has a budget with this name"),
    ],
)
def test_form_errors_are_in_words(client: Client, tenant_admin, budget: Budget, overrides: dict, message: str) -> None:  # noqa: ANN001
    client.force_login(tenant_admin)
    response = client.post("/t/acme/budgets/new/", form_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Budget.objects.count() == 1


# --- what the pages show -------------------------------------------------------------------------------------------


def test_the_list_shows_actual_forecast_and_status(client: Client, viewer, budget: Budget, spend: None) -> None:  # noqa: ANN001
    BudgetAlert.objects.create(
        budget=budget, period_start=date(2026, 11, 1), kind="actual", pct=80, actual_usd=4000, message="m"
    )
    client.force_login(viewer)
    page = client.get("/t/acme/budgets/").content.decode()
    status = budget_status(budget=budget, as_of=date(2026, 11, 15))
    assert "Team is data-science" in page
    assert "$1,500.00" in page  # 15 days of $100
    assert f"${status.forecast_usd:,.2f}" in page
    assert "On track" in page  # $1,500 spent and $3,000 forecast of $5,000
    assert "November 2026" in page
    last = BudgetAlert.objects.get(budget=budget).sent_at
    assert f"{last:%-d %b %Y %H:%M}" in page


def test_the_detail_page_has_the_chart_backtest_alerts_and_explorer_link(
    client: Client, viewer, budget: Budget, spend: None
) -> None:  # noqa: ANN001
    BudgetAlert.objects.create(
        budget=budget,
        period_start=date(2026, 11, 1),
        kind="forecast",
        pct=100,
        actual_usd=1500,
        message="m",
        deliveries=[{"channel": "Webhook: https://hooks.example.com/…oken", "ok": False, "error": "refused"}],
    )
    client.force_login(viewer)
    response = client.get(f"/t/acme/budgets/{budget.pk}/")
    page = response.content.decode()
    assert 'class="plotly-figure"' in page
    assert "This method was off by" in page and "WAPE" in page
    assert "forecast 100%" in page and "refused" in page
    link = next(part.split('"')[0] for part in page.split('href="') if "/explore/?" in part.split('"')[0])
    parsed = urlparse(link.replace("&amp;", "&"))
    assert parsed.path == "/t/acme/explore/"
    query = parse_qs(parsed.query)
    assert query["f.team"] == ["data-science"] and query["basis"] == ["allocated"]
    assert (query["start"], query["end"]) == (["2026-11-01"], ["2026-11-30"])


def test_a_budget_without_data_says_so(client: Client, viewer, budget: Budget) -> None:  # noqa: ANN001
    client.force_login(viewer)
    page = client.get(f"/t/acme/budgets/{budget.pk}/").content.decode()
    assert "No billed data yet" in page and "plotly-figure" not in page


def test_the_chart_draws_actual_forecast_band_budget_and_thresholds(budget: Budget, spend: None) -> None:
    budget.basis = "billed"
    budget.thresholds = [{"kind": "actual", "pct": 80}, {"kind": "forecast", "pct": 100}]
    status = budget_status(budget=budget, as_of=date(2026, 11, 15))
    fig = budget_chart(status)
    traces = {t.name: t for t in fig.data}
    actual = traces["Actual (cumulative)"]
    assert actual.x[0] == "2026-11-01" and actual.x[-1] == "2026-11-15"
    assert actual.y[-1] == pytest.approx(1500.0) and actual.y[0] == pytest.approx(100.0)
    forecast = traces["Forecast"]
    assert forecast.x[0] == "2026-11-15" and forecast.x[-1] == "2026-11-30"
    assert forecast.y[-1] == pytest.approx(float(status.forecast_usd))
    assert traces["Forecast band (p10-p90)"].fill == "tonexty"
    assert traces["Budget $5,000"].y == (5000.0, 5000.0)
    assert traces["80% threshold (actual)"].y == (4000.0, 4000.0)
    assert fig.layout.xaxis.range == ("2026-11-01", "2026-11-30")


def test_budgets_are_in_the_top_nav(client: Client, viewer, tenant: Tenant) -> None:  # noqa: ANN001
    client.force_login(viewer)
    assert 'href="/t/acme/budgets/">Budgets</a>' in client.get("/t/acme/budgets/").content.decode()


# --- the admin site ------------------------------------------------------------------------------------------------


def test_customer_admins_manage_their_own_tenants_budgets_in_the_admin(
    client: Client, tenant_admin, budget: Budget, other_tenant: Tenant
) -> None:  # noqa: ANN001
    theirs = budget_create(tenant=other_tenant, actor=None, name="Globex budget", amount_usd=Decimal("10"))
    client.force_login(tenant_admin)
    listing = client.get("/admin/budgets/budget/").content.decode()
    assert "Data science" in listing and "Globex budget" not in listing
    assert client.get(f"/admin/budgets/budget/{theirs.pk}/change/").status_code in (302, 404)
    response = client.post(
        "/admin/budgets/budget/add/",
        {
            "tenant": str(budget.tenant_id),
            "name": "From the admin",
            "amount_usd": "100",
            "period": "monthly",
            "basis": "allocated",
            "scope": '[{"dimension": "team", "values": ["search"]}]',
            "thresholds": '[{"kind": "actual", "pct": 90}]',
            "emails": "[]",
            "webhooks": "[]",
            "use_tenant_channels": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Budget.objects.get(name="From the admin")
    assert created.created_by == tenant_admin and created.scope[0]["exclude"] is False
    assert AuditLog.objects.filter(action="budget.created", target="From the admin").exists()
    bad = client.post(
        "/admin/budgets/budget/add/",
        {"tenant": str(budget.tenant_id), "name": "Bad", "amount_usd": "1", "period": "monthly", "basis": "billed",
         "scope": '[{"dimension": "colour", "values": ["red"]}]', "thresholds": "[]", "emails": "[]", "webhooks": "[]"},
    )  # fmt: skip
    assert bad.status_code == 200 and "unknown dimension" in bad.content.decode()


def test_budget_alerts_are_read_only_in_the_admin(client: Client, tenant_admin, budget: Budget) -> None:  # noqa: ANN001
    alert = BudgetAlert.objects.create(
        budget=budget, period_start=date(2026, 11, 1), kind="actual", pct=80, actual_usd=1, message="m"
    )
    client.force_login(tenant_admin)
    assert client.get("/admin/budgets/budgetalert/").status_code == 200
    assert client.get("/admin/budgets/budgetalert/add/").status_code == 403
    assert client.post(f"/admin/budgets/budgetalert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403


def test_entity_pages_list_the_budgets_that_name_them(client: Client, viewer, tenant: Tenant, monkeypatch) -> None:  # noqa: ANN001
    model = "anthropic.claude-opus-4-6-v1"
    bill(tenant, date(2026, 11, 1), date(2026, 11, 10), "30.00", model_id=model)
    rebuild(tenant)
    monkeypatch.setattr("budgets.selectors.today", lambda: date(2026, 11, 10))
    opus = budget_create(
        tenant=tenant, actor=None, name="Opus", amount_usd=Decimal("900"), basis="billed",
        scope=[{"dimension": "model", "values": [model, "other"]}],
    )  # fmt: skip
    budget_create(
        tenant=tenant, actor=None, name="Not Opus", amount_usd=Decimal("5"),
        scope=[{"dimension": "model", "values": [model], "exclude": True}],
    )  # fmt: skip
    budget_create(tenant=tenant, actor=None, name="Everything", amount_usd=Decimal("5"))
    from budgets.selectors import budgets_covering

    [covering] = budgets_covering(tenant=tenant, dimension="model", value=model)
    assert covering["name"] == "Opus" and covering["actual"] == Decimal("300.00")
    assert covering["link"] == f"/t/acme/budgets/{opus.pk}/"
    client.force_login(viewer)
    page = client.get(f"/t/acme/explore/entity/model/?value={model}&start=2026-11-01&end=2026-11-10").content.decode()
    assert f'href="/t/acme/budgets/{opus.pk}/">Opus</a>' in page and "Not Opus" not in page
