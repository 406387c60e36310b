"""The small provider interface every chat model speaks, and its error classes.

A provider answers one :class:`ChatRequest` with a :class:`ChatReply` or
raises :class:`ProviderError`. Errors are classified once, here:

==================  ===============  =========  ===============================
type                cause            retryable  what the caller does
==================  ===============  =========  ===============================
``RateLimited``     HTTP 429         yes        next fallback; on the last one
                                                wait Retry-After inline if it is
                                                short, else hand ``retry_after``
                                                to the runtime
``ProviderTimeout`` no answer in     yes        next fallback
                    time
``ProviderError``   5xx, connection  yes        one inline retry, then next
                    lost                        fallback
``ProviderRejected`` other 4xx       no         next fallback
``OutboundRefused`` internal address no         next fallback
``CredentialDisabled``/``CredentialNotFound``  no  next fallback
==================  ===============  =========  ===============================
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from builder.nodes.base import NodeError, Usage
from integrations import redaction
from integrations.outbound import OutboundRefused

MAX_MESSAGE = 600


@dataclass(frozen=True)
class ChatRequest:
    model: str
    prompt: str
    system: str = ""
    #: earlier turns, ``[{"role": "user"|"assistant", "content": str}]``; the
    #: prompt is sent after them as the last user message
    history: tuple[Mapping[str, str], ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    json_mode: bool = False
    timeout: float = 60.0

    def messages(self) -> list[dict[str, str]]:
        turns = [{"role": turn["role"], "content": turn["content"]} for turn in self.history]
        return [*turns, {"role": "user", "content": self.prompt}]


@dataclass(frozen=True)
class ChatReply:
    text: str
    model: str
    usage: Usage = field(default_factory=Usage)


class Provider(Protocol):
    def chat(self, request: ChatRequest) -> ChatReply: ...


class ProviderError(NodeError):
    """A classified provider failure; its message is already redacted."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "ProviderError",
        retryable: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ):
        message = redaction.redact(message)[:MAX_MESSAGE]
        super().__init__(message, type=type, retryable=retryable)
        self.retry_after = retry_after
        self.status = status


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    if headers.get("retry-after-ms"):
        try:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, kind):
            return current
        current, seen = current.__cause__ or current.__context__, seen + 1
    return None


def classify_sdk_error(exc: Exception, sdk: Any, label: str) -> ProviderError:
    """Turn an ``openai`` or ``anthropic`` SDK exception into a ProviderError
    (both SDKs share the same exception names)."""
    refused = _caused_by(exc, OutboundRefused)
    if refused is not None:
        return ProviderError(str(refused), type="OutboundRefused")
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError(
            f"{label} did not answer in time.", type="ProviderTimeout", retryable=True
        )
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"{label} could not be reached: {exc}", retryable=True)
    if isinstance(exc, sdk.APIStatusError):
        return _classify_status(exc, label)
    return ProviderError(f"{label} failed: {exc}")


def _classify_status(exc: Any, label: str) -> ProviderError:
    status = exc.status_code
    detail = f"{label} answered HTTP {status}: {exc.message}"
    if status == 429:
        wait = retry_after_seconds(exc.response.headers)
        return ProviderError(
            detail, type="RateLimited", retryable=True, retry_after=wait, status=status
        )
    if status >= 500 or status in (408, 409):
        return ProviderError(detail, retryable=True, status=status)
    return ProviderError(detail, type="ProviderRejected", status=status)
