"""create_budget and evaluate_budgets, as the issue spells them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from budgets.models import Budget
from connections.models import AuditLog, Tenant
from tests.budgets.conftest import bill, raw_billed, rebuild


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_budget_takes_every_flag(tenant: Tenant) -> None:
    out = run(
        "create_budget", "--tenant", "acme", "--name", "Search", "--amount", "5000", "--period", "quarterly",
        "--filter", "team=search,ads", "--filter", "model!=anthropic.claude-opus-4-6-v1", "--filter", "user=(none)",
        "--threshold", "actual:50", "--threshold", "forecast:90%",
        "--email", "lead@example.com", "--webhook", "https://hooks.example.com/x",
    )  # fmt: skip
    budget = Budget.objects.get(tenant=tenant, name="Search")
    assert budget.amount_usd == Decimal("5000") and budget.period == "quarterly" and budget.basis == "allocated"
    assert budget.scope == [
        {"dimension": "team", "values": ["search", "ads"], "exclude": False},
        {"dimension": "model", "values": ["anthropic.claude-opus-4-6-v1"], "exclude": True},
        {"dimension": "user", "values": [""], "exclude": False},
    ]
    assert budget.thresholds == [{"kind": "actual", "pct": 50}, {"kind": "forecast", "pct": 90}]
    assert budget.emails == ["lead@example.com"] and budget.webhooks == ["https://hooks.example.com/x"]
    assert budget.use_tenant_channels is True
    assert f"Created budget {budget.pk}" in out and "Team is search, ads" in out
    assert AuditLog.objects.filter(tenant=tenant, action="budget.created", target="Search").exists()


def test_create_budget_defaults_to_monthly_with_the_default_thresholds(tenant: Tenant) -> None:
    run("create_budget", "--tenant", "acme", "--name", "All", "--amount", "$1,200.50")
    budget = Budget.objects.get(tenant=tenant, name="All")
    assert budget.period == "monthly" and budget.amount_usd == Decimal("1200.50") and budget.scope == []
    assert budget.thresholds == [
        {"kind": "actual", "pct": 80},
        {"kind": "actual", "pct": 100},
        {"kind": "forecast", "pct": 100},
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "--name", "x", "--amount", "1"], "No tenant 'nope'"),
        (["--tenant", "acme", "--name", "x", "--amount", "lots"], "is not a number of dollars"),
        (["--tenant", "acme", "--name", "x", "--amount", "0"], "--amount: The amount must be more than $0."),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--filter", "colour=red"], "unknown dimension 'colour'"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--filter", "month=2026-11"], "time bucket"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--filter", "team"], "use DIM=VALUE or DIM!=VALUE"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--threshold", "actual:lots"], "actual:PCT"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--threshold", "budget:80"], "use actual or forecast"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--email", "not-an-email"], "is not an email address"),
        (["--tenant", "acme", "--name", "x", "--amount", "1", "--webhook", "http://hooks.example.com"], "https"),
    ],
)
def test_create_budget_errors_say_what_to_fix(tenant: Tenant, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("$", r"\$")):
        run("create_budget", *args)
    assert not Budget.objects.exists()


def test_create_budget_refuses_a_second_budget_of_the_same_name(tenant: Tenant) -> None:
    run("create_budget", "--tenant", "acme", "--name", "Search", "--amount", "10")
    with pytest.raises(CommandError, match="already has a budget with this name"):
        run("create_budget", "--tenant", "acme", "--name", "Search", "--amount", "20")


@pytest.fixture
def two_budgets(tenant: Tenant) -> None:
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "100.00", team="search")
    bill(tenant, date(2026, 9, 1), date(2026, 11, 15), "40.00", team="ads")
    rebuild(tenant)
    run("create_budget", "--tenant", "acme", "--name", "Search", "--amount", "2000", "--basis", "billed",
        "--filter", "team=search", "--email", "lead@example.com")  # fmt: skip
    run("create_budget", "--tenant", "acme", "--name", "Not search", "--amount", "100000", "--basis", "billed",
        "--filter", "team!=search")  # fmt: skip


def test_evaluate_budgets_prints_each_budget_as_json(tenant: Tenant, two_budgets: None) -> None:
    rows = json.loads(run("evaluate_budgets", "--tenant", "acme", "--as-of", "2026-11-12", "--format", "json"))
    assert [r["name"] for r in rows] == ["Not search", "Search"]
    fields = {"budget_id", "name", "period_start", "period_end", "amount_usd", "actual_usd", "forecast_usd",
              "forecast_low_usd", "forecast_high_usd", "thresholds_crossed", "alerts_sent"}  # fmt: skip
    assert all(fields <= set(r) for r in rows)
    search = rows[1]
    assert search["budget_id"] == Budget.objects.get(name="Search").pk
    assert (search["period_start"], search["period_end"]) == ("2026-11-01", "2026-11-30")
    expected = raw_billed(tenant, date(2026, 11, 1), date(2026, 11, 12), team="search")
    assert Decimal(search["actual_usd"]) == expected
    assert Decimal(rows[0]["actual_usd"]) == raw_billed(tenant, date(2026, 11, 1), date(2026, 11, 12), team="ads")
    assert (
        Decimal(search["forecast_low_usd"]) <= Decimal(search["forecast_usd"]) <= Decimal(search["forecast_high_usd"])
    )
    assert search["thresholds_crossed"] == [{"kind": "forecast", "pct": 100}]
    assert [(a["kind"], a["pct"]) for a in search["alerts_sent"]] == [("forecast", 100)]
    assert search["alerts_sent"][0]["deliveries"][0]["channel"] == "Email: lead@example.com"
    again = json.loads(run("evaluate_budgets", "--tenant", "acme", "--as-of", "2026-11-12", "--format", "json"))
    assert again[1]["alerts_sent"] == [] and again[1]["thresholds_crossed"] == search["thresholds_crossed"]


def test_evaluate_budgets_prints_a_table(tenant: Tenant, two_budgets: None) -> None:
    out = run("evaluate_budgets", "--tenant", "acme", "--as-of", "2026-11-12")
    header, *lines = out.strip().splitlines()
    assert header.split()[:3] == ["id", "budget", "period"]
    search = next(line for line in lines if " Search " in line)
    assert "$2,000.00" in search and "$1,200.00" in search and "forecast 100%" in search


def test_evaluate_budgets_errors(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match="No tenant"):
        run("evaluate_budgets", "--tenant", "nope")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("evaluate_budgets", "--tenant", "acme", "--as-of", "12/11/2026")
    assert "has no budgets" in run("evaluate_budgets", "--tenant", "acme")
