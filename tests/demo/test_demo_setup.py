from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from connections.models import AwsConnection, Membership, Tenant
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun


def _recommend(tenant: str) -> list[dict]:
    out = StringIO()
    call_command("recommend", "--tenant", tenant, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_demo_setup_imports_the_company_creates_logins_and_reuses_it_the_second_time(tmp_path: Path) -> None:
    out = StringIO()
    call_command("demo_setup", "--data-dir", str(tmp_path), "--end-date", "2026-11-20", "--days", "25", stdout=out)
    text = out.getvalue()

    runs = list(ImportRun.objects.order_by("id").values_list("source", "status"))
    assert runs == [
        ("cur", "succeeded"),
        ("cur", "succeeded"),
        ("invocation_logs", "succeeded"),
        ("azure_openai", "succeeded"),
        ("vertex", "succeeded"),
    ]
    first_delivery, final_delivery = ImportRun.objects.filter(source="cur").order_by("id")
    # The restated month is replaced: each row of its first delivery is either kept (re-delivered
    # identical) or removed (restated); the restatement changes some of them.
    assert final_delivery.rows_replaced > 0
    assert final_delivery.rows_replaced + final_delivery.rows_unchanged == first_delivery.rows_loaded > 0
    events = SpendEvent.objects.filter(tenant__slug="acme")
    assert events.filter(record_kind="billed_line").exists() and events.filter(record_kind="request").exists()
    assert events.order_by("-usage_date").values_list("usage_date", flat=True).first() == date(2026, 11, 20)
    # The second provider: Azure OpenAI bill lines over the same dates and teams as the Bedrock traffic.
    azure = events.filter(source="azure_openai", record_kind="billed_line")
    assert azure.filter(usage_date=date(2026, 10, 27)).exists() and azure.filter(usage_date=date(2026, 11, 20)).exists()
    assert set(azure.values_list("team", flat=True)) <= set(
        events.filter(source="bedrock").values_list("team", flat=True)
    )
    assert (
        not azure.filter(model_id="").exists()
        or azure.filter(model_id="", unpriced=True).count() == azure.filter(model_id="").count()
    )
    # The third: Vertex AI bill lines (Gemini and Claude on Vertex), every one priced, on the same dates and teams.
    vertex = events.filter(source="vertex", record_kind="billed_line")
    assert (
        vertex.filter(usage_date=date(2026, 10, 27)).exists() and vertex.filter(usage_date=date(2026, 11, 20)).exists()
    )
    assert set(vertex.values_list("team", flat=True)) <= set(
        events.filter(source="bedrock").values_list("team", flat=True)
    )
    assert not vertex.filter(unpriced=True).exists() and not vertex.filter(model_id="").exists()
    assert set(events.values_list("source", flat=True).distinct()) == {"bedrock", "azure_openai", "vertex"}
    users = get_user_model().objects
    assert users.get(username="staff").is_staff
    admin = users.get(username="acme-admin")
    assert not admin.is_staff
    assert Membership.objects.get(user=admin).role == Membership.Role.ADMIN
    assert "staff / staff-demo-pass" in text and "acme-admin / acme-demo-pass" in text
    assert AwsConnection.objects.get(tenant__slug="acme").status == AwsConnection.Status.PENDING
    # two sample budgets, so the budgets page has something to show
    from budgets.models import Budget

    assert sorted(Budget.objects.filter(tenant__slug="acme").values_list("name", flat=True)) == [
        "Claude Opus 4.6",
        "Data science",
    ]

    # Each of the six planted stories is a card (the runaway loop as an anomaly of that type).
    kinds = {(c["kind"], c["anomaly_type"]) for c in _recommend("acme")}
    assert {
        ("anomaly", "runaway_loop"),
        ("model_routing", ""),
        ("prompt_caching", ""),
        ("provisioned_idle", ""),
        ("deprecated_model", ""),
        ("restatement", ""),
    } <= kinds

    count = events.count()
    again = StringIO()
    call_command("demo_setup", "--data-dir", str(tmp_path), stdout=again)
    assert "reusing it" in again.getvalue() and "skipping the import" in again.getvalue()
    assert events.count() == count
    assert ImportRun.objects.count() == 5
    assert AwsConnection.objects.count() == 1
    assert Budget.objects.count() == 2


@pytest.mark.django_db
def test_demo_setup_healthy_sets_up_a_second_tenant_and_leaves_the_story_full_demo_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    args = ("--data-dir", str(data_dir), "--end-date", "2026-11-20", "--days", "12")
    call_command("demo_setup", *args, stdout=StringIO())
    marker = (data_dir / ".demo-complete.json").read_text()
    acme = SpendEvent.objects.filter(tenant__slug="acme")
    acme_count = acme.count()
    runs_before = ImportRun.objects.count()

    out = StringIO()
    # 25 days hold a complete month (2026-10), which the story-full company would deliver twice.
    call_command(
        "demo_setup", "--data-dir", str(data_dir), "--end-date", "2026-11-20", "--days", "25", "--healthy", stdout=out
    )
    text = out.getvalue()

    assert (data_dir / ".demo-complete.json").read_text() == marker  # the story-full data is untouched
    assert acme.count() == acme_count
    healthy_dir = tmp_path / "demo-data-healthy"
    assert json.loads((healthy_dir / ".demo-complete.json").read_text())["stories"] is False
    assert not (healthy_dir / "cur-first-delivery").exists()
    tenant = Tenant.objects.get(slug="acme-healthy")
    assert tenant.name == "Acme Corp (healthy demo)"
    runs = list(ImportRun.objects.order_by("id").values_list("source", "status"))[runs_before:]
    # one CUR delivery (no restatement), the logs, the other two platforms
    assert runs == [
        ("cur", "succeeded"),
        ("invocation_logs", "succeeded"),
        ("azure_openai", "succeeded"),
        ("vertex", "succeeded"),
    ]
    events = SpendEvent.objects.filter(tenant=tenant)
    assert events.filter(record_kind="billed_line").exists() and events.filter(record_kind="request").exists()
    assert not events.filter(record_kind="billed_line").exclude(line_item_type="Usage").exists()
    admin = get_user_model().objects.get(username="acme-healthy-admin")
    assert list(Membership.objects.filter(user=admin).values_list("tenant__slug", "role")) == [
        ("acme-healthy", Membership.Role.ADMIN)
    ]
    assert list(Membership.objects.filter(user__username="acme-admin").values_list("tenant__slug", flat=True)) == [
        "acme"
    ]
    assert "acme-healthy-admin / acme-healthy-demo-pass" in text
    assert AwsConnection.objects.filter(tenant=tenant).count() == 1

    # The healthy company gives the recommenders nothing to say.
    assert _recommend("acme-healthy") == []

    again = StringIO()
    call_command("demo_setup", "--data-dir", str(data_dir), "--healthy", stdout=again)
    assert "reusing it" in again.getvalue() and "skipping the import" in again.getvalue()
    # Pointing the story-full command at the healthy data is refused rather than mixing the two.
    with pytest.raises(CommandError, match="without stories"):
        call_command("demo_setup", "--data-dir", str(healthy_dir), stdout=StringIO())
