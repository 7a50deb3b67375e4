"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived by HKDF-SHA256 from
FINOPS_SECRETS_KEY (a Django setting or environment variable), falling back to SECRET_KEY.

Rotating SECRET_KEY without setting FINOPS_SECRETS_KEY to the old value makes stored keys unreadable:
set FINOPS_SECRETS_KEY once to a long random string and keep it when SECRET_KEY changes. A secret that
cannot be decrypted raises SecretUnreadable (the connection page then asks for the key again)."""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"finops providers api key v1"


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted with the current key (FINOPS_SECRETS_KEY/SECRET_KEY changed)."""


def _master() -> bytes:
    value = getattr(settings, "FINOPS_SECRETS_KEY", "") or os.environ.get("FINOPS_SECRETS_KEY", "")
    return (value or settings.SECRET_KEY).encode()


def _fernet() -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"finops-secrets", info=_INFO).derive(_master())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "the stored API key cannot be decrypted (FINOPS_SECRETS_KEY or SECRET_KEY changed): enter the key again"
        ) from exc


def mask_secret(value: str) -> str:
    """Only the last four characters, as the providers' consoles show them."""
    return f"…{value[-4:]}" if len(value) >= 8 else "…"
