"""Reactions to committed run events (registered in runtime.events)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


def on_run_events(events: Sequence[Any]) -> None:
    """After a run's end commits: wake sync-webhook waiters, resume the
    parent step of a child run, start the workflows watching it."""
    from runtime.models import RUN_FINISHED

    finished = [e.run_id for e in events if e.kind == "run" and e.status in RUN_FINISHED]
    if not finished:
        return
    from triggers import waiting

    waiting.notify(finished)
    waiting.publish_finished([str(run_id) for run_id in finished])
    for run_id in dict.fromkeys(finished):
        try:
            after_run_finished(run_id)
        except Exception:
            log.exception("reacting to the end of run %s failed", run_id)


def after_run_finished(run_id: Any) -> None:
    from runtime.models import Run
    from triggers import children, services

    run = (
        Run.objects.filter(pk=run_id)
        .only("id", "workflow_id", "workspace_id", "status", "output", "parent_step_id")
        .first()
    )
    if run is None:
        return
    if run.parent_step_id is not None:
        children.wake_parent(run.parent_step_id)
    services.start_event_runs(run)
