"""Imports that die half-way: what they committed stays and is said; the run becomes *interrupted*
instead of *running* forever; running the import again finishes the job without doubling anything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from connections.models import AuditLog, Tenant
from finops.ledger.models import SpendEvent
from ingestion import services
from ingestion.models import ImportRun
from ingestion.runs import import_runs_mark_interrupted, process_token
from ingestion.services import import_invocation_logs
from tests.ingestion import malformed as bad

ROOT = Path(__file__).resolve().parents[2]


def _log_files(folder: Path, files: int, per_file: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    records = bad.many_log_records(files * per_file)
    paths = []
    for n in range(files):
        path = folder / f"part-{n:04d}.jsonl"
        path.write_bytes(bad.jsonl_bytes(records[n * per_file : (n + 1) * per_file]))
        paths.append(path)
    return paths


def _running_run(tenant: Tenant, *, process: str, heartbeat_age: timedelta = timedelta(0)) -> ImportRun:
    run = ImportRun.objects.create(tenant=tenant, source="cur", process=process, rows_loaded=7)
    ImportRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - heartbeat_age)
    return run


def test_a_run_whose_process_is_gone_becomes_interrupted_at_the_next_import(tenant: Tenant, tmp_path: Path) -> None:
    # This host, a pid that exists but started at another time: the process that ran the import is gone.
    dead = _running_run(tenant, process=f"{socket.gethostname()}:{os.getpid()}:not-this-process")
    alive = _running_run(tenant, process=process_token())

    import_invocation_logs(tenant=tenant, paths=_log_files(tmp_path, 1, 3))

    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == ImportRun.Status.INTERRUPTED
    assert "7 rows" in dead.message and "Run the same import again" in dead.message
    assert alive.status == ImportRun.Status.RUNNING
    assert AuditLog.objects.filter(tenant=tenant, action="import.interrupted", target=f"import run {dead.pk}").exists()


def test_a_run_of_another_host_is_interrupted_only_once_it_has_been_silent_too_long(tenant: Tenant) -> None:
    quiet = _running_run(tenant, process="other-host:123:456", heartbeat_age=timedelta(hours=7))
    busy = _running_run(tenant, process="other-host:124:457", heartbeat_age=timedelta(minutes=5))

    marked = import_runs_mark_interrupted()

    assert [run.pk for run in marked] == [quiet.pk]
    busy.refresh_from_db()
    assert busy.status == ImportRun.Status.RUNNING


def test_an_error_half_way_keeps_the_committed_files_and_a_rerun_finishes(
    tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _log_files(tmp_path, 3, 4)
    real_insert = services.insert_events
    calls = {"n": 0}

    def failing_insert(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("simulated: the worker ran out of memory")
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(services, "insert_events", failing_insert)
    with pytest.raises(MemoryError):
        import_invocation_logs(tenant=tenant, paths=paths)
    run = ImportRun.objects.get()

    assert run.status == ImportRun.Status.INTERRUPTED
    assert "MemoryError" in run.message and "4 rows" in run.message
    assert run.rows_loaded == 4 == SpendEvent.objects.filter(tenant=tenant).count()

    monkeypatch.setattr(services, "insert_events", real_insert)
    again = import_invocation_logs(tenant=tenant, paths=paths)

    assert (again.rows_loaded, again.skipped_reasons) == (8, {"already loaded (same requestId)": 4})
    assert SpendEvent.objects.filter(tenant=tenant).count() == 12


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_killed_with_sigkill_is_found_interrupted_with_what_it_loaded(tmp_path: Path) -> None:
    tenant = Tenant.objects.create(slug="killed", name="Killed")
    folder = tmp_path / "logs"
    _log_files(folder, 60, 200)
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY}
    command = [sys.executable, "manage.py", "import_invocation_logs", str(folder), "--tenant", tenant.slug]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = ImportRun.objects.filter(tenant=tenant).first()
            if run is not None and run.rows_loaded >= 400:  # two files committed, more to come
                break
            time.sleep(0.05)
        else:
            pytest.fail("the import never saved progress")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    marked = import_runs_mark_interrupted()

    run = ImportRun.objects.get(tenant=tenant)
    assert [m.pk for m in marked] == [run.pk]
    assert run.status == ImportRun.Status.INTERRUPTED
    loaded = SpendEvent.objects.filter(tenant=tenant).count()
    assert 400 <= loaded < 60 * 200
    assert run.rows_loaded == loaded  # what the run says it loaded is what the ledger holds
    assert f"{loaded:,} rows" in run.message


def test_the_admin_shows_a_dead_run_as_interrupted_without_the_process_details(
    tenant: Tenant,
    tenant_admin,
    client,  # noqa: ANN001
) -> None:
    dead = _running_run(tenant, process=f"{socket.gethostname()}:{os.getpid()}:not-this-process")
    client.force_login(tenant_admin)

    listing = client.get("/admin/ingestion/importrun/").content.decode()
    detail = client.get(f"/admin/ingestion/importrun/{dead.pk}/change/").content.decode()

    assert "Interrupted" in listing
    assert "7 rows" in detail and "Run the same import again" in detail
    assert dead.process not in detail and "host:pid:start" not in detail


def test_the_overview_says_an_import_was_interrupted_until_a_rerun_finishes(
    tenant: Tenant,
    viewer,
    client,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    dead = _running_run(tenant, process=f"{socket.gethostname()}:{os.getpid()}:not-this-process")
    client.force_login(viewer)

    page = client.get(f"/t/{tenant.slug}/").content.decode()

    assert f"CUR 2.0 import #{dead.pk} was interrupted" in page and "7 rows loaded" in page
    dead.refresh_from_db()
    assert dead.status == ImportRun.Status.INTERRUPTED

    from ingestion.services import import_cur

    import_cur(tenant=tenant, paths=[bad.write_cur(tmp_path / "june.csv", bad.bedrock_rows())])
    assert "was interrupted" not in client.get(f"/t/{tenant.slug}/").content.decode()


def test_the_overview_of_another_tenant_says_nothing_of_this_ones_imports(
    tenant: Tenant,
    outsider,
    client,  # noqa: ANN001
) -> None:
    _running_run(tenant, process=f"{socket.gethostname()}:{os.getpid()}:not-this-process")
    client.force_login(outsider)

    page = client.get("/t/globex/").content.decode()

    assert "was interrupted" not in page
