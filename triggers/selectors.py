"""Read paths of the triggers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from triggers.models import Hook, Schedule


def hook_url(hook: Hook) -> str:
    return settings.BASE_URL.rstrip("/") + reverse("triggers:hook", args=[hook.pk])


def hook_urls(workflow: Any) -> list[dict[str, str]]:
    """``[{node_id, url}]`` of the published version's webhook triggers."""
    if workflow.published_version_id is None or workflow.deleted_at is not None:
        return []
    hooks = Hook.objects.filter(workflow=workflow).order_by("node_id")
    return [{"node_id": hook.node_id, "url": hook_url(hook)} for hook in hooks]


def schedule_times(workflow: Any) -> list[Schedule]:
    """The published version's schedule triggers, by node id (each with its
    ``cron``, ``timezone``, ``next_fire_at`` and ``last_fired_at``)."""
    if workflow.published_version_id is None or workflow.deleted_at is not None:
        return []
    return list(Schedule.objects.filter(workflow=workflow).order_by("node_id"))
