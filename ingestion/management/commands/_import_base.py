"""Shared command-line behaviour of the import commands: tenant, progress, summary, exit status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.services import tenant_get_or_create
from ingestion.models import ImportRun


class ImportCommand(BaseCommand):
    source_label = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="Files, directories or manifests.")
        parser.add_argument("--tenant", required=True, help="Tenant slug; created when it does not exist.")
        parser.add_argument("--quiet-progress", action="store_true", help="Only print the summary.")

    def run_import(self, **kwargs: Any) -> ImportRun:  # pragma: no cover - overridden
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant, created = tenant_get_or_create(slug=options["tenant"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if created:
            self.stdout.write(f"Tenant {tenant.slug!r} did not exist; created it.")
        verbose = not options["quiet_progress"] and options.get("verbosity", 1) > 0
        run = self.run_import(
            tenant=tenant,
            paths=options["paths"],
            progress=(lambda msg: self.stdout.write(msg)) if verbose else None,
        )
        changed = ""
        if run.rows_unchanged and not run.rows_loaded and not run.rows_replaced:
            changed = " (0 changed: identical to the delivery already loaded)"
        self.stdout.write(
            f"{self.source_label} import #{run.pk} ({run.get_status_display()}): "
            f"{run.rows_read:,} rows read, {run.rows_loaded:,} loaded, {run.rows_skipped:,} skipped, "
            f"{run.rows_rejected:,} rejected"
            + (f", {run.rows_unchanged:,} unchanged" if run.rows_unchanged else "")
            + (f", {run.rows_replaced:,} replaced" if run.rows_replaced else "")
            + (f", {run.rows_flagged:,} loaded with a warning" if run.rows_flagged else "")
            + f" in {run.duration_seconds:.1f}s.{changed}"
        )
        for reason, count in sorted(run.skipped_reasons.items()):
            self.stdout.write(f"  skipped {count:,}: {reason}")
        for sample in run.rejected_samples[:20]:
            self.stderr.write(f"  rejected {sample['file']}:{sample['line']}: {sample['reason']}")
        if run.rows_rejected > 20:
            self.stderr.write(f"  ... and {run.rows_rejected - 20:,} more rejected rows (see import run #{run.pk}).")
        for sample in run.warnings[:20]:
            self.stdout.write(f"  warning {sample['file']}:{sample['line']}: {sample['reason']}")
        for info in run.files:
            if info.get("error"):
                self.stderr.write(f"  file error: {info['path']}: {info['error']}")
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(run.message or "Nothing could be read.")
