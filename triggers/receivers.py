"""Reactions to committed run events (registered in runtime.events)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)


def on_run_events(events: Sequence[Any]) -> None:
    """After a run's end commits: wake sync-webhook waiters, resume the
    parent step of a child run, start the workflows watching it."""
    from runtime.events import facts_of
    from runtime.models import RUN_FINISHED

    ended = {e.run_id: facts_of(e) for e in events if e.kind == "run" and e.status in RUN_FINISHED}
    if not ended:
        return
    from triggers import waiting

    waiting.notify(ended)
    # Only webhook-started runs have waiters in the web processes.
    waited = [
        str(r) for r, facts in ended.items() if facts is None or facts.trigger_kind == "webhook"
    ]
    if not waiting.ended_here(ended):
        waiting.publish_finished(waited)
    for run_id, facts in ended.items():
        try:
            after_run_finished(run_id, facts)
        except Exception:
            log.exception("reacting to the end of run %s failed", run_id)


def after_run_finished(run_id: Any, facts: Any = None) -> None:
    from runtime.models import Run, new
    from triggers import children, services

    if facts is not None:
        run = new(
            Run,
            id=run_id,
            workflow_id=facts.workflow_id,
            workspace_id=facts.workspace_id,
            status=facts.status,
            output=facts.output,
            parent_step_id=facts.parent_step_id,
        )
    else:
        run = (
            Run.objects.filter(pk=run_id)
            .only("id", "workflow_id", "workspace_id", "status", "output", "parent_step_id")
            .first()
        )
    if run is None:
        return
    if run.parent_step_id is not None:
        children.wake_parent(run.parent_step_id)
    if run.status != "succeeded":
        children.cancel_orphans(run_id)
    from runtime.events import probe_answer

    watched = probe_answer(facts, "triggers.watched") if facts is not None else None
    services.start_event_runs(run, watched)
