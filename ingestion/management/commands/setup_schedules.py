"""Every schedule of the installation, declared in one place (also `schedule_syncs`). Idempotent: run it on
every deploy (make demo does); a schedule is created or updated by name, never duplicated."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

SCHEDULES: tuple[dict[str, Any], ...] = (
    {
        "name": "sync-logs-metrics-hourly",
        "func": "ingestion.tasks.sync_logs_and_metrics",
        "schedule_type": Schedule.HOURLY,
        "repeats": -1,
    },
    {
        "name": "sync-cur-6-hourly",
        "func": "ingestion.tasks.sync_cur",
        "schedule_type": Schedule.MINUTES,
        "minutes": 360,
        "repeats": -1,
    },
    {
        "name": "sync-inventory-daily",
        "func": "ingestion.tasks.sync_inventory",
        "schedule_type": Schedule.DAILY,
        "repeats": -1,
    },
    {
        "name": "sync-prices-weekly",
        "func": "ingestion.tasks.sync_prices",
        "schedule_type": Schedule.WEEKLY,
        "repeats": -1,
    },
    {
        "name": "recommend-nightly",
        "func": "recommendations.tasks.recommend_all",
        "schedule_type": Schedule.DAILY,
        "repeats": -1,
    },
    {
        "name": "budgets-daily",
        "func": "budgets.tasks.evaluate_all",
        "schedule_type": Schedule.DAILY,
        "repeats": -1,
    },
    {
        "name": "purge-expired-data-nightly",
        "func": "lifecycle.tasks.purge_expired_data",
        "schedule_type": Schedule.DAILY,
        "repeats": -1,
    },
)


def schedules_declare() -> list[tuple[Schedule, bool]]:
    """Create or update every schedule by name (never duplicated); returns each with whether it was new."""
    out = []
    for spec in SCHEDULES:
        values = {k: v for k, v in spec.items() if k != "name"}
        out.append(Schedule.objects.update_or_create(name=spec["name"], defaults=values))
    # One daily sync per enabled OpenAI / Anthropic connection (providers.schedules keeps them by name).
    from providers.schedules import provider_schedules_declare

    out.extend(provider_schedules_declare())
    return out


class Command(BaseCommand):
    help = (
        "Create or update the django-q2 schedules: connection syncs (logs and metrics hourly, CUR every 6 hours, "
        "inventory daily), prices weekly, recommendations nightly, budgets daily, data retention nightly. "
        "Same as schedule_syncs."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for schedule, created in schedules_declare():
            when = f", next {schedule.next_run:%Y-%m-%d %H:%M} UTC" if schedule.next_run else ""
            self.stdout.write(f"{'created' if created else 'up to date'}: {schedule.name} ({schedule.func}{when})")
