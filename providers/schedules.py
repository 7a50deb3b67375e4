"""One daily django-q2 schedule per enabled provider connection, kept in step by name ("provider-sync-<id>"):
declared with every other schedule by setup_schedules / schedule_syncs, and updated when a connection is
created, enabled, disabled or deleted."""

from __future__ import annotations

from django_q.models import Schedule

from providers.models import ProviderConnection

PREFIX = "provider-sync-"
FUNC = "providers.tasks.sync_provider_task"


def schedule_name(connection_id: int) -> str:
    return f"{PREFIX}{connection_id}"


def provider_schedule_set(connection: ProviderConnection) -> Schedule | None:
    """The connection's daily schedule when it is enabled; none (deleted) when it is not."""
    name = schedule_name(connection.pk)
    if not connection.enabled:
        Schedule.objects.filter(name=name).delete()
        return None
    schedule, _ = Schedule.objects.update_or_create(
        name=name,
        defaults={"func": FUNC, "args": str(connection.pk), "schedule_type": Schedule.DAILY, "repeats": -1},
    )
    return schedule


def provider_schedule_remove(connection_id: int) -> None:
    Schedule.objects.filter(name=schedule_name(connection_id)).delete()


def provider_schedules_declare() -> list[tuple[Schedule, bool]]:
    """Every enabled connection's schedule created or updated; schedules of gone or disabled ones removed."""
    out: list[tuple[Schedule, bool]] = []
    wanted: set[str] = set()
    for connection in ProviderConnection.objects.filter(enabled=True).order_by("pk"):
        name = schedule_name(connection.pk)
        wanted.add(name)
        out.append(
            Schedule.objects.update_or_create(
                name=name,
                defaults={"func": FUNC, "args": str(connection.pk), "schedule_type": Schedule.DAILY, "repeats": -1},
            )
        )
    Schedule.objects.filter(name__startswith=PREFIX).exclude(name__in=wanted).delete()
    return out
