"""Celery tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="approvals.tick", ignore_result=True)
def tick() -> None:
    """Time out, escalate and remind pending approval tasks; close strays."""
    from approvals.timers import tick as run_tick

    run_tick()
