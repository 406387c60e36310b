"""Celery tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="runtime.execute_step", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def execute_step(step_id: int, run_id: str | None = None) -> None:
    """Claim step ``step_id`` (of run ``run_id``, when the sender knew it) and
    run it (and any single ready successor). A duplicate or late delivery
    finds the step claimed or ended and does nothing; so a connection the
    database server ended since its last check (``config.db``) costs one
    more try on a new one, not a wait for the sweeper."""
    from config.db import once_more_on_a_new_connection
    from runtime.engine.execute import execute_step as run

    once_more_on_a_new_connection(run, step_id, run_id)


@shared_task(name="runtime.tick", ignore_result=True)
def tick() -> None:
    """Wake due timers and retries, re-send lost messages, recover expired leases."""
    from runtime.engine.sweeper import tick as sweep

    sweep()
