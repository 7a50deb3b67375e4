"""The sync orchestrator with stand-in sources (the real ones have their own tests): each source degrades
alone, a member account without its role fails alone, one sync per connection at a time, a killed sync
resumes from its watermark, silent logs are red, every sync is audited; the command and the schedules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import boto3
import pytest
from django.core.management import CommandError, call_command

from connections import aws
from connections.models import AuditLog, AwsConnection, MemberAccount, Tenant
from ingestion.models import SyncRun, SyncState
from ingestion.sync import services
from ingestion.sync.base import SourceResult, Target
from ingestion.sync.lock import sync_lock_acquire, sync_lock_release
from tests.factories import ledger_row

UNTIL = datetime(2026, 11, 20, 12, tzinfo=UTC)
CALLS: list[tuple[str, str, str, dict]] = []


def fake_source(name: str, *, fail: bool = False, crash_after: int | None = None):  # noqa: ANN201
    """A source that 'loads' one batch per day from its watermark (or since) to until."""

    def run(target: Target, *, watermark: dict, since: datetime, until: datetime, checkpoint, say) -> SourceResult:  # noqa: ANN001
        CALLS.append((name, target.account_id, target.region, dict(watermark)))
        if fail:
            return SourceResult.failed(f"{name} is broken", f"fix {name}", watermark)
        start = max(since, datetime.fromisoformat(watermark["last"])) if watermark.get("last") else since
        hours, position = 0, start
        while position + timedelta(days=1) <= until:
            position += timedelta(days=1)
            hours += 1
            checkpoint({"last": position.isoformat()})
            if crash_after is not None and hours >= crash_after:
                raise KeyboardInterrupt("killed")  # not an Exception: like a killed process, nothing catches it
        return SourceResult(items_fetched=hours, rows_loaded=hours, watermark={"last": position.isoformat()})

    return run


@pytest.fixture
def connection(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> AwsConnection:
    CALLS.clear()
    for name in services.ORDER:
        monkeypatch.setattr(f"tests.sync.test_orchestrator.SOURCE_{name}", fake_source(name), raising=False)
    monkeypatch.setattr(services, "SOURCES", {n: f"tests.sync.test_orchestrator.SOURCE_{n}" for n in services.ORDER})
    return AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id="111122223333", regions=["us-east-1", "eu-west-1"],
        role_arn="arn:aws:iam::111122223333:role/BedrockFinOps", status="connected",
    )  # fmt: skip


def session(_: AwsConnection) -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1")


def run_sync(connection: AwsConnection, **kwargs: Any) -> services.SyncReport:
    return services.sync_connection(connection, until=kwargs.pop("until", UNTIL), session_factory=session, **kwargs)


def test_every_source_runs_per_account_and_region_from_a_90_day_backfill(connection: AwsConnection) -> None:
    report = run_sync(connection)
    assert [(r.source, r.region) for r in report.runs] == [
        ("inventory", "us-east-1"), ("inventory", "eu-west-1"), ("cur", ""),
        ("logs", "us-east-1"), ("logs", "eu-west-1"), ("metrics", "us-east-1"), ("metrics", "eu-west-1"),
    ]  # fmt: skip
    assert all(r.status == "succeeded" and r.rows_loaded == 90 for r in report.runs)
    state = SyncState.objects.get(connection=connection, source="logs", region="eu-west-1")
    assert state.watermark == {"last": UNTIL.isoformat()}
    assert AuditLog.objects.filter(action="connection.synced", details__sync_id=report.sync_id).exists()

    # the next sync starts at the watermark: only the new hours
    later = run_sync(connection, sources=["logs"], until=UNTIL + timedelta(days=3))
    assert [r.rows_loaded for r in later.runs] == [3, 3]
    assert later.runs[0].watermark_before == {"last": UNTIL.isoformat()}


def test_a_failing_source_degrades_alone(connection: AwsConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.sync.test_orchestrator.SOURCE_logs", fake_source("logs", fail=True), raising=False)

    def broken(*args: Any, **kwargs: Any) -> SourceResult:
        raise ValueError("a bug")

    monkeypatch.setattr("tests.sync.test_orchestrator.SOURCE_inventory", broken, raising=False)
    report = run_sync(connection)
    status = {(r.source, r.region): r.status for r in report.runs}
    assert status[("logs", "us-east-1")] == "failed" and status[("inventory", "eu-west-1")] == "failed"
    assert status[("cur", "")] == "succeeded" and status[("metrics", "us-east-1")] == "succeeded"
    logs = next(r for r in report.runs if r.source == "logs")
    assert (logs.error, logs.remedy) == ("logs is broken", "fix logs")
    assert "ValueError: a bug" in next(r for r in report.runs if r.source == "inventory").error
    assert not report.all_failed


def test_a_role_that_cannot_be_assumed_fails_every_source_with_the_remedy(connection: AwsConnection) -> None:
    def denied(_: AwsConnection) -> boto3.session.Session:
        raise aws.AwsError("AccessDenied", "not authorized to perform sts:AssumeRole", "sts:AssumeRole")

    report = services.sync_connection(connection, until=UNTIL, session_factory=denied)
    assert report.all_failed and {r.status for r in report.runs} == {"failed"}
    assert "ExternalId" in report.runs[0].remedy and CALLS == []


def test_a_member_account_without_its_role_fails_alone(connection: AwsConnection, monkeypatch: pytest.MonkeyPatch):
    connection.mode = AwsConnection.Mode.ORGANIZATION
    connection.member_role_name = "BedrockFinOpsMember"
    connection.regions = ["us-east-1"]
    connection.save()
    for account in ("444455556666", "777788889999"):
        MemberAccount.objects.create(connection=connection, account_id=account)

    def assume_member(conn: AwsConnection, account_id: str, *, session: Any = None, now: Any = None) -> Any:
        if account_id == "777788889999":
            raise aws.AwsError("AccessDenied", "no such role", "sts:AssumeRole")
        return session

    monkeypatch.setattr(aws, "assume_member_role", assume_member)
    report = run_sync(connection, sources=["metrics"])
    status = {r.account_id: r.status for r in report.runs}
    assert status == {"111122223333": "succeeded", "444455556666": "succeeded", "777788889999": "failed"}
    failed = next(r for r in report.runs if r.account_id == "777788889999")
    assert "777788889999" in failed.remedy and "BedrockFinOpsMember" in failed.remedy


def test_two_syncs_of_one_connection_never_run_at_once(connection: AwsConnection) -> None:
    assert sync_lock_acquire(connection, "another-host:1:1")
    with pytest.raises(services.SyncBusy, match="already running"):
        run_sync(connection)
    sync_lock_release(connection, "another-host:1:1")
    assert run_sync(connection, sources=["cur"]).runs[0].status == "succeeded"
    # a lease whose holder died expires: the next sync takes it
    assert sync_lock_acquire(connection, "dead-host:1:1", lease=timedelta(seconds=-1))
    assert run_sync(connection, sources=["cur"]).runs[0].status == "succeeded"


def test_a_killed_sync_resumes_from_its_watermark(connection: AwsConnection, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("tests.sync.test_orchestrator.SOURCE_cur", fake_source("cur", crash_after=5), raising=False)
    with pytest.raises(KeyboardInterrupt):
        run_sync(connection, sources=["cur"])
    state = SyncState.objects.get(connection=connection, source="cur")
    first = UNTIL - timedelta(days=90)
    assert state.watermark == {"last": (first + timedelta(days=5)).isoformat()}
    run = SyncRun.objects.get(connection=connection, source="cur")
    assert run.status == "running"  # as a killed process leaves it

    monkeypatch.setattr("tests.sync.test_orchestrator.SOURCE_cur", fake_source("cur"), raising=False)
    monkeypatch.setattr(services, "process_alive", lambda token: False)
    report = run_sync(connection, sources=["cur"])
    run.refresh_from_db()
    assert run.status == "interrupted"
    assert report.runs[0].rows_loaded == 90 - 5  # nothing loaded twice, nothing skipped


def test_logs_that_find_nothing_while_metrics_count_invocations_are_red(connection: AwsConnection) -> None:
    for hour in range(3):
        start = UNTIL - timedelta(hours=hour + 2)
        ledger_row(
            tenant=connection.tenant, record_kind="metric", dedupe_key=f"m{hour}", usage_start=start, usage_end=start,
            usage_date=start.date(), billing_period=date(2026, 11, 1), account_id="111122223333",
            region="us-east-1", requests=40,
        )  # fmt: skip
    report = run_sync(connection, sources=["logs"])
    status = {r.region: r for r in report.runs}
    assert status["us-east-1"].status == "failed" and "120 invocations" in status["us-east-1"].error
    assert status["us-east-1"].remedy
    assert status["eu-west-1"].status == "succeeded"  # no invocations there either


def test_the_command_prints_each_run_and_exits_1_only_when_everything_failed(connection: AwsConnection, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(services.aws, "assume_connection_role", lambda c: session(c))
    out = StringIO()
    call_command("sync_connection", "prod", "--sources", "cur,logs", "--until", "2026-11-19", stdout=out)
    text = out.getvalue()
    assert "cur        111122223333  -               Succeeded" in text
    assert text.count("Succeeded") >= 3

    out = StringIO()
    call_command("sync_connection", str(connection.pk), "--sources", "cur", "--format", "json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["runs"][0]["source"] == "cur" and data["all_failed"] is False

    monkeypatch.setattr("tests.sync.test_orchestrator.SOURCE_cur", fake_source("cur", fail=True), raising=False)
    with pytest.raises(SystemExit) as exited:
        call_command("sync_connection", "acme/prod", "--sources", "cur", stdout=StringIO())
    assert exited.value.code == 1
    with pytest.raises(CommandError, match="use a comma-separated list"):
        call_command("sync_connection", "prod", "--sources", "bills")
    with pytest.raises(CommandError, match="No connection"):
        call_command("sync_connection", "nope")


def test_a_paused_connection_does_not_sync(connection: AwsConnection) -> None:
    connection.status = AwsConnection.Status.PAUSED
    connection.save()
    with pytest.raises(ValueError, match="paused"):
        run_sync(connection)


def test_the_schedules_are_declared_once(db: None) -> None:
    from django_q.models import Schedule

    for _ in range(2):
        call_command("schedule_syncs", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())
    funcs = dict(Schedule.objects.values_list("func", "schedule_type"))
    assert funcs["ingestion.tasks.sync_logs_and_metrics"] == Schedule.HOURLY
    assert funcs["ingestion.tasks.sync_inventory"] == Schedule.DAILY
    cur = Schedule.objects.get(func="ingestion.tasks.sync_cur")
    assert (cur.schedule_type, cur.minutes) == (Schedule.MINUTES, 360)
    assert Schedule.objects.count() == len(set(Schedule.objects.values_list("name", flat=True)))


def test_the_schedule_queues_one_sync_per_validated_connection(connection: AwsConnection, monkeypatch) -> None:  # noqa: ANN001
    from ingestion import tasks

    AwsConnection.objects.create(tenant=connection.tenant, name="new", account_id="999988887777")  # pending
    queued: list[tuple] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: queued.append(args))
    assert tasks.sync_logs_and_metrics() == {"queued": 1, "sources": ["logs", "metrics"]}
    assert queued == [("ingestion.tasks.sync_connection_task", connection.pk, ["logs", "metrics"], "schedule")]

    monkeypatch.setattr(services.aws, "assume_connection_role", lambda c: session(c))
    result = tasks.sync_connection_task(connection.pk, ["cur"], "schedule")
    assert result["rows_loaded"] == SyncRun.objects.get(sync_id=result["sync_id"]).rows_loaded > 0
    assert sync_lock_acquire(connection, "busy:1:1")
    assert "already running" in tasks.sync_connection_task(connection.pk, ["cur"])["skipped"]


def test_a_first_green_validation_queues_the_backfill_once(connection: AwsConnection, monkeypatch) -> None:  # noqa: ANN001
    from connections.validation import first_sync_queue

    queued: list[tuple] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: queued.append(args))
    assert first_sync_queue(connection) is True
    assert queued == [("ingestion.tasks.sync_connection_task", connection.pk, None, "validation")]
    run_sync(connection, sources=["cur"])
    assert first_sync_queue(connection) is False and len(queued) == 1
