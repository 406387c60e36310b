"""Standard Webhooks signatures (https://www.standardwebhooks.com/). Pure.

A signed call carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds)
and ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` entries
over ``"{id}.{timestamp}.{body}"``. A secret spelled ``whsec_<base64>`` is
used as the decoded bytes, as the specification says; any other secret as its
UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

TOLERANCE_S = 5 * 60


class BadSignature(Exception):
    pass


def key_bytes(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> str:
    """Check a call's signature; return its message id. Raises BadSignature."""
    message_id = headers.get("webhook-id", "")
    timestamp_text = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (message_id and timestamp_text and signatures):
        raise BadSignature(
            "The call is not signed (webhook-id, webhook-timestamp, webhook-signature)."
        )
    if len(message_id) > 200:
        raise BadSignature("webhook-id is too long.")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise BadSignature("webhook-timestamp is not a Unix time.") from None
    if abs(now - timestamp) > TOLERANCE_S:
        raise BadSignature("webhook-timestamp is more than 5 minutes away from now.")
    expected = sign(secret, message_id, timestamp, body)
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected.encode()):
            return message_id
    raise BadSignature("No webhook-signature matches.")
