"""With REDIS_URL, django-q2 queues in Redis so workers on several hosts share one queue. Against the Redis
server on 127.0.0.1:6379: the scheduler puts the hourly sync in the Redis queue, two 'hosts' (two broker
connections, two threads) take the queued syncs of one connection, and the database lock lets exactly one
of them sync while the other reports it busy. Skipped without Redis, except in CI where it must run."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import AwsConnection, Tenant
from ingestion.models import SyncRun
from ingestion.sync import services
from ingestion.sync.base import SourceResult

REDIS_URL = os.environ.get("FINOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
pytestmark = pytest.mark.django_db(transaction=True)


OTHER_HOST_TRIED = threading.Event()
WHILE_HOLDING: list[Any] = []  # a callable run by the source while it holds the connection's lock


def slow_source(target: Any, *, watermark: dict, since: Any, until: Any, checkpoint: Any, say: Any) -> SourceResult:
    while WHILE_HOLDING:
        WHILE_HOLDING.pop()()  # the other host takes its job now, while this sync runs
    # With threads: hold the lock until the other host has tried, however the threads are scheduled.
    if threading.current_thread() is not threading.main_thread():
        OTHER_HOST_TRIED.wait(timeout=30)
    return SourceResult(items_fetched=1, rows_loaded=1, watermark={"done": True})


@pytest.fixture
def redis_conf(monkeypatch: pytest.MonkeyPatch) -> Any:
    import redis
    from django_q.conf import Conf

    try:
        redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI") or os.environ.get("FINOPS_REQUIRE_REDIS"):
            pytest.fail(
                f"No Redis at {REDIS_URL}: CI starts it (.ci/run); start it with `redis-server --daemonize yes`."
            )
        pytest.skip(f"no Redis at {REDIS_URL}")
    name = f"finops-test-{uuid.uuid4().hex[:8]}"
    # What settings.py does when REDIS_URL is set: the Redis broker instead of the ORM one.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "SYNC", False)
    yield Conf
    redis.from_url(REDIS_URL).delete(f"django_q:{name}:q")


def test_two_hosts_share_the_redis_queue_and_only_one_syncs_a_connection(redis_conf: Any, monkeypatch) -> None:  # noqa: ANN001
    from django_q.brokers import get_broker
    from django_q.brokers.redis_broker import Redis
    from django_q.models import Schedule
    from django_q.scheduler import scheduler
    from django_q.signing import SignedPackage

    from ingestion import tasks

    monkeypatch.setattr(services, "SOURCES", {n: "tests.sync.test_redis_queue.slow_source" for n in services.ORDER})
    monkeypatch.setattr(services.aws, "assume_connection_role", lambda c: object())
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    conn = AwsConnection.objects.create(
        tenant=tenant, name="prod", account_id="111122223333", regions=["us-east-1"],
        role_arn="arn:aws:iam::111122223333:role/BedrockFinOps", status="connected",
    )  # fmt: skip
    assert isinstance(get_broker(), Redis)

    # The scheduler (on any host) puts the due hourly sync into the Redis queue.
    call_command("schedule_syncs", stdout=StringIO())
    Schedule.objects.filter(name="sync-logs-metrics-hourly").update(next_run=timezone.now() - timedelta(minutes=1))
    Schedule.objects.exclude(name="sync-logs-metrics-hourly").update(next_run=timezone.now() + timedelta(days=1))
    host_a, host_b = Redis(), Redis()  # two connections to the same queue, as two hosts have
    scheduler(broker=host_a)
    assert host_b.queue_size() == 1
    ((_, payload),) = host_b.dequeue()
    task = SignedPackage.loads(payload)
    assert task["func"] == "ingestion.tasks.sync_logs_and_metrics"

    # Running it queues the connection's sync; a 'Sync now' queues a second one for the same connection.
    assert tasks.sync_logs_and_metrics() == {"queued": 1, "sources": ["logs", "metrics"]}
    tasks.sync_all(None)
    assert host_a.queue_size() == 2

    results: dict[str, Any] = {}

    def work(name: str, broker: Redis) -> None:
        ((_, body),) = broker.dequeue()
        job = SignedPackage.loads(body)
        results[name] = tasks.sync_connection_task(*job["args"])
        if "skipped" in results[name]:
            OTHER_HOST_TRIED.set()

    if db_connection.vendor == "postgresql":
        # Two hosts as two threads with their own database connections, at the same time.
        def in_thread(name: str, broker: Redis) -> None:
            try:
                work(name, broker)
            finally:
                db_connection.close()

        OTHER_HOST_TRIED.clear()
        threads = [threading.Thread(target=in_thread, args=(n, b)) for n, b in (("a", host_a), ("b", host_b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    else:
        # SQLite's shared in-memory test database locks whole tables between threads, so here host B takes its
        # job from inside host A's running sync: the same moment, one thread.
        WHILE_HOLDING.append(lambda: work("b", host_b))
        work("a", host_a)

    assert host_a.queue_size() == 0
    synced = [r for r in results.values() if "sync_id" in r]
    busy = [r for r in results.values() if "already running" in r.get("skipped", "")]
    assert len(synced) == 1 and len(busy) == 1, results
    assert SyncRun.objects.filter(connection=conn).values("sync_id").distinct().count() == 1
