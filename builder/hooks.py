"""Small registries through which other apps extend the builder without the
builder importing them.

- ``register(provider)``: webhook URLs of a workflow (the workflow API's
  ``hooks`` list); the triggers app registers its provider.
- ``register_schedules(provider)``: when a workflow's schedules fire next
  (the workflow API's ``schedules`` list), likewise.
- ``on_draft_saved(receiver)``: called as ``receiver(workflow, user)`` after
  the transaction that gave the draft a new revision commits (live notices).
- ``on_publish(receiver)``: called as ``receiver(workflow, version)`` inside
  the transaction that makes ``version`` the published one, so triggers
  (webhook hooks, schedules, event subscriptions) go live with it or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_providers: list[Callable[[Any], list[dict[str, str]]]] = []
_schedule_providers: list[Callable[[Any], list[Any]]] = []
_publish_receivers: list[Callable[[Any, Any], None]] = []
_draft_receivers: list[Callable[[Any, Any], None]] = []


def register(provider: Callable[[Any], list[dict[str, str]]]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def urls_for(workflow: Any) -> list[dict[str, str]]:
    return [hook for provider in _providers for hook in provider(workflow)]


def register_schedules(provider: Callable[[Any], list[Any]]) -> None:
    if provider not in _schedule_providers:
        _schedule_providers.append(provider)


def schedules_for(workflow: Any) -> list[Any]:
    return [item for provider in _schedule_providers for item in provider(workflow)]


def on_publish(receiver: Callable[[Any, Any], None]) -> None:
    if receiver not in _publish_receivers:
        _publish_receivers.append(receiver)


def published(workflow: Any, version: Any) -> None:
    """Tell every receiver that ``version`` is now ``workflow``'s published one."""
    for receiver in _publish_receivers:
        receiver(workflow, version)


def on_draft_saved(receiver: Callable[[Any, Any], None]) -> None:
    if receiver not in _draft_receivers:
        _draft_receivers.append(receiver)


def draft_saved(workflow: Any, user: Any) -> None:
    for receiver in _draft_receivers:
        receiver(workflow, user)
