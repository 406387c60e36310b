"""Child runs of ``flow.subworkflow`` and ``flow.map``.

The parent step starts its children (``Run.parent_step`` links each child to
it, ``Step.child_runs`` back), then waits with ``Wait(reason="children")``.
When a child's end commits, :func:`wake_parent` resumes the parent step,
whose node calls :func:`advance` again: it starts more children up to the
concurrency limit, fails on a failed child, or returns the outputs in item
order. Everything is read back from the database on every call, so a parent
step that is retried after a crash adopts the children it already started
instead of starting them twice.

A resume can be lost: a child may end while its parent step is still running
(resume_step then finds it not waiting). So the wait also carries a timer,
1 s at first and doubling up to a minute, which the runtime's sweeper fires
like any timer; and the triggers' tick resumes any waiting parent with a
child that ended (:func:`wake_stalled_parents`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from builder.nodes.base import NodeContext, NodeError, Result, Wait

log = logging.getLogger(__name__)

WAIT_REASON = "children"
POLL_MIN_S, POLL_MAX_S = 1.0, 60.0


@dataclass(frozen=True)
class Batch:
    """What a parent step runs: ``inputs[i]`` is child ``i``'s input."""

    workflow_id: str
    inputs: Sequence[Any]
    concurrency: int


def _parent_step(ctx: NodeContext) -> Any:
    from runtime.models import Step

    return Step.objects.select_related("run__started_by").get(
        run_id=ctx.run_id, node_id=ctx.node_id, visit=ctx.visit
    )


def _child_workflow(ctx: NodeContext, workflow_id: str) -> Any:
    """The workflow, only within the parent's own workspace."""
    from builder.models import Workflow

    workflow = (
        Workflow.objects.alive()
        .filter(pk=workflow_id, workspace_id=ctx.workspace_id)
        .select_related("published_version")
        .first()
    )
    if workflow is None:
        raise NodeError(f"No workflow {workflow_id} in this workspace.", type="WorkflowNotFound")
    if workflow.published_version is None:
        raise NodeError(f"The workflow {workflow.name!r} is not published.", type="NotPublished")
    return workflow


def children_of(step: Any) -> list[Any]:
    """The step's child runs in the order they were started (= item order)."""
    from runtime.models import Run

    return list(
        Run.objects.filter(parent_step=step)
        .only("id", "status", "output", "error", "created_at")
        .order_by("created_at", "id")
    )


def _start_trigger(workflow: Any) -> str:
    """The child's trigger: its manual trigger, else its first trigger."""
    triggers = [
        node
        for node in workflow.published_version.graph.get("nodes", [])
        if str(node.get("type", "")).startswith("trigger.")
    ]
    manual = [node for node in triggers if node["type"] == "trigger.manual"]
    chosen = (manual or triggers or [{"id": ""}])[0]
    return chosen["id"]


def _start(step: Any, workflow: Any, child_input: Any) -> Any:
    from runtime import services as runtime
    from runtime.exceptions import RuntimeServiceError

    try:
        return runtime.start_run(
            None,
            workflow,
            input=child_input,
            trigger_kind="manual",
            trigger_node=_start_trigger(workflow) or None,
            parent_step=step,
        )
    except RuntimeServiceError as exc:
        raise NodeError(
            f"The child run could not start: {exc.detail}", type="ChildRunRejected"
        ) from None


def _cancel(step: Any, runs: Sequence[Any]) -> None:
    """Cancel children still running once one failed: on Baton's own account
    (no person asked), with the reason in each child's run event."""
    from runtime import services as runtime

    reason = f"another item of step {step.node_id} of run {step.run_id} failed"
    for run in runs:
        runtime.cancel_run_for(run.pk, reason)


def _failure(children: Sequence[Any]) -> tuple[int, Any] | None:
    for index, child in enumerate(children):
        if child.status in ("failed", "cancelled"):
            return index, child
    return None


def _poll_after(state: Mapping[str, Any]) -> float:
    """The fallback wake-up interval: 1 s, doubling up to a minute."""
    previous = float(state.get("poll_s") or 0.5)
    return min(max(previous * 2, POLL_MIN_S), POLL_MAX_S)


def advance(ctx: NodeContext, batch: Batch, state: Mapping[str, Any]) -> list[Any] | Wait:
    """One look at a parent step's children: the outputs in order when all
    succeeded, else a Wait after starting as many as the limit allows.
    A failed (or cancelled) child fails the parent: children still running
    are cancelled and the rest are never started."""
    from runtime.models import RUN_ACTIVE

    step = _parent_step(ctx)
    children = children_of(step)
    failure = _failure(children)
    if failure is not None:
        _cancel(step, [c for c in children if c.status in RUN_ACTIVE])
        index, child = failure
        message = (child.error or {}).get("message") or f"the child run was {child.status}"
        where = f"Item {index}" if len(batch.inputs) > 1 else "The child run"
        raise NodeError(f"{where} ({child.pk}) {child.status}: {message}", type="ChildRunFailed")
    active = [c for c in children if c.status in RUN_ACTIVE]
    if len(children) == len(batch.inputs) and not active:
        return [child.output for child in children]
    room = min(batch.concurrency - len(active), len(batch.inputs) - len(children))
    if room > 0:
        workflow = _child_workflow(ctx, batch.workflow_id)
        for child_input in batch.inputs[len(children) : len(children) + room]:
            active.append(_start(step, workflow, child_input))
    poll_s = _poll_after(state)
    return Wait(
        reason=WAIT_REASON,
        until=datetime.now(UTC) + timedelta(seconds=poll_s),
        state={"pending": [str(c.pk) for c in active], "poll_s": poll_s},
    )


def run_subworkflow(
    ctx: NodeContext, workflow_id: str, child_input: Any, state: Mapping[str, Any]
) -> Result | Wait:
    outcome = advance(ctx, Batch(workflow_id, [child_input], 1), state)
    return outcome if isinstance(outcome, Wait) else Result(outcome[0])


def run_map(
    ctx: NodeContext,
    workflow_id: str,
    items: Sequence[Any],
    concurrency: int,
    state: Mapping[str, Any],
) -> Result | Wait:
    if not items:
        return Result([])
    outcome = advance(ctx, Batch(workflow_id, list(items), concurrency), state)
    return outcome if isinstance(outcome, Wait) else Result(outcome)


def wake_parent(step_id: Any) -> bool:
    from runtime import services as runtime
    from runtime.models import Step

    step = Step.objects.filter(pk=step_id).first()
    # A child's end restarts the fallback poll from its shortest interval.
    return step is not None and runtime.resume_step(step, state={"poll_s": 0})


def cancel_orphans(run_id: Any) -> int:
    """A run that failed or was cancelled cancels the child runs its
    ``flow.subworkflow`` and ``flow.map`` steps started and that still run
    (their parent step was cancelled with it and will never read them);
    grandchildren follow as each child's end comes through here too."""
    from runtime import services as runtime
    from runtime.models import RUN_ACTIVE, Run

    orphans = Run.objects.filter(parent_step__run_id=run_id, status__in=RUN_ACTIVE)
    reason = f"its parent run {run_id} ended"
    return sum(runtime.cancel_run_for(pk, reason) for pk in orphans.values_list("pk", flat=True))


def wake_stalled_parents(limit: int = 500) -> int:
    """Resume waiting parents that a lost wake-up left behind."""
    from runtime.models import RUN_ACTIVE, Run, Step

    woken = 0
    waiting = Step.objects.filter(status="waiting", wait__reason=WAIT_REASON)[:limit]
    for step in waiting:
        pending = ((step.wait or {}).get("state") or {}).get("pending") or []
        ended = Run.objects.filter(pk__in=pending).exclude(status__in=RUN_ACTIVE).exists()
        if ended and wake_parent(step.pk):
            woken += 1
    return woken
