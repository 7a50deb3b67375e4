from __future__ import annotations

from django.db import models

from connections.models import Tenant


class ImportRun(models.Model):
    """One import of files into the ledger, with what happened to every row."""

    class Source(models.TextChoices):
        CUR = "cur", "CUR 2.0"
        INVOCATION_LOGS = "invocation_logs", "Invocation logs"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with rejected rows"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="import_runs")
    source = models.CharField(max_length=20, choices=Source.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    actor_label = models.CharField(max_length=150, default="system")
    files = models.JSONField(default=list, blank=True, help_text="Per file: path, period, counts, error.")
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0, help_text="Not Bedrock, or already loaded.")
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_replaced = models.PositiveIntegerField(default=0, help_text="Billed rows removed by a restatement.")
    rows_unchanged = models.PositiveIntegerField(
        default=0, help_text="Billed rows re-delivered identical to the rows already loaded (kept as they were)."
    )
    rows_flagged = models.PositiveIntegerField(default=0, help_text="Rows loaded with a warning (see warnings).")
    warnings = models.JSONField(default=list, blank=True, help_text="Samples of rows loaded with a warning.")
    restatements = models.JSONField(
        default=list,
        blank=True,
        help_text="Billing periods this run re-delivered with changes: billed total before and after, rows.",
    )
    skipped_reasons = models.JSONField(default=dict, blank=True)
    rejected_samples = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last progress saved by the running import.")
    process = models.CharField(
        max_length=255, blank=True, help_text="host:pid:start of the process running the import (to detect a dead one)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.status})"
