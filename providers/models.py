"""Connections to API-backed inference providers (OpenAI, Anthropic): the organization Admin key (encrypted at
rest, see providers.crypto), where each endpoint's sync stopped, and what every sync did."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from connections.models import Tenant
from providers.crypto import decrypt_secret, encrypt_secret


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"


class ProviderConnection(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "Not validated yet"
        VALID = "valid", "Valid"
        EMPTY = "empty", "Valid, no usage yet"
        INVALID = "invalid", "Key refused"
        ERROR = "error", "Error"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="provider_connections")
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    name = models.CharField(max_length=100)
    organization_id = models.CharField(
        max_length=100, blank=True, help_text="The provider's organization id (org-…), used in principal ids."
    )
    # Never shown, logged or serialised: only key_last4 leaves this row.
    api_key_encrypted = models.TextField(editable=False)
    key_last4 = models.CharField(max_length=4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    last_validated_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_remedy = models.TextField(blank=True)
    enabled = models.BooleanField(default=True, help_text="Disabled connections are not synced on schedule.")
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per project/workspace id: dimensions, e.g. {"proj_abc": {"application": "search", "team": "core"}}.',
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    sync_owner = models.CharField(max_length=255, blank=True, help_text="Who holds the sync lease.")
    sync_locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_provider_connection_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def __repr__(self) -> str:  # never the key
        return f"<ProviderConnection {self.pk} {self.kind} {self.name!r}>"

    @property
    def api_key(self) -> str:
        return decrypt_secret(self.api_key_encrypted)

    def set_api_key(self, value: str) -> None:
        value = value.strip()
        self.api_key_encrypted = encrypt_secret(value)
        self.key_last4 = value[-4:]

    @property
    def masked_key(self) -> str:
        return f"…{self.key_last4}" if self.key_last4 else "…"

    @property
    def principal_prefix(self) -> str:
        """Stable prefix of principal ids: the organization id when known, else this connection."""
        return f"{self.kind}:{self.organization_id or f'connection-{self.pk}'}"


class ProviderSyncState(models.Model):
    """Where one endpoint's sync stopped: the next sync starts a little before it (late data is re-read)."""

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="sync_states")
    endpoint = models.CharField(max_length=64)
    watermark = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "endpoint"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "endpoint"], name="uniq_provider_sync_state_endpoint")
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.endpoint}"


class ProviderSyncRun(models.Model):
    """One endpoint read during one sync: fetched, loaded, unchanged, replaced, the watermark before and after,
    and for a failure the error and its remedy."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="provider_sync_runs")
    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="sync_runs")
    sync_id = models.CharField(max_length=32, db_index=True)
    trigger = models.CharField(max_length=16, default="manual", help_text="manual, schedule, command.")
    endpoint = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    items_fetched = models.PositiveIntegerField(default=0, help_text="Result rows the API returned.")
    rows_loaded = models.PositiveIntegerField(default=0, help_text="Ledger rows inserted.")
    rows_skipped = models.PositiveIntegerField(default=0, help_text="Already in the ledger, identical.")
    rows_replaced = models.PositiveIntegerField(default=0, help_text="Earlier rows of re-read days that changed.")
    errors = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    watermark_before = models.JSONField(default=dict, blank=True)
    watermark_after = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    remedy = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="provider_run_latest")]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.endpoint} ({self.status})"


class ProviderName(models.Model):
    """A project/workspace or an API key of one connection: its name as the provider lists it (blank when
    it could not be listed), and whether usage has been seen for it. Read by the sync to label rows and by
    the mapping page to list what can be mapped."""

    class Kind(models.TextChoices):
        SCOPE = "scope", "Project or workspace"
        API_KEY = "api_key", "API key"

    connection = models.ForeignKey(ProviderConnection, on_delete=models.CASCADE, related_name="names")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.CharField(max_length=128, blank=True, help_text="Blank: Anthropic's default workspace.")
    name = models.CharField(max_length=255, blank=True)
    scope_id = models.CharField(max_length=128, blank=True, help_text="An API key's project or workspace.")
    archived = models.BooleanField(default=False)
    listed = models.BooleanField(default=False, help_text="The provider's list endpoint returned it.")
    seen_in_usage = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "kind", "name", "object_id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "kind", "object_id"], name="uniq_provider_name_object")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.object_id or 'default'} ({self.get_kind_display()})"
