"""Chat model providers behind one small interface (:mod:`.base`).

``provider_for(kind, secret, config, workspace)`` builds the provider a credential's
kind names; the kinds that are not chat models (``http``, ``smtp``) have
none. Provider modules are imported on first use: the SDKs take seconds to
import, and the node catalog is loaded by every process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.module_loading import import_string

from integrations import redaction
from integrations.providers.base import ChatReply, ChatRequest, Provider, ProviderError

PROVIDERS: dict[str, str] = {
    "openai": "integrations.providers.openai.OpenAIProvider",
    "anthropic": "integrations.providers.anthropic.AnthropicProvider",
    "scripted": "integrations.providers.scripted.ScriptedProvider",
}


def provider_for(
    kind: str, secret: str, config: Mapping[str, Any], workspace: Any = None
) -> Provider:
    """``workspace`` (a Workspace or its id) is the one the calls are made
    for: its outbound allow-list applies to them."""
    path = PROVIDERS.get(kind)
    if path is None:
        raise ProviderError(
            f"A {kind} credential cannot answer chat requests.", type="CredentialUnsuitable"
        )
    redaction.remember(secret)
    return import_string(path)(secret, config, workspace=workspace)


__all__ = ["ChatReply", "ChatRequest", "Provider", "ProviderError", "provider_for"]
