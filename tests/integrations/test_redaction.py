"""Secrets seen by this process never reach a log line."""

from __future__ import annotations

import io
import logging

from integrations import crypto, redaction
from tests.integrations.fake_providers import CANARY


def test_the_filter_redacts_decrypted_secrets_in_messages_and_tracebacks():
    crypto.decrypt(crypto.encrypt(CANARY))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redaction.SecretRedactionFilter())
    logger = logging.getLogger("baton.redaction-test")
    logger.addHandler(handler)
    try:
        logger.warning("calling with key %s", CANARY)
        try:
            raise ValueError(f"bad key {CANARY}")
        except ValueError:
            logger.exception("provider failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert CANARY not in text
    assert text.count("[redacted]") == 2


def test_the_filter_is_installed_on_the_console_handler(settings):
    console = settings.LOGGING["handlers"]["console"]
    assert "redact_secrets" in console["filters"]
    assert settings.LOGGING["filters"]["redact_secrets"]["()"].endswith("SecretRedactionFilter")
    installed = [
        f
        for h in logging.getLogger().handlers
        for f in h.filters
        if isinstance(f, redaction.SecretRedactionFilter)
    ]
    assert installed, "django.setup() put the filter on the root logger's console handler"


def test_redact_value_walks_json():
    redaction.remember(CANARY)
    value = {"a": [f"x{CANARY}y", 3], "b": CANARY}
    assert redaction.redact_value(value) == {"a": ["x[redacted]y", 3], "b": "[redacted]"}
