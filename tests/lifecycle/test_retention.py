from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Budget, BudgetAlert
from connections.models import AuditLog, AwsConnection, Tenant
from connections.services import audit_log_record
from finops.ledger.models import SpendDaily, SpendEvent
from finops.ledger.rollups import rollup_check
from ingestion.models import ImportRun, SyncRun
from inventory.models import InferenceProfile
from lifecycle.cutoffs import months_before, retention_cutoff
from lifecycle.purge import ledger_delete
from lifecycle.services import retention_purge, retention_purge_all
from recommendations.models import Recommendation
from tests.lifecycle.conftest import CUTOFF_12, TODAY, Row, backdate

OLD = datetime(2025, 5, 20, tzinfo=UTC)  # before the 12-month cut-off
RECENT = datetime(2026, 1, 10, tzinfo=UTC)


def _cutoff_by_hand(today: date, months: int) -> date:
    year, month = today.year, today.month
    for _ in range(months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return date(year, month, 1)


def test_the_cut_off_keeps_the_current_month_and_the_retention_before_it() -> None:
    assert retention_cutoff(today=date(2026, 6, 15), months=12) == date(2025, 6, 1)
    assert retention_cutoff(today=date(2026, 1, 31), months=1) == date(2025, 12, 1)
    assert months_before(date(2026, 3, 1), 84) == date(2019, 3, 1)
    assert months_before(date(2026, 3, 9), 0) == date(2026, 3, 1)


def test_retention_removes_exactly_the_billing_months_before_the_cut_off(
    tenant: Tenant, other_tenant: Tenant, ledgers: dict[str, list[Row]]
) -> None:
    ours, theirs = ledgers[tenant.slug], ledgers[other_tenant.slug]
    expected_gone = sum(1 for r in ours if r.billing_period < CUTOFF_12)
    assert expected_gone == 5 * 6  # Jan-May 2025, six rows a month; the late May line is billed in June
    their_cells = list(SpendDaily.objects.filter(tenant=other_tenant).order_by("id").values())

    result = retention_purge(tenant=tenant, today=TODAY)

    assert result.cutoff == CUTOFF_12
    assert result.counts["ledger_rows"] == expected_gone
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ours) - expected_gone
    assert not SpendEvent.objects.filter(tenant=tenant, billing_period__lt=CUTOFF_12).exists()
    # the late line (usage 31 May, billed in June) is kept: retention goes by billing month
    assert SpendEvent.objects.filter(tenant=tenant, usage_date=date(2025, 5, 31)).count() == 1
    assert rollup_check(tenant_id=tenant.pk) == []
    assert not SpendDaily.objects.filter(tenant=tenant, billing_period__lt=CUTOFF_12).exists()
    call_command("rebuild_rollup", tenant=tenant.slug, check=True, stdout=StringIO())
    # the other tenant: every row and cell as it was
    assert SpendEvent.objects.filter(tenant=other_tenant).count() == len(theirs)
    assert list(SpendDaily.objects.filter(tenant=other_tenant).order_by("id").values()) == their_cells


def test_a_purge_is_audited_with_its_counts_and_an_empty_one_is_not(tenant: Tenant, ledgers: dict) -> None:
    first = retention_purge(tenant=tenant, today=TODAY)
    entry = AuditLog.objects.get(tenant=tenant, action="lifecycle.retention_purged")
    assert entry.details["counts"] == first.counts
    assert entry.details["cutoff"] == "2025-06-01"
    assert entry.details["counts"]["ledger_rows"] == 30

    second = retention_purge(tenant=tenant, today=TODAY)
    assert second.total == 0
    assert AuditLog.objects.filter(tenant=tenant, action="lifecycle.retention_purged").count() == 1


def test_a_dry_run_deletes_nothing_and_counts_what_the_purge_then_deletes(tenant: Tenant, ledgers: dict) -> None:
    rows, cells = SpendEvent.objects.count(), SpendDaily.objects.count()
    dry = retention_purge(tenant=tenant, today=TODAY, dry_run=True)
    assert (SpendEvent.objects.count(), SpendDaily.objects.count()) == (rows, cells)
    assert not AuditLog.objects.filter(action="lifecycle.retention_purged").exists()
    real = retention_purge(tenant=tenant, today=TODAY)
    assert dry.counts == real.counts
    assert dry.counts["ledger_rows"] == 30


def test_ledger_rows_go_in_batches_one_month_at_a_time(tenant: Tenant, ledgers: dict) -> None:
    """5 expired months of 6 rows, batches of 4: two DELETEs a month (4 + 2), each in its own transaction."""
    from django.db.models import Q

    with CaptureQueriesContext(connection) as queries:
        counts = ledger_delete(tenant_id=tenant.pk, condition=Q(billing_period__lt=CUTOFF_12), batch=4)
    ledger_deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "ai_spend_events"')]
    assert counts["ledger_rows"] == 30
    assert len(ledger_deletes) == 5 * 2
    assert rollup_check(tenant_id=tenant.pk) == []


def test_dated_records_older_than_the_cut_off_go_and_newer_ones_stay(tenant: Tenant, other_tenant: Tenant) -> None:
    conn = AwsConnection.objects.create(tenant=tenant, name="prod", account_id="111122223333")
    their_conn = AwsConnection.objects.create(tenant=other_tenant, name="prod", account_id="444455556666")
    # import runs: an old one whose rows are gone, an old one still named by a kept row, a recent one
    old_run_no_rows = ImportRun.objects.create(tenant=tenant, source="cur", status="succeeded")
    old_run_kept_rows = ImportRun.objects.create(tenant=tenant, source="cur", status="succeeded")
    recent_run = ImportRun.objects.create(tenant=tenant, source="cur", status="succeeded")
    their_run = ImportRun.objects.create(tenant=other_tenant, source="cur", status="succeeded")
    backdate(ImportRun.objects.exclude(pk=recent_run.pk), started_at=OLD)
    from tests.factories import billed_line

    billed_line(tenant, cost="1", day=date(2025, 7, 1), import_run=old_run_kept_rows)
    run = {"source": "cur", "account_id": "1", "status": "succeeded"}
    sync_old = SyncRun.objects.create(tenant=tenant, connection=conn, sync_id="a", **run)
    sync_new = SyncRun.objects.create(tenant=tenant, connection=conn, sync_id="b", **run)
    SyncRun.objects.create(tenant=other_tenant, connection=their_conn, sync_id="c", **run)
    backdate(SyncRun.objects.exclude(pk=sync_new.pk), started_at=OLD)
    card_old = Recommendation.objects.create(tenant=tenant, kind="anomaly", fingerprint="old", title="old")
    card_new = Recommendation.objects.create(tenant=tenant, kind="anomaly", fingerprint="new", title="new")
    Recommendation.objects.create(tenant=other_tenant, kind="anomaly", fingerprint="old", title="theirs")
    backdate(Recommendation.objects.exclude(pk=card_new.pk), last_seen_at=OLD)
    budget = Budget.objects.create(tenant=tenant, name="All", amount_usd=Decimal(100))
    for start in (date(2025, 5, 1), date(2025, 6, 1)):
        BudgetAlert.objects.create(
            budget=budget, period_start=start, kind="actual", pct=80, actual_usd=Decimal(80), message="m"
        )
    profile = {"account_id": "1", "region": "us-east-1", "last_seen_at": OLD, "arn": "arn:p", "name": "p"}
    gone = InferenceProfile.objects.create(tenant=tenant, connection=conn, gone_at=OLD, **profile)
    present = InferenceProfile.objects.create(tenant=tenant, connection=conn, **{**profile, "arn": "arn:q"})

    result = retention_purge(tenant=tenant, today=TODAY)

    assert result.counts["import_runs"] == 1 and not ImportRun.objects.filter(pk=old_run_no_rows.pk).exists()
    assert set(ImportRun.objects.values_list("pk", flat=True)) == {old_run_kept_rows.pk, recent_run.pk, their_run.pk}
    assert result.counts["sync_runs"] == 1 and not SyncRun.objects.filter(pk=sync_old.pk).exists()
    assert SyncRun.objects.count() == 2
    assert result.counts["recommendations"] == 1 and not Recommendation.objects.filter(pk=card_old.pk).exists()
    assert Recommendation.objects.count() == 2
    assert list(BudgetAlert.objects.values_list("period_start", flat=True)) == [date(2025, 6, 1)]
    assert Budget.objects.filter(pk=budget.pk).exists()
    assert result.counts["inventory_items"] == 1
    assert list(InferenceProfile.objects.values_list("pk", flat=True)) == [present.pk]
    assert gone.pk != present.pk


def test_the_audit_log_keeps_its_own_longer_retention(tenant: Tenant, settings) -> None:  # noqa: ANN001
    settings.AUDIT_RETENTION_MONTHS = 24  # cut-off 2024-06-01
    very_old = audit_log_record(tenant=tenant, action="x.very_old")
    old = audit_log_record(tenant=tenant, action="x.old")  # older than the data retention, within the audit's
    system = audit_log_record(tenant=None, action="x.system_very_old")
    backdate(AuditLog.objects.filter(pk__in=[very_old.pk, system.pk]), created_at=datetime(2024, 5, 31, tzinfo=UTC))
    backdate(AuditLog.objects.filter(pk=old.pk), created_at=OLD)

    results, system_removed = retention_purge_all(today=TODAY)

    assert results[0].counts["audit_entries"] == 1
    assert system_removed == 1
    assert not AuditLog.objects.filter(pk__in=[very_old.pk, system.pk]).exists()
    assert AuditLog.objects.filter(pk=old.pk).exists()
    assert AuditLog.objects.filter(tenant=None, action="lifecycle.audit_purged").exists()


def test_the_command_dry_run_in_json(tenant: Tenant, other_tenant: Tenant, ledgers: dict) -> None:
    out = StringIO()
    call_command("purge_expired_data", "--tenant", tenant.slug, "--dry-run", "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["dry_run"] is True
    assert [t["tenant"] for t in payload["tenants"]] == [tenant.slug]
    cutoff = _cutoff_by_hand(datetime.now(UTC).date(), 12)  # the command uses the real date
    expected = sum(1 for r in ledgers[tenant.slug] if r.billing_period < cutoff)
    assert payload["tenants"][0]["counts"]["ledger_rows"] == expected
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers[tenant.slug])


def test_the_command_purges_every_tenant_by_its_own_retention(
    tenant: Tenant, other_tenant: Tenant, ledgers: dict
) -> None:
    Tenant.objects.filter(pk=other_tenant.pk).update(retention_months=3)
    out = StringIO()
    call_command("purge_expired_data", stdout=out)
    today = datetime.now(UTC).date()
    # The command uses the real date: recompute each cut-off by hand from it.
    for t, months in ((tenant, 12), (other_tenant, 3)):
        cutoff = _cutoff_by_hand(today, months)
        expected = sum(1 for r in ledgers[t.slug] if r.billing_period >= cutoff)
        assert SpendEvent.objects.filter(tenant=t).count() == expected
        assert rollup_check(tenant_id=t.pk) == []
    assert "keeps 3 months" in out.getvalue()


def test_the_nightly_schedule_runs_the_purge_task() -> None:
    from django.utils.module_loading import import_string

    from ingestion.management.commands.setup_schedules import SCHEDULES

    spec = next(s for s in SCHEDULES if s["name"] == "purge-expired-data-nightly")
    assert spec["func"] == "lifecycle.tasks.purge_expired_data"
    assert callable(import_string(spec["func"]))


@pytest.mark.postgres
def test_on_postgresql_the_purge_keeps_the_rollup_equal_to_the_ledger(tenant: Tenant, ledgers: dict) -> None:
    assert connection.vendor == "postgresql"
    retention_purge(tenant=tenant, today=TODAY)
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers[tenant.slug]) - 30
    assert rollup_check(tenant_id=tenant.pk) == []


def test_one_tenants_failure_does_not_stop_the_others(
    tenant: Tenant, other_tenant: Tenant, ledgers: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lifecycle.services

    real = lifecycle.services.scope_delete

    def failing_for_acme(scope, **kwargs):  # noqa: ANN001, ANN003, ANN202
        if scope.tenant.slug == "acme":
            raise RuntimeError("disk full")
        return real(scope, **kwargs)

    monkeypatch.setattr(lifecycle.services, "scope_delete", failing_for_acme)
    with pytest.raises(CommandError, match="failed for acme"):
        call_command("purge_expired_data", stdout=StringIO())
    assert SpendEvent.objects.filter(tenant=tenant).count() == len(ledgers["acme"])
    assert SpendEvent.objects.filter(tenant=other_tenant).count() < len(ledgers["globex"])


def test_the_nightly_task_returns_a_summary(tenant: Tenant, ledgers: dict) -> None:
    from lifecycle.tasks import purge_expired_data

    summary = purge_expired_data()
    cutoff = _cutoff_by_hand(datetime.now(UTC).date(), 12)
    expected = sum(1 for r in ledgers["acme"] if r.billing_period < cutoff)
    assert summary["tenants_purged"]["acme"]["ledger_rows"] == expected
    assert summary["deletions_executed"] == [] and summary["failed_tenants"] == []
