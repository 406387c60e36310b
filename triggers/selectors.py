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


def schedule_times(workflow: Any) -> list[dict[str, Any]]:
    """``[{node_id, cron, timezone, next_fire_at, last_fired_at}]`` of the
    published version's schedule triggers (times in UTC, ISO 8601)."""
    if workflow.published_version_id is None or workflow.deleted_at is not None:
        return []
    schedules = Schedule.objects.filter(workflow=workflow).order_by("node_id")
    return [
        {
            "node_id": schedule.node_id,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "next_fire_at": _iso(schedule.next_fire_at),
            "last_fired_at": _iso(schedule.last_fired_at),
        }
        for schedule in schedules
    ]


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
