"""OpenAI chat completions through the official SDK; also any OpenAI-compatible
server (Ollama, vLLM, LM Studio, Azure OpenAI's v1 endpoint) through ``base_url``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai

from builder.nodes.base import Usage
from integrations import outbound
from integrations.providers.base import ChatReply, ChatRequest, classify_sdk_error

# Local OpenAI-compatible servers ignore the key, but the SDK wants one.
PLACEHOLDER_KEY = "not-needed"


class OpenAIProvider:
    label = "OpenAI"

    def __init__(self, secret: str, config: Mapping[str, Any], workspace: Any = None):
        self._secret = secret
        self._config = config
        self._workspace = workspace  # whose outbound allow-list applies

    def _client(self, timeout: float) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self._secret or PLACEHOLDER_KEY,
            base_url=self._config.get("base_url") or None,
            organization=self._config.get("organization") or None,
            max_retries=0,  # retries and fallbacks are decided by integrations.llm
            timeout=timeout,
            http_client=outbound.http_client(timeout=timeout, workspace=self._workspace),
        )

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        messages = request.messages()
        if request.system:
            messages.insert(0, {"role": "system", "content": request.system})
        params: dict[str, Any] = {"model": request.model, "messages": messages}
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.max_tokens is not None:
            # api.openai.com's reasoning models only take max_completion_tokens;
            # OpenAI-compatible servers (a base_url) know max_tokens best.
            key = "max_tokens" if self._config.get("base_url") else "max_completion_tokens"
            params[key] = request.max_tokens
        if request.json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    def chat(self, request: ChatRequest) -> ChatReply:
        client = self._client(request.timeout)
        try:
            completion = client.chat.completions.create(**self._params(request))
        except (openai.OpenAIError, outbound.OutboundRefused) as exc:
            raise classify_sdk_error(exc, openai, self.label) from None
        finally:
            client.close()
        usage = completion.usage
        return ChatReply(
            text=(completion.choices[0].message.content or "") if completion.choices else "",
            model=completion.model or request.model,
            usage=Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0)
            if usage
            else Usage(),
        )
