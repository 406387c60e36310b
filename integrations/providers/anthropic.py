"""Anthropic messages through the official SDK.

JSON mode is asked for in the system prompt (it works on every Claude model);
the caller validates and repairs. ``temperature`` is not sent: the
``anthropic`` 2.x SDK no longer offers it on ``messages.create``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anthropic

from builder.nodes.base import Usage
from integrations import outbound
from integrations.providers.base import ChatReply, ChatRequest, classify_sdk_error

DEFAULT_MAX_TOKENS = 1024
JSON_INSTRUCTION = "Answer with one JSON object only: no prose, no code fence."


class AnthropicProvider:
    label = "Anthropic"

    def __init__(self, secret: str, config: Mapping[str, Any], workspace: Any = None):
        self._secret = secret
        self._config = config
        self._workspace = workspace  # whose outbound allow-list applies

    def _client(self, timeout: float) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key=self._secret or "not-needed",
            base_url=self._config.get("base_url") or None,
            max_retries=0,  # retries and fallbacks are decided by integrations.llm
            timeout=timeout,
            http_client=outbound.http_client(timeout=timeout, workspace=self._workspace),
        )

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system = request.system
        if request.json_mode:
            system = f"{system}\n\n{JSON_INSTRUCTION}".strip()
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": request.messages(),
        }
        if system:
            params["system"] = system
        return params

    def chat(self, request: ChatRequest) -> ChatReply:
        client = self._client(request.timeout)
        try:
            message = client.messages.create(**self._params(request))
        except (anthropic.AnthropicError, outbound.OutboundRefused) as exc:
            raise classify_sdk_error(exc, anthropic, self.label) from None
        finally:
            client.close()
        text = "".join(
            block.text for block in message.content if getattr(block, "type", "") == "text"
        )
        usage = message.usage
        return ChatReply(
            text=text,
            model=message.model or request.model,
            usage=Usage(usage.input_tokens or 0, usage.output_tokens or 0) if usage else Usage(),
        )
