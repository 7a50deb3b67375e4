"""One sync per connection at a time, across processes and hosts: a lease row taken with one conditional
UPDATE (atomic on PostgreSQL and SQLite alike), renewed by the running sync, released when it ends. A sync
whose process died holds the lease only until it expires."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connections.models import AwsConnection
from ingestion.models import SyncLock

LEASE = timedelta(minutes=10)


def sync_lock_acquire(connection: AwsConnection, owner: str, *, lease: timedelta = LEASE) -> bool:
    """Take the connection's sync lease for `owner`; False when another owner holds an unexpired one."""
    SyncLock.objects.get_or_create(connection=connection)
    now = timezone.now()
    taken = (
        SyncLock.objects.filter(connection=connection)
        .filter(Q(owner="") | Q(owner=owner) | Q(locked_until__lt=now) | Q(locked_until__isnull=True))
        .update(owner=owner, locked_until=now + lease, acquired_at=now)
    )
    return taken == 1


def sync_lock_renew(connection: AwsConnection, owner: str, *, lease: timedelta = LEASE) -> bool:
    """Extend the lease while the sync runs; False when it was lost (expired and taken by another)."""
    return SyncLock.objects.filter(connection=connection, owner=owner).update(locked_until=timezone.now() + lease) == 1


def sync_lock_release(connection: AwsConnection, owner: str) -> None:
    SyncLock.objects.filter(connection=connection, owner=owner).update(owner="", locked_until=None)


def sync_lock_holder(connection: AwsConnection) -> str:
    """Who holds an unexpired lease ('' when free)."""
    lock = SyncLock.objects.filter(connection=connection, locked_until__gte=timezone.now()).first()
    return lock.owner if lock else ""
