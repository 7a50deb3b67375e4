"""The only place that builds boto3 sessions and clients.

Sessions and clients are created inside functions, never at import time, so tests swap in moto.
Endpoints are never set here: boto3 reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself,
which is how the app runs against a local emulator exactly as against AWS."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

if TYPE_CHECKING:
    from connections.models import AwsConnection

USER_AGENT_EXTRA = "bedrock-finops"
# Refresh assumed-role credentials this long before they expire, so no call runs on a dying token.
REFRESH_MARGIN = timedelta(minutes=5)
SESSION_DURATION_SECONDS = 3600

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "Forbidden",
    }
)
NOT_FOUND_CODES = frozenset(
    {"ResourceNotFoundException", "NoSuchBucket", "NoSuchKey", "NotFound", "404", "ResourceNotFound"}
)
# What an emulator (or a region without the API) answers for an operation it does not have.
NOT_IMPLEMENTED_CODES = frozenset({"NotImplemented", "NotImplementedError", "UnknownOperationException", "501"})


class AwsError(Exception):
    """One error type for callers: the AWS error code, its message and the operation that failed."""

    def __init__(self, code: str, message: str, operation: str = "", http_status: int | None = None) -> None:
        super().__init__(f"{operation + ': ' if operation else ''}{code}: {message}")
        self.code = code
        self.message = message
        self.operation = operation
        self.http_status = http_status

    @property
    def access_denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES

    @property
    def not_found(self) -> bool:
        return self.code in NOT_FOUND_CODES

    @property
    def not_implemented(self) -> bool:
        if self.code in NOT_IMPLEMENTED_CODES or self.http_status == 501:
            return True
        # A moto server answers an operation it lacks with its web framework's HTML error page (status 500);
        # AWS APIs never answer in HTML.
        if self.http_status == 500 and self.message.lstrip().lower().startswith("<!doctype html"):
            return True
        return self.code == "InternalFailure" and "implemented" in self.message.lower()

    @property
    def unreachable(self) -> bool:
        """No endpoint for the service there (region without the API, or the emulator is down)."""
        return self.code in (
            "EndpointConnectionError",
            "UnknownEndpoint",
            "ConnectTimeoutError",
            "UnknownEndpointError",
        )

    def summary(self) -> str:
        return f"{self.operation or 'AWS call'} failed with {self.code}: {self.message}"

    @classmethod
    def from_exception(cls, exc: BaseException, operation: str = "") -> AwsError:
        if isinstance(exc, AwsError):
            return exc
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {}) or {}
            status = (exc.response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode")
            code = str(error.get("Code") or "")
            message = str(error.get("Message") or "")
            # Emulators sometimes answer a JSON-protocol client in XML; botocore then reports the
            # HTTP status as the code and the XML as the message. Recover the real code.
            if not code or code.isdigit():
                found = re.search(r"<Code>([\w.]+)</Code>", message)
                if found:
                    code = found.group(1)
                    text = re.search(r"<Message>(.*?)</Message>", message, re.S)
                    message = text.group(1) if text else message
                elif status == 403 or code == "403":
                    code = "AccessDenied"
                elif status == 404 or code == "404":
                    code = "NotFound"
            return cls(code or "Unknown", message, operation or exc.operation_name, status)
        if isinstance(exc, NotImplementedError):
            # moto in-process raises this for operations it lacks.
            return cls("NotImplemented", str(exc) or "operation not implemented", operation)
        if isinstance(exc, BotoCoreError):
            return cls(type(exc).__name__, str(exc), operation)
        return cls(type(exc).__name__, str(exc), operation)


@contextmanager
def aws_errors(operation: str) -> Iterator[None]:
    """Turn botocore errors raised inside the block into AwsError naming the operation."""
    try:
        yield
    except (ClientError, BotoCoreError, NotImplementedError) as exc:
        raise AwsError.from_exception(exc, operation) from exc


def _config() -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 4},
        user_agent_extra=USER_AGENT_EXTRA,
        connect_timeout=5,
        read_timeout=30,
    )


_loader_lock = threading.Lock()
_shared_loader: Any = None


def _core_session() -> botocore.session.Session:
    """A botocore session sharing one data loader: every assumption makes a session, and without
    this each one would parse the service models and endpoint data again."""
    global _shared_loader
    core = botocore.session.get_session()
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _shared_loader)
    return core


def _session(**kwargs: Any) -> boto3.session.Session:
    return boto3.session.Session(botocore_session=_core_session(), **kwargs)


def backend_session() -> boto3.session.Session:
    """The backend's own credentials (environment, profile or instance role)."""
    return _session(region_name=settings.FINOPS_AWS_REGION)


def client(session: boto3.session.Session, service: str, region: str | None = None) -> Any:
    """A client with standard retries and our user agent; the endpoint is left to boto3 (AWS_ENDPOINT_URL)."""
    return session.client(
        service, region_name=region or session.region_name or settings.FINOPS_AWS_REGION, config=_config()
    )


# --- assumed-role credentials, cached ---------------------------------------------------------


@dataclass
class _Cached:
    session: boto3.session.Session
    expires_at: datetime


_cache: dict[tuple[str, str], _Cached] = {}
_cache_lock = threading.Lock()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def clear_credential_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _cached(key: tuple[str, str], now: datetime) -> boto3.session.Session | None:
    with _cache_lock:
        entry = _cache.get(key)
        if entry is None:
            return None
        if now >= entry.expires_at - REFRESH_MARGIN:
            del _cache[key]
            return None
        return entry.session


def _aware(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return fallback


def _assume(
    source: boto3.session.Session,
    *,
    role_arn: str,
    session_name: str,
    external_id: str | None,
    now: datetime,
) -> tuple[boto3.session.Session, datetime]:
    kwargs: dict[str, Any] = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name[:64],
        "DurationSeconds": SESSION_DURATION_SECONDS,
    }
    if external_id:
        kwargs["ExternalId"] = external_id
    with aws_errors("sts:AssumeRole"):
        response = client(source, "sts").assume_role(**kwargs)
    credentials = response["Credentials"]
    session = _session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=settings.FINOPS_AWS_REGION,
    )
    expires = _aware(credentials.get("Expiration"), now + timedelta(seconds=SESSION_DURATION_SECONDS))
    return session, expires


def _audit(connection: AwsConnection, *, target: str, ok: bool, details: dict[str, Any]) -> None:
    from connections.services import audit_log_record

    audit_log_record(
        tenant=connection.tenant,
        action="connection.role_assumed",
        target=target,
        details={"connection_id": connection.pk, "ok": ok, **details},
    )


def assume_connection_role(
    connection: AwsConnection,
    *,
    session: boto3.session.Session | None = None,
    audit: bool = True,
    now: datetime | None = None,
) -> boto3.session.Session:
    """A session in the customer's account through the connection's role and ExternalId.

    Cached per (role ARN, ExternalId) until five minutes before the credentials expire. Every real
    assumption (not a cache hit) is audited, failures included. Raises AwsError."""
    if not connection.role_arn:
        raise AwsError("RoleArnMissing", "the connection has no role ARN yet", "sts:AssumeRole")
    moment = now or _utcnow()
    key = (connection.role_arn, connection.external_id)
    hit = _cached(key, moment)
    if hit is not None:
        return hit
    try:
        assumed, expires = _assume(
            session or backend_session(),
            role_arn=connection.role_arn,
            session_name=f"bedrock-finops-{connection.pk}",
            external_id=connection.external_id,
            now=moment,
        )
    except AwsError as exc:
        if audit:
            _audit(
                connection, target=connection.role_arn, ok=False, details={"error": exc.code, "message": exc.message}
            )
        raise
    with _cache_lock:
        _cache[key] = _Cached(assumed, expires)
    if audit:
        _audit(connection, target=connection.role_arn, ok=True, details={"expires_at": expires.isoformat()})
    return assumed


def member_role_arn(connection: AwsConnection, member_account_id: str) -> str:
    """arn:aws:iam::<member>:role<path><member role name>; the path is the connection's role path prefix."""
    path = connection.role_path_prefix or "/"
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    partition = connection.role_arn.split(":")[1] if connection.role_arn.count(":") >= 5 else "aws"
    return f"arn:{partition}:iam::{member_account_id}:role{path}{connection.member_role_name}"


def assume_member_role(
    connection: AwsConnection,
    member_account_id: str,
    *,
    session: boto3.session.Session | None = None,
    now: datetime | None = None,
) -> boto3.session.Session:
    """A session in a member account: the member role assumed from the connection role's session.

    Cached and audited like assume_connection_role. Raises AwsError."""
    moment = now or _utcnow()
    role_arn = member_role_arn(connection, member_account_id)
    key = (role_arn, f"via {connection.role_arn} {connection.external_id}")
    hit = _cached(key, moment)
    if hit is not None:
        return hit
    source = session or assume_connection_role(connection, now=moment)
    try:
        assumed, expires = _assume(
            source,
            role_arn=role_arn,
            session_name=f"bedrock-finops-{connection.pk}-{member_account_id}",
            external_id=None,
            now=moment,
        )
    except AwsError as exc:
        _audit(
            connection,
            target=role_arn,
            ok=False,
            details={"member_account_id": member_account_id, "error": exc.code, "message": exc.message},
        )
        raise
    with _cache_lock:
        _cache[key] = _Cached(assumed, expires)
    _audit(
        connection,
        target=role_arn,
        ok=True,
        details={"member_account_id": member_account_id, "expires_at": expires.isoformat()},
    )
    return assumed


def caller_account(session: boto3.session.Session) -> str:
    """The account id the session's credentials belong to. Raises AwsError."""
    with aws_errors("sts:GetCallerIdentity"):
        return str(client(session, "sts").get_caller_identity()["Account"])


def available_regions(service: str) -> list[str]:
    """Regions botocore knows for a service (local endpoint data, no call)."""
    return _session().get_available_regions(service)
