"""`sync_provider` (progress, stable JSON, clear errors) and one daily schedule per enabled connection."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from providers.services import provider_connection_delete, provider_connection_update
from providers.tasks import sync_provider_task

from .conftest import mock_openai, mock_openai_names


def test_sync_provider_prints_stable_json(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    out, err = StringIO(), StringIO()
    call_command("sync_provider", "OpenAI prod", since="2026-11-01", until="2026-11-02", json=True, stdout=out,
                 stderr=err)  # fmt: skip
    doc = json.loads(out.getvalue())
    assert sorted(doc) == ["connection", "endpoints", "messages", "reconciled", "relabelled", "status", "sync_id",
                           "totals"]  # fmt: skip
    assert doc["messages"] == []  # every name listed
    assert doc["status"] == "succeeded" and doc["connection"] == openai_connection.pk
    assert doc["totals"] == {"fetched": 11, "loaded": 11, "skipped": 0, "replaced": 0, "errors": 0}
    assert [e["endpoint"] for e in doc["endpoints"]][-1] == "costs"
    assert "usage.completions" in err.getvalue()  # progress on stderr, JSON alone on stdout


def test_sync_provider_by_id_prints_a_line_per_endpoint(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    out = StringIO()
    call_command("sync_provider", str(openai_connection.pk), since="2026-11-01", until="2026-11-02", stdout=out)
    assert "costs: succeeded, 6 fetched, 6 loaded" in out.getvalue()
    assert out.getvalue().strip().endswith("sync succeeded")


def test_sync_provider_names_the_known_connections_when_not_found(openai_connection) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="No provider connection 'nope'. Known: .*'OpenAI prod' \\(acme\\)"):
        call_command("sync_provider", "nope")


def test_sync_provider_fails_with_the_remedy_for_a_bad_key(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai_names(rsps, status=401)
    out = StringIO()
    with pytest.raises(CommandError, match="failed"):
        call_command("sync_provider", "OpenAI prod", stdout=out, stderr=StringIO())
    assert "admin-keys" in out.getvalue()


def test_sync_provider_refuses_since_after_until(openai_connection) -> None:  # noqa: ANN001
    with pytest.raises(CommandError, match="after --until"):
        call_command("sync_provider", "OpenAI prod", since="2026-11-05", until="2026-11-01")


def test_each_enabled_connection_has_a_daily_schedule(openai_connection, anthropic_connection) -> None:  # noqa: ANN001
    call_command("setup_schedules", stdout=StringIO())
    names = set(Schedule.objects.filter(name__startswith="provider-sync-").values_list("name", flat=True))
    assert names == {f"provider-sync-{openai_connection.pk}", f"provider-sync-{anthropic_connection.pk}"}
    schedule = Schedule.objects.get(name=f"provider-sync-{openai_connection.pk}")
    assert (schedule.func, schedule.args, schedule.schedule_type) == (
        "providers.tasks.sync_provider_task", str(openai_connection.pk), Schedule.DAILY
    )  # fmt: skip
    provider_connection_update(connection=openai_connection, enabled=False)
    assert not Schedule.objects.filter(name=f"provider-sync-{openai_connection.pk}").exists()
    provider_connection_delete(connection=anthropic_connection)
    call_command("setup_schedules", stdout=StringIO())
    assert not Schedule.objects.filter(name__startswith="provider-sync-").exists()


def test_the_task_syncs_and_skips_disabled_connections(openai_connection, rsps) -> None:  # noqa: ANN001
    mock_openai(rsps)
    assert sync_provider_task(openai_connection.pk)["status"] == "succeeded"
    provider_connection_update(connection=openai_connection, enabled=False)
    assert sync_provider_task(openai_connection.pk)["status"] == "disabled"
    assert sync_provider_task(999_999)["status"] == "gone"
