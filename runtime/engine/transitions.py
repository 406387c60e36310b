"""Every change of a step or run: a compare-and-set under the run-row lock,
with its events, in one transaction; follow-ups dispatched on commit.

A claim sets a fresh ``lease_token`` (the fencing token). Ending a step
requires that token and status ``running``: a worker whose lease expired, or
whose run was cancelled, updates zero rows and writes nothing.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from accounts import audit, permissions
from accounts.permissions import Action
from runtime import scheduler
from runtime.engine import clock, dispatch, plans, sql
from runtime.engine.log import EventLog
from runtime.exceptions import RunConflict
from runtime.models import RUN_FINISHED, Run, RunStatus, Step, StepStatus

_HOST = socket.gethostname()


def worker_name() -> str:
    """``host:pid`` of the process running a step, asked at each claim: a
    prefork pool imports this module in its main process, before it forks."""
    return f"{_HOST}:{os.getpid()}"


#: a step whose worker vanished is re-run at least this many times in all
#: (unless its retry policy allows more) before it fails for good
WORKER_LOST_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """A step this worker holds the lease of, with what running it needs."""

    step_id: int
    run_id: Any
    node_id: str
    visit: int
    attempt: int
    token: uuid.UUID
    input: Any
    wait: dict[str, Any] | None
    run_meta: dict[str, Any]
    workspace_id: Any
    #: set by the sweeper: the write also requires the lease to have expired
    #: before this instant, so a worker that renewed in time keeps its step
    expired_before: datetime | None = None

    @property
    def resuming(self) -> bool:
        return bool(self.wait and self.wait.get("resumed"))


@dataclass(frozen=True)
class Success:
    output: Any
    port: str = "out"
    usage: dict[str, int] | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class Waiting:
    reason: str
    until: datetime | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    type: str
    message: str
    retryable: bool = False
    #: infrastructure failures (worker lost) get at least WORKER_LOST_ATTEMPTS
    infrastructure: bool = False
    #: what a failed AI step still spent (counted on the step and the run)
    usage: dict[str, int] | None = None
    cost_usd: float | None = None
    #: the earliest retry a provider asked for (a 429's Retry-After), in seconds
    retry_after: float | None = None


Outcome = Success | Waiting | Failure


def lease_fields(now: datetime) -> dict[str, Any]:
    return {
        "lease_token": uuid.uuid4(),
        "lease_expires_at": now + timedelta(seconds=plans.lease_seconds()),
        "worker": worker_name(),
    }


def _run_meta(run: Run) -> dict[str, Any]:
    return {
        "id": str(run.pk),
        "workflow_id": str(run.workflow_id),
        "version": "draft" if run.is_draft else run.version_number,
        "started_at": run.started_at.isoformat() if run.started_at else None,
    }


def _claim_of(run: Run, row: Step) -> Claim:
    return Claim(
        step_id=row.pk,
        run_id=run.pk,
        node_id=row.node_id,
        visit=row.visit,
        attempt=row.attempts,
        token=row.lease_token,
        input=row.input,
        wait=row.wait,
        run_meta=_run_meta(run),
        workspace_id=run.workspace_id,
    )


# -- claim -----------------------------------------------------------------------


def claim(
    step_id: int, run_inline: Inline | None = None, *, run_id: Any = None, follow: bool = True
) -> Claim | None:
    """Take a queued, due step: ``UPDATE ... WHERE status='queued'`` with a new
    lease. None when someone else has it, it is not due, or it ended (a
    duplicate delivery does nothing).

    ``run_inline(claim)`` may run the claimed step at once, inside this
    transaction (a pure node: microseconds, nothing outside the database);
    when it returns an outcome, the step's end is recorded here too (one
    commit for the claim and the end) and the claim returned is that of the
    single ready successor, if any, as :func:`finish` returns it (with
    ``follow`` False none is claimed: all are queued and sent)."""
    if run_inline is not None:
        done, successor = claim_pure_fenced(step_id, run_id, run_inline, follow=follow)
        if done:
            return successor
    with transaction.atomic():
        try:
            run = plans.lock_run(run_id) if run_id else sql.lock_run_of_step(step_id)
        except Run.DoesNotExist:
            return None
        if run is None or run.status in RUN_FINISHED:
            return None
        now = clock.now()
        lease = lease_fields(now)
        due = f"({sql.column(Step, 'due_at')} IS NULL OR {sql.column(Step, 'due_at')} <= %s)"
        row = sql.update_returning_claimed(
            {"status": StepStatus.RUNNING, "started_at": now, **lease},
            {"id": step_id, "run": run.pk, "status": StepStatus.QUEUED},
            extra_where=due,
            extra_params=[sql.prep(Step, "due_at", now)],
            increment="attempts",
        )
        if row is None:
            return None
        row.lease_token = lease["lease_token"]
        events, changes = _claimed_events(run, row, row.attempts, now)
        claimed = _claim_of(run, row)
        outcome = run_inline(claimed) if run_inline is not None else None
        if outcome is None:
            state = plans.kept_state(run)
            if state is not None:
                plans.note_step(state, row.node_id, row.visit, StepStatus.RUNNING, None)
            plans.save_run(run, events, state=state, **changes)
            return claimed
        graph = plans.graph_of(run.pk)
        state = plans.state_of(run)
        plans.note_step(state, row.node_id, row.visit, StepStatus.RUNNING, None)
        next_row = _end(
            run,
            graph,
            state,
            claimed,
            outcome,
            events,
            now,
            changes,
            inline=follow,
            run_siblings=run_inline,
        )
    return _claim_of(run, next_row) if next_row is not None else None


Inline = Callable[[Claim], "Outcome | None"]


def _claimed_events(
    run: Run, row: Step, attempt: int, now: datetime
) -> tuple[EventLog, dict[str, Any]]:
    """A claim's events (the step running; the run running, if it was not)
    and the run's changed columns, which are also set on ``run``."""
    events = EventLog(run.pk, now)
    events.step(row.node_id, row.visit, StepStatus.RUNNING, attempt=attempt)
    changes: dict[str, Any] = {}
    if run.status != RunStatus.RUNNING:
        events.run(RunStatus.RUNNING)
        changes["status"] = run.status = RunStatus.RUNNING
        if run.started_at is None:
            changes["started_at"] = run.started_at = now
    return events, changes


def is_pure(graph: plans.RunGraph, node_id: str) -> bool:
    """Whether a step of this node may run inside the transaction that
    claims it: a pure node type (see ``NodeType.pure``), no timeout."""
    return node_id in graph.pure


def claim_pure_fenced(
    step_id: int, run_id: Any, run_inline: Inline, *, follow: bool = True
) -> tuple[bool, Claim | None]:
    """Postgres, outside a transaction: claim, run and end a queued step of
    a pure node without the run lock. The run, the step and the run's state
    are read in one statement; the node runs; its claim, end, the successors
    and the events are written as one statement fenced on the run row's
    ``event_seq`` and status and on the step still being queued with the
    attempts read (:func:`sql.write_fenced`): the rows the locked claim
    would write, in two round trips instead of eight. (True, the inline
    successor's claim or None) when done, and (True, None) when the step is
    no longer queued (a stale message); (False, None) when it could not
    be (not a pure node, not due, not succeeded, or the run moved on):
    nothing was written, the caller claims under the lock, and a pure node
    that ran has no effect to undo. With ``follow`` False no successor is
    claimed: all are queued and sent to the workers."""
    if run_id is None or not plans.fenced_writes():
        return False, None
    peeked = plans.kept_step(run_id, step_id) or plans.peek_step(step_id, run_id)
    if peeked is None:
        return False, None
    if peeked == plans.GONE:
        return True, None  # ended or claimed already: a stale message
    run, row, due_at, state = peeked
    now = clock.now()
    if run.status in RUN_FINISHED or (due_at is not None and due_at > now):
        return False, None
    if row.wait or not is_pure(plans.graph_of(run.pk), row.node_id):
        return False, None
    seq, status = run.event_seq, str(run.status)
    events, changes = _claimed_events(run, row, row.attempts + 1, now)
    lease = lease_fields(now)
    claimed = dataclasses.replace(
        _claim_of(run, row), token=lease["lease_token"], attempt=row.attempts + 1
    )
    outcome = run_inline(claimed)
    if not isinstance(outcome, Success):
        return False, None  # not pure, or waits, fails or retries: under the lock
    plans.note_step(state, row.node_id, row.visit, StepStatus.RUNNING, None)
    ran = _ready_siblings(run, plans.graph_of(run.pk), state, run_inline, now)
    fence = sql.Fence(
        seq=seq,
        status=status,
        step_id=step_id,
        step={"status": StepStatus.QUEUED, "attempts": row.attempts},
        values={
            **_succeeded(outcome, now),
            "attempts": claimed.attempt,
            "started_at": now,
            "worker": lease["worker"],
        },
        siblings=_sibling_rows(ran),
    )
    siblings = _note_siblings(ran, state, events)
    return _decide_fenced(
        run, state, claimed, outcome, fence, events, changes, follow=follow, siblings=siblings
    )


def renew(claim: Claim) -> bool:
    """Extend the lease; False means it was lost (expired and taken, or the run ended)."""
    expires = clock.now() + timedelta(seconds=plans.lease_seconds())
    return bool(
        Step.objects.filter(
            pk=claim.step_id, status=StepStatus.RUNNING, lease_token=claim.token
        ).update(lease_expires_at=expires)
    )


# -- the end of an attempt ---------------------------------------------------------


def finish(claim: Claim, outcome: Outcome, *, inline: bool = True) -> Claim | None:
    """Record an attempt's outcome while holding its lease, decide what
    follows under the run lock, and dispatch it on commit. Returns the single
    ready successor, already claimed, for inline continuation."""
    if inline and isinstance(outcome, Success) and claim.expired_before is None:
        kept = plans.kept_run(claim.run_id)
        if kept is not None:
            done, successor = _succeed_fenced(*kept, claim, outcome)
            if done:
                return successor
    with transaction.atomic():
        run = plans.lock_run(claim.run_id)
        if run.status in RUN_FINISHED:
            return None
        now = clock.now()
        events = EventLog(run.pk, now)
        graph = plans.graph_of(run.pk)
        state = plans.state_of(run)
        next_row = _end(run, graph, state, claim, outcome, events, now, {}, inline=inline)
    return _claim_of(run, next_row) if next_row is not None else None


def _succeed_fenced(
    run: Run, state: scheduler.State, claim: Claim, outcome: Success
) -> tuple[bool, Claim | None]:
    """The common case on Postgres, in one round trip: the step succeeded,
    and this process wrote the run's last transition, so the state it kept
    is the run's. What follows is decided from it without the run lock and
    written as one statement fenced on the run row being unchanged
    (:func:`sql.write_fenced`). (False, None) when that cannot be done (the
    step failed the run, or the run moved on meanwhile): nothing was
    written, and the caller takes the lock."""
    now = clock.now()
    fence = sql.Fence(
        seq=run.event_seq,
        status=str(run.status),
        step_id=claim.step_id,
        step={"status": StepStatus.RUNNING, "lease_token": claim.token},
        values=_succeeded(outcome, now),
    )
    return _decide_fenced(run, state, claim, outcome, fence, EventLog(run.pk, now), {})


def _succeeded(outcome: Success, now: datetime) -> dict[str, Any]:
    return {
        "status": StepStatus.SUCCEEDED,
        "port": outcome.port,
        "output": outcome.output,
        "finished_at": now,
        "usage": outcome.usage or {},
        "cost_usd": outcome.cost_usd,
    }


def _decide_fenced(
    run: Run,
    state: scheduler.State,
    claim: Claim,
    outcome: Success,
    fence: sql.Fence,
    events: EventLog,
    changes: dict[str, Any],
    *,
    follow: bool = True,
    siblings: dict[tuple[str, int], Any] | None = None,
) -> tuple[bool, Claim | None]:
    now = events.at
    graph = plans.graph_of(run.pk)
    _add_usage(run, outcome, changes)
    events.step(claim.node_id, claim.visit, StepStatus.SUCCEEDED, port=outcome.port)
    plans.note_step(state, claim.node_id, claim.visit, StepStatus.SUCCEEDED, outcome.port)
    known = {(claim.node_id, claim.visit): outcome.output, **(siblings or {})}
    plan = scheduler.after(graph.topology, state, list(known))
    if plan.failed is not None:
        return False, None  # failing the run ends other steps: under the lock
    applied = plans.apply_plan(run, graph, plan, state, events, now, known, claim_single=follow)
    changes.update(plans.settle(run, graph, state, events, now, known))
    flush = _needs_flush(graph, claim, applied)
    if not plans.save_run(run, events, applied, state=state, fence=fence, flush=flush, **changes):
        plans.note_contended(run.pk)
        return False, None
    others = [pk for pk in applied.dispatch if applied.inline is None or pk != applied.inline.pk]
    dispatch.on_commit(others, run.pk)
    return True, (_claim_of(run, applied.inline) if applied.inline is not None else None)


def _needs_flush(graph: plans.RunGraph, claim: Claim, applied: plans.Applied) -> bool:
    """Whether a fenced transition's commit must wait for the WAL flush: yes,
    unless every step it ends or claims is of a pure node (the claimed one,
    its siblings, the inline successor) and ``BATON_ASYNC_PURE_COMMITS`` is
    on. Such a transition, lost with a crashed server, leaves its steps as
    the last durable commit had them, to run again with the same result;
    a step that acts outside the database is claimed and ended only by
    commits that wait, and each of them makes every earlier commit durable
    too (the WAL is written in order)."""
    if not getattr(settings, "BATON_ASYNC_PURE_COMMITS", True) or claim.resuming:
        return True
    inline = applied.inline
    return not is_pure(graph, claim.node_id) or (
        inline is not None and not is_pure(graph, inline.node_id)
    )


def _end(
    run: Run,
    graph: plans.RunGraph,
    state: scheduler.State,
    claim: Claim,
    outcome: Outcome,
    events: EventLog,
    now: datetime,
    changes: dict[str, Any],
    *,
    inline: bool,
    run_siblings: Inline | None = None,
) -> Step | None:
    """Under the run lock: write the outcome, then what follows; the inline
    successor's row, if any. With ``run_siblings`` (a pure step that ran
    inside its claim), once the step succeeded, the run's other queued pure
    steps are run with it and end here too (:func:`_run_siblings`)."""
    ended = _record(claim, outcome, graph, events, now, changes, run, state)
    if ended is None:
        return None
    if ended is False:  # waiting or retrying: nothing follows yet
        changes.update(plans.settle(run, graph, state, events, now))
        plans.save_run(run, events, state=state, **changes)
        return None
    more = {}
    if run_siblings is not None and isinstance(outcome, Success):
        more = _run_siblings(run, graph, state, run_siblings, events, now)
    return _follow(run, graph, state, claim, ended, events, now, changes, inline, more)


#: at most this many of a run's other queued steps end with a claimed one
SIBLINGS = 256


def _run_siblings(
    run: Run,
    graph: plans.RunGraph,
    state: scheduler.State,
    run_inline: Inline,
    events: EventLog,
    now: datetime,
) -> dict[tuple[str, int], Any]:
    """Under the run lock, once a pure step has run inside its claim and
    succeeded: :func:`_ready_siblings`, written; the outputs of those
    ended, by (node, visit)."""
    ran = _ready_siblings(run, graph, state, run_inline, now)
    if not ran:
        return {}
    ended = sql.end_queued_steps(_sibling_rows(ran), now, worker_name())
    return _note_siblings([(c, o) for c, o in ran if c.step_id in ended], state, events)


def _ready_siblings(
    run: Run,
    graph: plans.RunGraph,
    state: scheduler.State,
    run_inline: Inline,
    now: datetime,
) -> list[tuple[Claim, Success]]:
    """Once a pure step has run inside its claim and succeeded: the run's
    other queued, due steps of pure nodes (the parallel branches of a
    fan-out of data and logic nodes), run here, to be claimed and ended in
    the same write, each with its attempt and its own running and succeeded
    events. A fan-out of steps that take microseconds then takes the run
    once instead of once per branch, and its join is decided once; their
    own messages find them ended and do nothing. A sibling that does not
    simply succeed (fails, waits, spends) is left queued, untouched, for
    its own message: a pure node has no effect to undo. Graphs with loops
    are left alone. At most :data:`SIBLINGS`; none read unless ``state``
    shows some."""
    if graph.topology.loop_edges:
        return []
    wanted = {
        key
        for key, view in state.steps.items()
        if view.status == StepStatus.QUEUED and is_pure(graph, key[0])
    }
    if not wanted:
        return []
    ran: list[tuple[Claim, Success]] = []
    for row in sql.queued_steps(run.pk, now, SIBLINGS):
        if (row.node_id, row.visit) not in wanted or row.wait:
            continue
        claimed = dataclasses.replace(
            _claim_of(run, row), attempt=row.attempts + 1, token=uuid.uuid4()
        )
        outcome = run_inline(claimed)
        if isinstance(outcome, Success) and not outcome.usage and outcome.cost_usd is None:
            ran.append((claimed, outcome))
    return ran


def _sibling_rows(ran: list[tuple[Claim, Success]]) -> list[tuple[int, int, str, Any]]:
    return [(c.step_id, c.attempt - 1, o.port, o.output) for c, o in ran]


def _note_siblings(
    ended: list[tuple[Claim, Success]], state: scheduler.State, events: EventLog
) -> dict[tuple[str, int], Any]:
    outputs: dict[tuple[str, int], Any] = {}
    for claimed, outcome in ended:
        events.step(claimed.node_id, claimed.visit, StepStatus.RUNNING, attempt=claimed.attempt)
        events.step(claimed.node_id, claimed.visit, StepStatus.SUCCEEDED, port=outcome.port)
        plans.note_step(state, claimed.node_id, claimed.visit, StepStatus.SUCCEEDED, outcome.port)
        outputs[(claimed.node_id, claimed.visit)] = outcome.output
    return outputs


def _cas(claim: Claim, **values: Any) -> bool:
    """The fenced write: only the lease holder of a running step changes it."""
    values.setdefault("lease_token", None)
    values.setdefault("lease_expires_at", None)
    fence = {"id": claim.step_id, "status": StepStatus.RUNNING, "lease_token": claim.token}
    if claim.expired_before is None:
        return bool(sql.update(Step, values, fence))
    expired = f"{sql.column(Step, 'lease_expires_at')} < %s"
    stamp = sql.prep(Step, "lease_expires_at", claim.expired_before)
    return bool(sql.update(Step, values, fence, extra_where=expired, extra_params=[stamp]))


def _record(
    claim: Claim,
    outcome: Outcome,
    graph: plans.RunGraph,
    events: EventLog,
    now: datetime,
    changes: dict,
    run: Run,
    state: scheduler.State,
) -> tuple[str, Any] | bool | None:
    """Write the outcome (and note it in ``state``). Returns (port or None,
    output) when the step ended, False when it waits or will retry, None when
    the lease was lost."""
    if isinstance(outcome, Success):
        if not _cas(
            claim,
            status=StepStatus.SUCCEEDED,
            port=outcome.port,
            output=outcome.output,
            finished_at=now,
            usage=outcome.usage or {},
            cost_usd=outcome.cost_usd,
        ):
            return None
        _add_usage(run, outcome, changes)
        events.step(claim.node_id, claim.visit, StepStatus.SUCCEEDED, port=outcome.port)
        plans.note_step(state, claim.node_id, claim.visit, StepStatus.SUCCEEDED, outcome.port)
        return (outcome.port, outcome.output)
    if isinstance(outcome, Waiting):
        wait = {"reason": outcome.reason, "state": dict(outcome.state), "resumed": False}
        if not _cas(claim, status=StepStatus.WAITING, wait=wait, due_at=outcome.until):
            return None
        until = outcome.until.isoformat() if outcome.until else None
        events.step(
            claim.node_id, claim.visit, StepStatus.WAITING, reason=outcome.reason, until=until
        )
        plans.note_step(state, claim.node_id, claim.visit, StepStatus.WAITING, None)
        return False
    ended = _record_failure(claim, outcome, graph, events, now, state)
    if ended is not None and (outcome.usage or outcome.cost_usd):
        _add_usage(run, outcome, changes)
    return ended


def _spent(failure: Failure) -> dict[str, Any]:
    if not failure.usage and not failure.cost_usd:
        return {}
    return {"usage": failure.usage or {}, "cost_usd": failure.cost_usd}


def _record_failure(
    claim: Claim,
    failure: Failure,
    graph: plans.RunGraph,
    events: EventLog,
    now: datetime,
    state: scheduler.State,
) -> tuple[str, Any] | bool | None:
    max_attempts, _base, _factor = graph.retry(claim.node_id)
    if failure.infrastructure:
        max_attempts = max(max_attempts, WORKER_LOST_ATTEMPTS)
    error = {"type": failure.type, "message": failure.message, "attempts": claim.attempt}
    if failure.retryable and claim.attempt < max_attempts:
        delay = max(graph.backoff(claim.node_id, claim.attempt), failure.retry_after or 0)
        due = now + timedelta(seconds=delay)
        if not _cas(
            claim,
            status=StepStatus.QUEUED,
            error=error,
            due_at=due,
            queued_at=now,
            dispatched_at=None,
            **_spent(failure),
        ):
            return None
        events.step(
            claim.node_id,
            claim.visit,
            StepStatus.QUEUED,
            attempt=claim.attempt,
            error=error,
            due_at=due.isoformat(),
        )
        plans.note_step(state, claim.node_id, claim.visit, StepStatus.QUEUED, None)
        if due <= now:
            _dispatch_now([claim.step_id], claim.run_id, now)
        return False
    routed = graph.topology.has_error_route(claim.node_id)
    port = scheduler.ERROR_PORT if routed else None
    output = {"error": error} if routed else None
    if not _cas(
        claim,
        status=StepStatus.FAILED,
        error=error,
        port=port,
        output=output,
        finished_at=now,
        **_spent(failure),
    ):
        return None
    events.step(claim.node_id, claim.visit, StepStatus.FAILED, error=error, port=port)
    plans.note_step(state, claim.node_id, claim.visit, StepStatus.FAILED, port)
    return (port, output)


def _add_usage(run: Run, outcome: Success | Failure, changes: dict) -> None:
    if not outcome.usage and not outcome.cost_usd:
        return
    usage = dict(run.usage or {})
    for key, value in (outcome.usage or {}).items():
        usage[key] = int(usage.get(key, 0)) + int(value or 0)
    changes["usage"] = usage
    changes["cost_usd"] = round(float(run.cost_usd or 0) + float(outcome.cost_usd or 0), 8)


def _follow(
    run: Run,
    graph: plans.RunGraph,
    state: scheduler.State,
    claim: Claim,
    ended: tuple[str | None, Any],
    events: EventLog,
    now: datetime,
    changes: dict,
    inline: bool,
    siblings: dict[tuple[str, int], Any] | None = None,
) -> Step | None:
    """Ask the scheduler what follows the ended step (and ``siblings``,
    ended with it) and apply it."""
    known = {(claim.node_id, claim.visit): ended[1], **(siblings or {})}
    plan = scheduler.after(graph.topology, state, list(known))
    applied = plans.apply_plan(run, graph, plan, state, events, now, known, claim_single=inline)
    if plan.failed is not None:
        plans.write(run, applied)  # the run's failure must see (and skip) the new steps
        node_id, visit = plan.failed
        failed = Step.objects.filter(run_id=run.pk, node_id=node_id, visit=visit).first()
        changes.update(plans.fail(run, plans.step_error(failed, node_id, visit), events, now))
        plans.save_run(run, events, **changes)
        return None
    changes.update(plans.settle(run, graph, state, events, now, known))
    plans.save_run(run, events, applied, state=state, **changes)
    others = [pk for pk in applied.dispatch if applied.inline is None or pk != applied.inline.pk]
    dispatch.on_commit(others, run.pk)
    return applied.inline


def _dispatch_now(step_ids: list[int], run_id: Any, now: datetime) -> None:
    Step.objects.filter(pk__in=step_ids).update(dispatched_at=now)
    dispatch.on_commit(step_ids, run_id)


# -- waits, cancel ----------------------------------------------------------------


def resume_step(
    step_id: int, *, state: dict[str, Any] | None = None, due_by: datetime | None = None
) -> bool:
    """A waiting step becomes queued again; its node's ``resume()`` runs next.
    With ``due_by``, only if its timer is due by then (the tick)."""
    run_id = Step.objects.filter(pk=step_id).values_list("run_id", flat=True).first()
    if run_id is None:
        return False
    with transaction.atomic():
        run = plans.lock_run(run_id)
        if run.status in RUN_FINISHED:
            return False
        row = Step.objects.filter(pk=step_id, status=StepStatus.WAITING).first()
        if row is None or (due_by is not None and (row.due_at is None or row.due_at > due_by)):
            return False
        now = clock.now()
        wait = dict(row.wait or {})
        wait["state"] = {**(wait.get("state") or {}), **(state or {})}
        wait["resumed"] = True
        # The claim that follows counts an attempt; a resume continues the
        # same attempt (an approval decided, a child ended), so undo it here.
        updated = Step.objects.filter(pk=step_id, status=StepStatus.WAITING).update(
            status=StepStatus.QUEUED,
            wait=wait,
            due_at=None,
            queued_at=now,
            dispatched_at=now,
            attempts=F("attempts") - 1,
        )
        if not updated:
            return False
        events = EventLog(run.pk, now)
        events.step(row.node_id, row.visit, StepStatus.QUEUED, resumed=True)
        changes: dict[str, Any] = {}
        if run.status != RunStatus.RUNNING:
            events.run(RunStatus.RUNNING)
            changes["status"] = RunStatus.RUNNING
        plans.save_run(run, events, **changes)
        dispatch.on_commit([step_id], run.pk)
        return True


def cancel_run(user: Any, run: Run) -> Run:
    permissions.check(user, Action.RUN, run)
    with transaction.atomic():
        locked = plans.lock_run(run.pk)
        if locked.status in RUN_FINISHED:
            raise RunConflict(
                f"The run has already {locked.status}; it cannot be cancelled.",
                status_now=locked.status,
            )
        _cancel(locked, cancelled_by=getattr(user, "pk", None))
        audit.record(
            user,
            locked.workspace_id,
            "run.cancelled",
            locked,
            {"workflow": str(locked.workflow_id)},
        )
    return Run.objects.get(pk=run.pk)


def cancel_run_for(run_id: Any, reason: str) -> bool:
    """Cancel a run on Baton's own account (its parent run ended, say): no
    permission check, no audit entry (no person acted); the run event says
    why. False when the run had already ended."""
    with transaction.atomic():
        try:
            locked = plans.lock_run(run_id)
        except Run.DoesNotExist:
            return False
        if locked.status in RUN_FINISHED:
            return False
        _cancel(locked, reason=reason)
    return True


def _cancel(locked: Run, **payload: Any) -> None:
    now = clock.now()
    events = EventLog(locked.pk, now)
    plans.end_active_steps(locked, events, now)
    events.run(RunStatus.CANCELLED, **payload)
    plans.save_run(locked, events, status=RunStatus.CANCELLED, finished_at=now)


# -- recovery (the sweeper) ----------------------------------------------------------


def recover_expired(step_id: int, now: datetime) -> bool:
    """A running step whose lease expired lost its worker: count the attempt
    as failed (retryable) and let the retry policy decide; the old worker's
    token no longer matches, so whatever it still writes is refused."""
    row = (
        Step.objects.filter(pk=step_id, status=StepStatus.RUNNING, lease_expires_at__lt=now)
        .select_related("run")
        .first()
    )
    if row is None:
        return False
    failure = Failure(
        "WorkerLost",
        "The worker running this step stopped before finishing it.",
        retryable=True,
        infrastructure=True,
    )
    claim = dataclasses.replace(_claim_of(row.run, row), expired_before=now)
    finish(claim, failure, inline=False)
    return not Step.objects.filter(pk=step_id, lease_token=row.lease_token).exists()
