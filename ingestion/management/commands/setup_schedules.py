"""Every schedule of the installation, declared in one place. Idempotent: run it on every deploy (make
demo does); a schedule is created or updated by name, never duplicated."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

SCHEDULES: tuple[dict[str, Any], ...] = (
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
)


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules (weekly price sync, ...)."

    def handle(self, *args: Any, **options: Any) -> None:
        for spec in SCHEDULES:
            values = {k: v for k, v in spec.items() if k != "name"}
            _, created = Schedule.objects.update_or_create(name=spec["name"], defaults=values)
            self.stdout.write(f"{'created' if created else 'up to date'}: {spec['name']} ({spec['func']})")
