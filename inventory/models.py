"""What a connected account has in Bedrock, per account and region, as the inventory sync last read it:
application inference profiles, provisioned throughput, foundation-model lifecycles and the invocation
logging configuration. Rows are kept when AWS stops listing them: `gone_at` says since when (history for
the provisioned-throughput and profile cost lines that still name them)."""

from __future__ import annotations

from django.db import models

from connections.models import AwsConnection, Tenant


class InventoryItem(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(AwsConnection, on_delete=models.CASCADE, related_name="+")
    account_id = models.CharField(max_length=12)
    region = models.CharField(max_length=32)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(help_text="The last sync that listed it.")
    gone_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when a sync listed this kind of resource and this one was not there."
    )

    class Meta:
        abstract = True

    @property
    def present(self) -> bool:
        return self.gone_at is None


class InferenceProfile(InventoryItem):
    """An application inference profile: a tagged name for one model (or a cross-region profile's models)."""

    arn = models.CharField(max_length=2048)
    profile_id = models.CharField(max_length=64, blank=True)
    name = models.CharField(max_length=128)
    description = models.CharField(max_length=512, blank=True)
    status = models.CharField(max_length=32, blank=True)
    profile_type = models.CharField(max_length=32, blank=True, help_text="APPLICATION or SYSTEM_DEFINED.")
    model_arns = models.JSONField(default=list, blank=True)
    model_ids = models.JSONField(default=list, blank=True, help_text="The model ids of those ARNs, as AWS names them.")
    catalog_model_id = models.CharField(
        max_length=128, blank=True, help_text="The catalog model the profile routes to; blank when not resolved."
    )
    tags = models.JSONField(default=dict, blank=True)
    created_in_aws_at = models.DateTimeField(null=True, blank=True)
    updated_in_aws_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["connection", "arn"], name="uniq_inventory_profile")]
        indexes = [models.Index(fields=["tenant", "arn"], name="inventory_profile_arn")]

    def __str__(self) -> str:
        return self.name


class ProvisionedThroughput(InventoryItem):
    """Provisioned model throughput: model units billed by the hour while it exists."""

    arn = models.CharField(max_length=2048)
    name = models.CharField(max_length=128)
    model_arn = models.CharField(max_length=2048, blank=True)
    foundation_model_arn = models.CharField(max_length=2048, blank=True)
    model_id = models.CharField(max_length=256, blank=True, help_text="The model id as AWS names it (with variant).")
    catalog_model_id = models.CharField(max_length=128, blank=True)
    model_units = models.PositiveIntegerField(default=0)
    desired_model_units = models.PositiveIntegerField(default=0)
    commitment_duration = models.CharField(
        max_length=32, blank=True, help_text="OneMonth or SixMonths; blank means no commitment."
    )
    commitment_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=32, blank=True)
    failure_message = models.TextField(blank=True)
    created_in_aws_at = models.DateTimeField(null=True, blank=True)
    modified_in_aws_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "provisioned throughput"
        verbose_name_plural = "provisioned throughput"
        constraints = [models.UniqueConstraint(fields=["connection", "arn"], name="uniq_inventory_provisioned")]

    def __str__(self) -> str:
        return self.name


class FoundationModel(InventoryItem):
    """A foundation model as one region lists it, with its lifecycle there (ACTIVE or LEGACY)."""

    model_id = models.CharField(max_length=256)
    model_arn = models.CharField(max_length=2048, blank=True)
    catalog_model_id = models.CharField(max_length=128, blank=True)
    provider = models.CharField(max_length=128, blank=True)
    name = models.CharField(max_length=256, blank=True)
    lifecycle = models.CharField(max_length=16, blank=True, help_text="ACTIVE or LEGACY.")
    legacy_at = models.DateTimeField(null=True, blank=True)
    end_of_life_at = models.DateTimeField(null=True, blank=True)
    input_modalities = models.JSONField(default=list, blank=True)
    output_modalities = models.JSONField(default=list, blank=True)
    inference_types = models.JSONField(default=list, blank=True, help_text="ON_DEMAND, PROVISIONED, ...")

    class Meta:
        ordering = ["provider", "model_id", "region"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "account_id", "region", "model_id"], name="uniq_inventory_fm")
        ]
        indexes = [models.Index(fields=["tenant", "region", "lifecycle"], name="inventory_fm_lifecycle")]

    def __str__(self) -> str:
        return f"{self.model_id} ({self.region})"


class LoggingConfiguration(InventoryItem):
    """GetModelInvocationLoggingConfiguration for one account and region."""

    enabled = models.BooleanField(default=False, help_text="Logging goes to CloudWatch Logs or S3.")
    cloudwatch_log_group = models.CharField(max_length=512, blank=True)
    cloudwatch_role_arn = models.CharField(max_length=2048, blank=True)
    large_data_bucket = models.CharField(max_length=255, blank=True)
    large_data_prefix = models.CharField(max_length=1024, blank=True)
    s3_bucket = models.CharField(max_length=255, blank=True)
    s3_prefix = models.CharField(max_length=1024, blank=True)
    text_delivery = models.BooleanField(default=False)
    image_delivery = models.BooleanField(default=False)
    embedding_delivery = models.BooleanField(default=False)
    video_delivery = models.BooleanField(default=False)
    audio_delivery = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True, help_text="The configuration as AWS returned it.")

    class Meta:
        ordering = ["account_id", "region"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "account_id", "region"], name="uniq_inventory_logging")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.region}: {'on' if self.enabled else 'off'}"
