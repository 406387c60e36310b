"""Execute a step: claim it, run its node outside any transaction, record the
outcome, and continue inline while exactly one successor is ready.

Inline continuation skips the broker hop, not the bookkeeping: every step is
still claimed with its own lease, committed and evented on its own (the end
of step N and the claim of step N+1 share one transaction).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from django.db import DatabaseError
from pydantic import ValidationError

from builder.expressions import ExpressionError
from builder.graph.document import MAX_NODES
from builder.nodes import registry
from builder.nodes.base import NodeError, NodeType, Result, Wait
from runtime import scheduler
from runtime.context import StepContext, expression_context, referenced_nodes
from runtime.engine import budgets, deadline, dispatch, plans, transitions
from runtime.engine.transitions import Claim, Failure, Outcome, Success, Waiting
from runtime.models import Step, StepStatus

log = logging.getLogger(__name__)


class StepThreads(Protocol):
    """Where a claimed step that runs outside the claim's transaction (a
    node that calls out: a model, HTTP, email) goes on, so that the thread
    taking messages is free for the next one (see :mod:`runtime.embedded`)."""

    def slot(self) -> AbstractContextManager[Callable[[Callable[[], None]], None]]:
        """Wait for a free thread; yield ``hand_over(function)``, which runs
        ``function`` on it. A slot not handed over is free again at exit."""
        ...


#: set in embedded mode, where one thread takes every message; a worker
#: process of distributed mode runs its steps itself (its pool is the concurrency)
step_threads: StepThreads | None = None


def execute_step(step_id: int, run_id: Any = None) -> None:
    """The body of the ``execute_step`` task; safe to run twice."""
    if run_id is not None:
        try:
            run_id = uuid.UUID(str(run_id))
        except ValueError:
            run_id = None  # not ours: find the run from the step
    threads = step_threads
    if threads is None:
        _go_on(_claim(step_id, run_id))
        return
    # A thread is free before the claim: a claimed step never waits for one
    # while its lease runs.
    with threads.slot() as hand_over:
        claim = _claim(step_id, run_id)
        if claim is not None:
            hand_over(lambda: _go_on(claim))


def _claim(step_id: int, run_id: Any) -> Claim | None:
    try:
        return transitions.claim(step_id, run_pure, run_id=run_id)
    except DatabaseError:
        # The claim and a pure node's run shared a transaction that failed:
        # claim it alone, so whatever keeps failing is recorded on the step.
        log.warning("claiming step %s with its run failed; claiming it alone", step_id)
        return transitions.claim(step_id, run_id=run_id)


def _go_on(claim: Claim | None) -> None:
    """Run the claimed step, end it, and go on inline while one successor is ready."""
    while claim is not None:
        outcome = run_claimed(claim)
        if outcome is None:
            return  # the lease was lost: someone else owns the step now
        claim = transitions.finish(claim, outcome)


def run_here_or_send(batches: dispatch.Batches) -> bool:
    """Run the queued steps of pure nodes among ``batches`` (collected by
    :func:`dispatch.held`) in this thread, each claimed, run and ended as a
    worker would (Postgres: one fenced statement; SQLite: one transaction
    under the run lock), its successors sent to the workers; send every
    other step to the workers. True if any step ran here. A sync webhook's
    first steps run this way, without a broker hop, and are as durable as a
    worker's."""
    pending = [(list(step_ids), run_id) for step_ids, run_id in batches]
    ran = False
    try:
        for step_ids, run_id in pending:
            while step_ids and _ran_here(step_ids[0], run_id):
                step_ids.pop(0)
                ran = True
    finally:  # whatever did not run here goes to the workers, even after an error
        send_all(pending)
    return ran


def _ran_here(step_id: int, run_id: Any) -> bool:
    try:
        if plans.fenced_writes():
            done, _ = transitions.claim_pure_fenced(step_id, run_id, run_pure, follow=False)
            return done
        # no fenced path (SQLite): a pure step is claimed, run and ended in
        # one transaction under the run lock, as a worker's claim does it
        node_id = Step.objects.filter(pk=step_id, run_id=run_id).values_list("node_id").first()
        if node_id is None or not transitions.is_pure(plans.graph_of(run_id), node_id[0]):
            return False
        claimed = transitions.claim(step_id, run_pure, run_id=run_id, follow=False)
        if claimed is not None:  # claimed but not run (cannot happen to a new pure step)
            outcome = run_claimed(claimed)
            if outcome is not None:
                transitions.finish(claimed, outcome, inline=False)
        return True
    except DatabaseError:
        log.warning("running step %s here failed; sending it to a worker", step_id)
        return False


def send_all(batches: dispatch.Batches) -> None:
    """Send every step of ``batches`` to the workers."""
    for step_ids, run_id in batches:
        dispatch.send(step_ids, run_id)


def run_pure(claim: Claim) -> Outcome | None:
    """Run a claimed step of a pure node (data, logic, delay, fail: see
    ``NodeType.pure``) now, inside the claiming transaction; None for any
    other step, which runs after the claim commits."""
    if claim.resuming or not transitions.is_pure(plans.graph_of(claim.run_id), claim.node_id):
        return None
    return run_claimed(claim)


def run_claimed(claim: Claim) -> Outcome | None:
    graph = plans.graph_of(claim.run_id)
    node = graph.nodes[claim.node_id]
    if node.get("disabled"):
        return Success(claim.input)
    node_type = registry.get(node["type"], node.get("type_version"))
    if node_type is None:
        return Failure("UnknownNodeType", f"There is no node type {node['type']!r}.")
    try:
        budget = budgets.for_step(claim.run_id, node_type)
        ctx = _context(claim, graph, node, node_type)
        config = _config(node_type, node.get("config") or {}, ctx)
        return budget.settle(_outcome(_call(claim, node, node_type, ctx, config)))
    except deadline.LeaseLost:
        log.warning("step %s lost its lease; its result is dropped", claim.step_id)
        return None
    except deadline.StepTimeout:
        return Failure(
            "Timeout", f"The step ran longer than {node.get('timeout_s')} s.", retryable=True
        )
    except NodeError as exc:
        return Failure(
            exc.type,
            exc.message,
            retryable=exc.retryable,
            usage=_usage_dict(getattr(exc, "usage", None)),
            cost_usd=getattr(exc, "cost_usd", None),
            retry_after=getattr(exc, "retry_after", None),
        )
    except ExpressionError as exc:
        return Failure("ExpressionError", exc.message)
    except NotImplementedError:
        return Failure("NotSupported", f"{node['type']} steps cannot run yet.")
    except Exception as exc:
        log.exception("step %s of run %s raised", claim.node_id, claim.run_id)
        return Failure(type(exc).__name__, str(exc) or type(exc).__name__, retryable=True)


def _call(claim: Claim, node: dict, node_type: NodeType, ctx: StepContext, config: Any) -> Any:
    if claim.resuming:
        state = (claim.wait or {}).get("state") or {}

        def function() -> Any:
            return node_type.resume(ctx, config, claim.input, state)
    else:

        def function() -> Any:
            return node_type.run(ctx, config, claim.input)

    timeout = node.get("timeout_s")
    if not timeout and not node_type.side_effects:
        return function()
    return deadline.call(
        function,
        timeout_s=timeout,
        lease_s=plans.lease_seconds(),
        renew=lambda: transitions.renew(claim),
    )


def _usage_dict(usage: Any) -> dict[str, int] | None:
    """A failed AI step's spend, as stored on the step (a Usage or a dict)."""
    if usage is None or isinstance(usage, dict):
        return usage
    return usage.as_dict()


def _outcome(result: Any) -> Outcome:
    if isinstance(result, Wait):
        return Waiting(result.reason, result.until, dict(result.state))
    if isinstance(result, Result):
        usage = result.usage.as_dict() if result.usage is not None else None
        return Success(result.output, result.port, usage, result.cost_usd)
    return Failure("InvalidResult", f"The node returned {type(result).__name__}, not a Result.")


def _context(claim: Claim, graph: plans.RunGraph, node: dict, node_type: NodeType) -> StepContext:
    """The step's expression context; ``nodes.<id>.output`` holds the outputs
    its config refers to (all, when that cannot be told from the config).
    In a graph with loops, each is the visit of the step's own round (or the
    one before, for a node further down a loop body), as the scheduler says."""
    wanted = referenced_nodes(node.get("config") or {}, node_type.expression_fields)
    if (
        wanted is not None
        and node_type.reads_sources
        and isinstance(claim.input, dict)
        and len(claim.input) <= MAX_NODES  # more keys: one node's output, not the engine's
    ):
        wanted |= {key for key in claim.input if isinstance(key, str)}
    outputs: dict[str, Any] = {}
    if wanted != set():
        finished = Step.objects.filter(
            run_id=claim.run_id,
            status__in=[StepStatus.SUCCEEDED, StepStatus.FAILED],
            port__isnull=False,
        )
        if wanted is not None:
            finished = finished.filter(node_id__in=wanted)
        rows = finished.order_by("visit").values_list("node_id", "visit", "output")
        if graph.topology.loop_edges:
            visible = scheduler.visible_visits(
                graph.topology, plans.load_state(claim.run_id), claim.node_id, claim.visit
            )
            outputs = {n: out for n, v, out in rows if visible.get(n) == v}
        else:
            outputs = {n: out for n, _v, out in rows}
    return StepContext(
        run_id=str(claim.run_id),
        node_id=claim.node_id,
        visit=claim.visit,
        attempt=claim.attempt,
        workspace_id=claim.workspace_id,
        expression_context=expression_context(
            run=claim.run_meta, trigger=graph.input, nodes=outputs, input=claim.input
        ),
    )


def _config(node_type: NodeType, config: dict, ctx: StepContext) -> Any:
    """Render templates (not expression or raw fields), then parse the typed config."""
    keep = set(node_type.expression_fields) | set(node_type.raw_fields)
    rendered = {key: value if key in keep else ctx.render(value) for key, value in config.items()}
    try:
        return node_type.parse_config(rendered)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        )
        raise NodeError(f"Invalid config after rendering: {problems}", type="ConfigError") from None
