"""Celery tasks: ids in, a service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="runtime.execute_step", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def execute_step(step_id: int, run_id: str | None = None) -> None:
    """Claim step ``step_id`` (of run ``run_id``, when the sender knew it) and
    run it (and any single ready successor). A duplicate or late delivery
    finds the step claimed or ended and does nothing.

    A connection the database server ended since its last check (a restart,
    an idle timeout; the worker checks at most once a second, see
    ``config.celery``) fails the first statement: the task then runs once
    more on a new connection instead of leaving the step to the sweeper."""
    from django.db import InterfaceError, OperationalError, connection

    from runtime.engine.execute import execute_step as run

    try:
        run(step_id, run_id)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or (connection.connection and connection.is_usable()):
            raise
        connection.close()
        run(step_id, run_id)


@shared_task(name="runtime.tick", ignore_result=True)
def tick() -> None:
    """Wake due timers and retries, re-send lost messages, recover expired leases."""
    from runtime.engine.sweeper import tick as sweep

    sweep()
