"""Keep decrypted secrets out of logs and error text.

Every secret decrypted in this process is remembered (:func:`remember`);
:class:`SecretRedactionFilter` (installed on the log handlers in
``settings.LOGGING``) and :func:`redact` replace any of them with
``[redacted]``. This is a second line of defence: code should not log
secrets in the first place.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

REDACTED = "[redacted]"
MIN_LENGTH = 6  # shorter strings would redact ordinary words

_secrets: set[str] = set()
_lock = threading.Lock()


def remember(secret: str) -> None:
    if secret and len(secret) >= MIN_LENGTH:
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    if not text or not _secrets:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_value(value: Any) -> Any:
    """Redact every string inside a JSON-like value."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


class SecretRedactionFilter(logging.Filter):
    """Rewrite a record's message (and traceback text) with secrets redacted.

    The record is changed in place, so handlers that run after this one see
    the redacted text too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
