from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from connections.models import AwsConnection, Membership
from finops.ledger.models import SpendEvent
from ingestion.models import ImportRun


@pytest.mark.django_db
def test_demo_setup_imports_the_company_creates_logins_and_reuses_it_the_second_time(tmp_path: Path) -> None:
    out = StringIO()
    call_command("demo_setup", "--data-dir", str(tmp_path), "--end-date", "2026-11-20", "--days", "25", stdout=out)
    text = out.getvalue()

    runs = list(ImportRun.objects.order_by("id").values_list("source", "status"))
    assert runs == [("cur", "succeeded"), ("cur", "succeeded"), ("invocation_logs", "succeeded")]
    first_delivery, final_delivery = ImportRun.objects.filter(source="cur").order_by("id")
    # The restated month is replaced: each row of its first delivery is either kept (re-delivered
    # identical) or removed (restated); the restatement changes some of them.
    assert final_delivery.rows_replaced > 0
    assert final_delivery.rows_replaced + final_delivery.rows_unchanged == first_delivery.rows_loaded > 0
    events = SpendEvent.objects.filter(tenant__slug="acme")
    assert events.filter(record_kind="billed_line").exists() and events.filter(record_kind="request").exists()
    assert events.order_by("-usage_date").values_list("usage_date", flat=True).first() == date(2026, 11, 20)
    users = get_user_model().objects
    assert users.get(username="staff").is_staff
    admin = users.get(username="acme-admin")
    assert not admin.is_staff
    assert Membership.objects.get(user=admin).role == Membership.Role.ADMIN
    assert "staff / staff-demo-pass" in text and "acme-admin / acme-demo-pass" in text
    assert AwsConnection.objects.get(tenant__slug="acme").status == AwsConnection.Status.PENDING

    count = events.count()
    again = StringIO()
    call_command("demo_setup", "--data-dir", str(tmp_path), stdout=again)
    assert "reusing it" in again.getvalue() and "skipping the import" in again.getvalue()
    assert events.count() == count
    assert ImportRun.objects.count() == 3
    assert AwsConnection.objects.count() == 1
