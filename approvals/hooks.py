"""Run-event hook: a run that ends while an approval waits closes the task
(cancelled runs, and runs failed by another branch)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from runtime.models import RUN_FINISHED

log = logging.getLogger(__name__)


def close_tasks_of_finished_runs(events: Sequence[Any]) -> None:
    from approvals.services import close_tasks_for_run

    # A run succeeds only once nothing waits, so its tasks are decided already.
    ended = {
        e.run_id
        for e in events
        if e.kind == "run" and e.status in RUN_FINISHED and e.status != "succeeded"
    }
    for run_id in ended:
        close_tasks_for_run(run_id)
