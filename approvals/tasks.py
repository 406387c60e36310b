"""Celery tasks: ids in, a service call, safe to run twice.

``approvals.tick`` runs from Celery beat: registered here with
``add_periodic_task`` when the worker or beat imports this module, so
config/celery.py needs no entry of ours.
"""

from __future__ import annotations

from celery import shared_task

from config.celery import app

TICK_S = 5.0


@shared_task(name="approvals.tick", ignore_result=True)
def tick() -> None:
    """Escalate and remind pending approval tasks, time out those past their
    limit, close those whose run ended."""
    from approvals.timers import tick as run_tick

    run_tick()


app.add_periodic_task(TICK_S, tick.s(), name="approvals-tick", expires=TICK_S * 2)
