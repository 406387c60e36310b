"""Encryption of credential secrets at rest: Fernet with key rotation.

``settings.ENCRYPTION_KEYS`` lists Fernet keys, newest first. New tokens are
made with the newest key; every listed key still decrypts. Rotation: prepend a
new key, restart, run ``manage.py reencrypt_credentials``, then drop the old
key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from integrations import redaction


class SecretUnreadable(Exception):
    """No configured key decrypts this token (a key was dropped too early)."""


def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("BATON_ENCRYPTION_KEYS holds no key.")
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"BATON_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}"
        ) from None


def encrypt(secret: str) -> str:
    """A Fernet token of ``secret``, made with the newest key. The secret is
    remembered by the log redaction filter from this moment on."""
    if not secret:
        return ""
    redaction.remember(secret)
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The plain secret. Every secret decrypted is remembered by the log
    redaction filter, so it cannot leak through a log line afterwards."""
    if not token:
        return ""
    try:
        secret = _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("No configured encryption key decrypts this secret.") from None
    redaction.remember(secret)
    return secret


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    if not token:
        return ""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("No configured encryption key decrypts this secret.") from None
