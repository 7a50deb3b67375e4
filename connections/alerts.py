"""Send a tenant's alerts to its channels (email, Slack-compatible webhook). A channel that fails is
audited with the error and never stops the others, nor the work that raised the alert."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

from connections.models import AlertChannel, Tenant
from connections.services import audit_log_record

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = 10


@dataclass(frozen=True)
class Sent:
    channel: str
    ok: bool
    error: str = ""


def _post_webhook(url: str, text: str) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:  # noqa: S310 - https only (clean())
        if response.status >= 300:
            raise urllib.error.HTTPError(url, response.status, "webhook refused the alert", response.headers, None)


def alerts_send(*, tenant: Tenant, subject: str, text: str, kind: str) -> list[Sent]:
    """Send one alert to every enabled channel of the tenant; audited per channel."""
    results: list[Sent] = []
    for channel in AlertChannel.objects.filter(tenant=tenant, enabled=True):
        try:
            if channel.kind == AlertChannel.Kind.EMAIL:
                send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [channel.target])
            else:
                _post_webhook(channel.target, f"*{subject}*\n{text}")
            results.append(Sent(str(channel), True))
        except (OSError, urllib.error.URLError, ValueError) as exc:
            logger.warning("alert to %s failed: %s", channel, exc)
            results.append(Sent(str(channel), False, str(exc)[:300]))
        audit_log_record(
            tenant=tenant,
            action="alert.sent" if results[-1].ok else "alert.failed",
            target=str(channel)[:255],
            details={"kind": kind, "subject": subject[:200], "error": results[-1].error},
        )
    return results
