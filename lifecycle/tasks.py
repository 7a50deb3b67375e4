"""django-q2 tasks: thin, call one service, return a small summary."""

from __future__ import annotations

from lifecycle.services import lifecycle_nightly


def purge_expired_data() -> dict[str, object]:
    """Nightly: deletion requests past their grace period, then every tenant's retention."""
    return lifecycle_nightly()
