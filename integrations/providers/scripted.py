"""The ``scripted`` provider: a test double whose answers are written in the
credential's config. It never touches the network, so the demo works offline.

Config::

    {
      "replies": [
        {"match": "refund", "text": "We are sorry; your refund is on its way."},
        {"match": "invoice", "json": {"category": "billing", "confidence": 0.93}},
        {"match": "flaky", "error": "rate_limit", "retry_after": 1}
      ],
      "default": "Thanks for your message."
    }

The first reply whose ``match`` occurs (case-insensitively) in the system
text or the prompt answers; a reply without ``match`` matches everything.
``json`` replies are sent as JSON text. ``error`` simulates a provider
failure: ``rate_limit``, ``timeout``, ``server`` or ``rejected``. Without a
match the ``default`` text answers, else a short echo of the prompt. Tokens
are estimated (about four characters per token), so usage and cost show.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from builder.nodes.base import Usage
from integrations.providers.base import ChatReply, ChatRequest, ProviderError

_ERRORS: dict[str, dict[str, Any]] = {
    "rate_limit": {"type": "RateLimited", "retryable": True},
    "timeout": {"type": "ProviderTimeout", "retryable": True},
    "server": {"type": "ProviderError", "retryable": True},
    "rejected": {"type": "ProviderRejected", "retryable": False},
}


def estimate_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4)) if text else 0


class ScriptedProvider:
    label = "Scripted test double"

    def __init__(self, secret: str, config: Mapping[str, Any], workspace: Any = None):
        self._config = config

    def _pick(self, request: ChatRequest) -> Mapping[str, Any] | None:
        haystack = f"{request.system}\n{request.prompt}".lower()
        for reply in self._config.get("replies") or []:
            match = str(reply.get("match") or "").lower()
            if not match or match in haystack:
                return reply
        return None

    def _text(self, request: ChatRequest, reply: Mapping[str, Any] | None) -> str:
        if reply is None:
            default = self._config.get("default")
            return str(default) if default is not None else f"(scripted) {request.prompt[:200]}"
        if "json" in reply:
            return json.dumps(reply["json"])
        return str(reply.get("text", ""))

    def chat(self, request: ChatRequest) -> ChatReply:
        reply = self._pick(request)
        if reply is not None and reply.get("error"):
            error = _ERRORS.get(str(reply["error"]), _ERRORS["server"])
            raise ProviderError(
                f"{self.label} simulated {reply['error']}.",
                retry_after=reply.get("retry_after"),
                **error,
            )
        text = self._text(request, reply)
        prompt_tokens = estimate_tokens(request.system) + estimate_tokens(request.prompt)
        prompt_tokens += sum(estimate_tokens(turn["content"]) for turn in request.history)
        return ChatReply(
            text=text, model=request.model, usage=Usage(prompt_tokens, estimate_tokens(text))
        )
