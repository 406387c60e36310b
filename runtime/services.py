"""The runtime's public write API: start, cancel, re-run, resume.

Views, the API, triggers and other apps call these functions only; they check
rights through :mod:`accounts.permissions`, validate, write in one transaction
and hand the work to the engine (``runtime.engine``), which dispatches steps
after commit. Errors are :mod:`runtime.exceptions` with an HTTP status.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from runtime.models import Run, Step


def start_run(
    user: Any,
    workflow: Any,
    *,
    input: Any,
    version: int | str = "published",
    trigger_kind: str = "manual",
    trigger_node: str | None = None,
    parent_step: Step | None = None,
) -> Run:
    """Start a run of ``workflow`` and return it (status ``queued``).

    - ``user`` needs ``Action.RUN`` on the workflow (``NotVisible``/``NotAllowed``
      from accounts.permissions otherwise); ``None`` means a system trigger
      (schedule, webhook, event, sub-workflow) and skips the check.
    - ``version``: ``"published"`` (default), ``"draft"`` or a version number
      (int or digit string). No published version, or an invalid graph:
      ``RunRejected`` (400); an unknown version number: ``RunRejected`` (404).
    - ``trigger_node``: the trigger to start at; by default the first trigger
      whose type matches ``trigger_kind`` (``trigger.<kind>``).
    - ``input`` is checked against the trigger's ``input_schema`` (400 on failure).
    The graph is snapshotted on the run; the run and its trigger step are
    created in one transaction and the trigger step is dispatched on commit.
    """
    from runtime.engine import start

    return start.start_run(
        user,
        workflow,
        input=input,
        version=version,
        trigger_kind=trigger_kind,
        trigger_node=trigger_node,
        parent_step=parent_step,
    )


def cancel_run(user: Any, run: Run) -> Run:
    """Cancel a run: running and waiting steps become ``cancelled``, queued
    ones ``skipped``; a result arriving later is discarded. Needs
    ``Action.RUN``; a finished run raises ``RunConflict`` (409)."""
    from runtime.engine import transitions

    return transitions.cancel_run(user, run)


def cancel_run_for(run_id: Any, reason: str) -> bool:
    """Cancel a run on Baton's own account, without a user (for example a
    child run whose parent run ended); False when it had ended already."""
    from runtime.engine import transitions

    return transitions.cancel_run_for(run_id, reason)


def rerun(user: Any, run: Run, from_node: str) -> Run:
    """Start a new run of the same graph snapshot that reuses the outputs
    recorded upstream of ``from_node`` and executes from it.

    Reused steps are created ``succeeded`` with ``attempts`` 0 and
    ``reused_from`` naming the original step. Needs ``Action.RUN``. An
    unknown node, or one whose upstream steps did not all finish in ``run``,
    raises ``RunRejected`` (400)."""
    from runtime.engine import start

    return start.rerun(user, run, from_node)


def resume_step(step: Step, *, state: Mapping[str, Any] | None = None) -> bool:
    """End a step's wait (a person decided, an external event arrived): the
    step is queued again and its node's ``resume()`` gets the wait state
    updated with ``state``. Returns False if the step was not waiting (already
    resumed, cancelled): safe to call twice."""
    from runtime.engine import transitions

    return transitions.resume_step(step.pk, state=state)


def sweep() -> dict[str, int]:
    """One tick of the scheduler/sweeper: wake due timers and retries,
    re-dispatch lost messages, recover steps whose lease expired. Returns
    counts by kind. Safe to run concurrently (every change is a compare-and-set)."""
    from runtime.engine import sweeper

    return sweeper.tick()


class HeldSteps:
    """The steps made queued inside :func:`steps_held`, not yet sent."""

    def __init__(self, batches: list) -> None:
        self._batches = batches

    def send(self) -> None:
        """Send them all to the workers."""
        from runtime.engine import execute

        execute.send_all(self._batches)

    def run_here(self) -> bool:
        """Claim, run and end the pure ones (``data.*``, ``logic.*``) in this
        thread, as a worker would, and send the rest and their successors to
        the workers; True if any ran here. Call it after the block."""
        from runtime.engine import execute

        return execute.run_here_or_send(self._batches)


@contextmanager
def steps_held() -> Iterator[HeldSteps]:
    """Inside the block, the steps this thread's transitions make queued (a
    run it starts, say) are not sent to the workers on commit; after it, the
    caller sends them or runs the pure ones itself (a sync webhook: its
    answer then needs no broker hop). Steps a caller drops are found by the
    sweeper, like a lost message."""
    from runtime.engine import dispatch

    with dispatch.held() as batches:
        yield HeldSteps(batches)
