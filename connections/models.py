"""Tenants, who may see them, AWS connections, and the append-only audit log."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

DEFAULT_TAG_MAPPING: dict[str, list[str]] = {
    # dimension -> tag keys tried in order. Keys are matched against CUR `tags`
    # (`iamPrincipal/…`, `resourceTags/…`, `accountTag/…`), CUR `resource_tags` (`user_…`) and
    # invocation-log `requestMetadata`, case-insensitively, with `-`, `_` and spaces treated alike.
    "team": [
        "team",
        "iamPrincipal/team",
        "resourceTags/team",
        "resourceTags/user_team",
        "user_team",
        "accountTag/team",
        "department",
    ],
    "application": [
        "application",
        "app",
        "iamPrincipal/application",
        "resourceTags/application",
        "resourceTags/user_application",
        "user_application",
        "project",
        "user_project",
    ],
    "cost_center": [
        "cost-center",
        "costcenter",
        "iamPrincipal/cost-center",
        "resourceTags/cost-center",
        "resourceTags/user_cost_center",
        "user_cost_center",
    ],
    "environment": [
        "environment",
        "env",
        "accountTag/environment",
        "resourceTags/environment",
        "resourceTags/user_environment",
        "user_environment",
    ],
    "user_id": ["user", "user_id", "userid", "end-user", "iamPrincipal/user"],
    "agent_id": ["agent", "agent_id", "agentid"],
    "workflow_id": ["workflow", "workflow_id"],
    "session_id": ["session", "session_id", "sessionid", "traceId"],
}


def _new_hash_secret() -> str:
    return secrets.token_hex(32)


slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]{0,62}$", "Use lowercase letters, digits and hyphens.")
account_id_validator = RegexValidator(r"^\d{12}$", "An AWS account id is exactly 12 digits.")


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    retention_months = models.PositiveSmallIntegerField(default=12)
    settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='Per-tenant settings, e.g. {"tag_mapping": {"team": ["iamPrincipal/squad", "team"]}}.',
    )
    # Key for the keyed prompt/response hashes; never shown, never exported.
    hash_secret = models.CharField(max_length=64, default=_new_hash_secret, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tag_mapping(self) -> dict[str, list[str]]:
        """The default mapping with this tenant's overrides applied per dimension."""
        mapping = {dim: list(keys) for dim, keys in DEFAULT_TAG_MAPPING.items()}
        custom: Any = (self.settings or {}).get("tag_mapping") or {}
        if isinstance(custom, dict):
            for dim, keys in custom.items():
                if dim in mapping and isinstance(keys, list):
                    mapping[dim] = [str(k) for k in keys]
        return mapping


class Membership(models.Model):
    class Role(models.TextChoices):
        VIEWER = "viewer", "Viewer"
        ANALYST = "analyst", "Analyst"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="uniq_membership_user_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class AwsConnection(models.Model):
    """An AWS account a tenant's data comes from. The onboarding fields arrive with the wizard."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=100)
    account_id = models.CharField(max_length=12, validators=[account_id_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="uniq_connection_tenant_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")


class AuditLog(models.Model):
    """Append-only: rows are created through connections.services.audit_log_record and never changed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="audit_entries", null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150, help_text='The user name at the time, or "system".')
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")
