"""The diagnosis as text: one rendering shared by the connection page and `diagnose_connection`."""

from __future__ import annotations

from connections.models import AwsConnection

MARKS = {"green": "OK  ", "red": "FAIL", "amber": "WARN", "skipped": "SKIP"}


def diagnosis_text(connection: AwsConnection) -> str:
    lines = [
        f"Connection {connection.pk} {connection.name!r} (tenant {connection.tenant.slug}, "
        f"account {connection.account_id}, {connection.get_mode_display()})",
        f"Status: {connection.get_status_display()}"
        + (
            f"; last validated {connection.last_validated_at:%Y-%m-%d %H:%M UTC}"
            if connection.last_validated_at
            else ""
        ),
    ]
    if connection.status == AwsConnection.Status.PAUSED:
        lines.append("The connection is paused: nothing is pulled or validated until it is resumed.")
    if not connection.last_validation:
        lines.append("Not validated yet. Paste the role ARN after deploying the stack, then validate.")
        return "\n".join(lines) + "\n"
    for check in connection.last_validation:
        lines.append(
            f"[{MARKS.get(check.get('status', ''), '????')}] {check.get('label', check.get('key'))}: "
            f"{check.get('message', '')}"
        )
        for item in check.get("findings", []):
            lines.append(f"       {item.get('title', item.get('code'))}")
            if item.get("evidence"):
                lines.append(f"         Seen: {item['evidence']}")
            lines.append(f"         Cause: {item.get('cause', '')}")
            remedy = str(item.get("remedy", "")).splitlines() or [""]
            lines.append(f"         Remedy: {remedy[0]}")
            lines.extend(f"           {line}" for line in remedy[1:])
    return "\n".join(lines) + "\n"
