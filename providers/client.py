"""A small JSON client for the providers' admin APIs: cursor pagination (`has_more` + `next_page`), 429
honouring `retry-after`, 5xx and connection errors retried with backoff (bounded), timeouts, and every HTTP
failure turned into a ProviderError with a remedy a tenant admin can act on. The key goes in a header and
is never part of a message, a log line or an exception."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

TIMEOUT = (10.0, 60.0)  # connect, read (seconds)
MAX_ATTEMPTS = 5
MAX_RETRY_AFTER = 120.0  # seconds: a longer wait fails the sync instead of holding a worker
MAX_PAGES = 10_000


def base_url(setting: str, default: str) -> str:
    """The provider's API root: `default`, or the Django setting / environment variable `setting` (a proxy,
    a regional endpoint, or a local fake in browser tests). No trailing slash."""
    value = getattr(settings, setting, "") or os.environ.get(setting, "") or default
    return str(value).rstrip("/")


@dataclass(frozen=True)
class Remedies:
    """Provider-specific wording: where to create an Admin key, what a standard key looks like."""

    provider: str
    admin_keys_url: str
    admin_key_prefix: str


class ProviderError(Exception):
    def __init__(self, message: str, *, remedy: str, status: int | None = None, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy
        self.status = status
        self.kind = kind  # bad_key, no_admin_scope, rate_limited, unavailable, network, bad_response, error


def _retry_after(response: requests.Response, default: float) -> float:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return default
        return max(0.0, when.timestamp() - time.time())


def _api_message(response: requests.Response) -> str:
    """The provider's own error text (both APIs return {"error": {"message": ...}}), shortened."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or "")[:300]
    return str(error or "")[:300]


@dataclass
class ApiClient:
    base_url: str
    headers: dict[str, str]
    remedies: Remedies
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    max_attempts: int = MAX_ATTEMPTS
    timeout: tuple[float, float] = TIMEOUT
    requests_made: int = 0

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        for attempt in range(1, self.max_attempts + 1):
            self.requests_made += 1
            try:
                response = self.session.get(url, params=params, headers=self.headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.max_attempts:
                    raise ProviderError(
                        f"{self.remedies.provider} could not be reached ({type(exc).__name__}) after {attempt} tries",
                        remedy="Check this server's outbound HTTPS access to the provider, then sync again.",
                        kind="network",
                    ) from None
                self.sleep(min(2.0**attempt, 30.0))
                continue
            if response.status_code == 429:
                wait = _retry_after(response, default=min(2.0**attempt, 30.0))
                if attempt == self.max_attempts or wait > MAX_RETRY_AFTER:
                    raise ProviderError(
                        f"{self.remedies.provider} rate limit (HTTP 429) still hit after {attempt} tries",
                        remedy="The organization's admin API rate limit was reached; the next scheduled sync "
                        "resumes where this one stopped.",
                        status=429,
                        kind="rate_limited",
                    )
                logger.info("%s %s: 429, retrying in %.1f s", self.remedies.provider, path, wait)
                self.sleep(wait)
                continue
            if response.status_code >= 500:
                if attempt == self.max_attempts:
                    raise ProviderError(
                        f"{self.remedies.provider} answered HTTP {response.status_code} on {path} "
                        f"after {attempt} tries",
                        remedy="The provider's API is failing; sync again later (nothing was lost).",
                        status=response.status_code,
                        kind="unavailable",
                    )
                self.sleep(min(2.0**attempt, 30.0))
                continue
            if response.status_code >= 400:
                raise self._client_error(response, path)
            try:
                # Decimal, not float: the costs endpoint sends dollars as JSON numbers.
                body = json.loads(response.content, parse_float=Decimal)
            except ValueError:
                raise ProviderError(
                    f"{self.remedies.provider} returned a response on {path} that is not JSON",
                    remedy="Check that no proxy rewrites the provider's responses, then sync again.",
                    status=response.status_code,
                    kind="bad_response",
                ) from None
            if not isinstance(body, dict):
                raise ProviderError(
                    f"{self.remedies.provider} returned an unexpected JSON document on {path}",
                    remedy="Report this to support with the endpoint name.",
                    kind="bad_response",
                )
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    def _client_error(self, response: requests.Response, path: str) -> ProviderError:
        said = _api_message(response)
        status = response.status_code
        r = self.remedies
        if status == 401:
            return ProviderError(
                f"{r.provider} refused the key (HTTP 401: invalid or revoked){f': {said}' if said else ''}",
                remedy=f"Create an Admin key at {r.admin_keys_url} (it starts with {r.admin_key_prefix}) and enter it "
                "on this connection.",
                status=status,
                kind="bad_key",
            )
        if status == 403:
            return ProviderError(
                f"{r.provider} denied {path} (HTTP 403): the key has no admin scope{f': {said}' if said else ''}",
                remedy=f"This is a project or standard API key. Usage and cost data need an organization Admin key "
                f"({r.admin_key_prefix}…), created by an organization owner at {r.admin_keys_url}.",
                status=status,
                kind="no_admin_scope",
            )
        return ProviderError(
            f"{r.provider} rejected the request to {path} (HTTP {status}){f': {said}' if said else ''}",
            remedy="Check the dates asked for (the APIs accept at most 31 daily buckets per page); if it persists, "
            "report it to support with this message.",
            status=status,
            kind="error",
        )

    def listing(self, path: str, params: dict[str, Any], *, cursor: str) -> Iterator[dict[str, Any]]:
        """Every object of a list endpoint paginated by object id: `has_more` and `last_id`, sent back as
        `cursor` (OpenAI `after`, Anthropic `after_id`)."""
        query = dict(params)
        for _ in range(MAX_PAGES):
            body = self.get(path, query)
            data = body.get("data")
            if not isinstance(data, list):
                raise ProviderError(
                    f"{self.remedies.provider} returned a list without data on {path}",
                    remedy="Report this to support with the endpoint name.",
                    kind="bad_response",
                )
            yield from (item for item in data if isinstance(item, dict))
            last = body.get("last_id") or (data[-1].get("id") if data and isinstance(data[-1], dict) else None)
            if not body.get("has_more") or not last:
                return
            query = {**params, cursor: last}
        raise ProviderError(
            f"{self.remedies.provider} kept returning pages on {path} (more than {MAX_PAGES})",
            remedy="Report this to support with the endpoint name.",
            kind="bad_response",
        )

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page of a paginated endpoint, following `next_page` while `has_more`."""
        query = dict(params)
        for _ in range(MAX_PAGES):
            body = self.get(path, query)
            yield body
            cursor = body.get("next_page")
            if not body.get("has_more") or not cursor:
                return
            query = {**params, "page": cursor}
        raise ProviderError(
            f"{self.remedies.provider} kept returning pages on {path} (more than {MAX_PAGES})",
            remedy="Sync a shorter date range with --since/--until.",
            kind="bad_response",
        )
