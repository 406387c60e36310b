"""Where webhook URLs come from. Webhook triggers register hooks when the
runtime's trigger support lands; until then a workflow has none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_providers: list[Callable[[Any], list[dict[str, str]]]] = []


def register(provider: Callable[[Any], list[dict[str, str]]]) -> None:
    _providers.append(provider)


def urls_for(workflow: Any) -> list[dict[str, str]]:
    return [hook for provider in _providers for hook in provider(workflow)]
