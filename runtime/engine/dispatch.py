"""Hand step ids to the broker, only after the transaction that made them
queued commits (a worker must never look for a row that is not there yet).

A message lost between commit and broker is found by the sweeper: the step
stays ``queued`` with an old ``dispatched_at`` and is sent again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)


_local = threading.local()

#: what :func:`held` collects: (step ids, run id) per commit
Batches = list[tuple[list[int], Any]]


@contextmanager
def held() -> Iterator[Batches]:
    """Inside the block, the steps this thread makes queued are not sent when
    their transaction commits but collected, for the caller to run here or
    send (:func:`runtime.services.steps_held`). A batch the
    caller drops is found by the sweeper, like a lost message."""
    batches: Batches = []
    previous = getattr(_local, "held", None)
    _local.held = batches
    try:
        yield batches
    finally:
        _local.held = previous


def on_commit(step_ids: Sequence[int], run_id: Any = None) -> None:
    if step_ids:
        ids = list(step_ids)
        batches = getattr(_local, "held", None)
        if batches is not None:
            transaction.on_commit(lambda: batches.append((ids, run_id)))
        else:
            transaction.on_commit(lambda: send(ids, run_id))


def send(step_ids: Sequence[int], run_id: Any = None) -> None:
    """Publish one ``execute_step`` message per id over one producer
    connection. The run's id rides along, so the worker locks the run
    without first looking up the step."""
    from runtime.tasks import execute_step

    if not step_ids:
        return
    extra = (str(run_id),) if run_id is not None else ()
    try:
        if len(step_ids) == 1 or execute_step.app.conf.task_always_eager:
            for step_id in step_ids:
                execute_step.apply_async((step_id, *extra))
            return
        with execute_step.app.producer_or_acquire() as producer:
            for step_id in step_ids:
                execute_step.apply_async((step_id, *extra), producer=producer)
    except Exception:
        # The rows are committed; the sweeper re-sends what the broker missed.
        log.exception("could not dispatch steps %s; the sweeper will retry", list(step_ids))
