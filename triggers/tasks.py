"""Celery tasks of the triggers: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

#: how often `celery -A config beat` runs :func:`tick` (seconds)
TICK_S = 5.0


@shared_task(name="triggers.tick", ignore_result=True)
def tick() -> None:
    """Fire due schedules, wake parents of finished child runs, clean up.
    Two ticks at once are safe: every fire is claimed by a conditional UPDATE."""
    from triggers import services

    services.tick()


def beat_entry() -> dict:
    return {"task": "triggers.tick", "schedule": TICK_S, "options": {"expires": TICK_S * 2}}
