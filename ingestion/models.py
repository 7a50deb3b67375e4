from __future__ import annotations

from django.db import models

from connections.models import Tenant


class ImportRun(models.Model):
    """One import of files into the ledger, with what happened to every row."""

    class Source(models.TextChoices):
        CUR = "cur", "CUR 2.0"
        INVOCATION_LOGS = "invocation_logs", "Invocation logs"
        AZURE_OPENAI = "azure_openai", "Azure OpenAI cost export"
        VERTEX = "vertex", "Vertex AI billing export"

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
    stage_seconds = models.JSONField(
        default=dict, blank=True, help_text="Seconds per stage: parse, normalise, load, reconcile."
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.status})"


class SyncSource(models.TextChoices):
    CUR = "cur", "CUR 2.0 exports (S3)"
    LOGS = "logs", "Invocation logs (CloudWatch Logs, S3)"
    METRICS = "metrics", "CloudWatch metrics (AWS/Bedrock)"
    INVENTORY = "inventory", "Inventory (profiles, provisioned throughput, models)"


class SyncState(models.Model):
    """Where a source stopped, per connection, account and region: the next sync resumes from here. Saved as
    each batch is loaded, so a killed sync loses nothing and loads nothing twice."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_states")
    connection = models.ForeignKey("connections.AwsConnection", on_delete=models.CASCADE, related_name="sync_states")
    source = models.CharField(max_length=16, choices=SyncSource.choices)
    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32, blank=True, help_text="Blank for sources that are not regional (CUR).")
    watermark = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "source", "account_id", "region"], name="uniq_sync_state_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.source} {self.account_id} {self.region or '-'}"


class SyncRun(models.Model):
    """One source read for one account and region during a sync: what was fetched and loaded, the watermark
    before and after, and for anything red the diagnosis and its remedy."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with problems"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not configured"
        INTERRUPTED = "interrupted", "Interrupted"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sync_runs")
    connection = models.ForeignKey("connections.AwsConnection", on_delete=models.CASCADE, related_name="sync_runs")
    sync_id = models.CharField(max_length=32, db_index=True, help_text="The sync this run belongs to.")
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, schedule, validation, demo.")
    source = models.CharField(max_length=16, choices=SyncSource.choices)
    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    items_fetched = models.PositiveIntegerField(default=0, help_text="Objects, log events, datapoints or resources.")
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    watermark_before = models.JSONField(default=dict, blank=True)
    watermark_after = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    remedy = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    import_runs = models.JSONField(default=list, blank=True, help_text="Ids of the import runs this sync made.")
    process = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "source", "-started_at"], name="sync_run_latest")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.account_id} {self.region or '-'} ({self.status})"


class SyncLock(models.Model):
    """At most one sync per connection at a time, across processes and hosts: a lease taken with one
    conditional UPDATE, renewed while the sync runs, free again when it ends or its lease runs out."""

    connection = models.OneToOneField("connections.AwsConnection", on_delete=models.CASCADE, related_name="sync_lock")
    owner = models.CharField(max_length=255, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync lock {self.connection_id}: {self.owner or 'free'}"
