"""Mark imports whose process died (killed, crashed, host restarted) as interrupted. Imports do this
themselves when they start, and the overview and admin when they show runs; run it at start-up."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ingestion.runs import import_runs_mark_interrupted


class Command(BaseCommand):
    help = "Mark running imports whose process is gone as interrupted, with what they loaded."

    def handle(self, *args: Any, **options: Any) -> None:
        marked = import_runs_mark_interrupted()
        for run in marked:
            self.stdout.write(f"import run #{run.pk} ({run.tenant.slug}, {run.source}): {run.message}")
        self.stdout.write(f"{len(marked)} interrupted import run(s) found.")
