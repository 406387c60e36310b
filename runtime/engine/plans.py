"""A run's graph (cached per process: the snapshot never changes), its state
as the scheduler sees it, and the application of a scheduler plan to rows.

Everything here runs inside the caller's transaction, under the run lock.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from runtime import events as hooks
from runtime import scheduler
from runtime.context import step_input
from runtime.engine import sql
from runtime.engine.log import EventLog
from runtime.models import Run, RunStatus, Step, StepStatus, new

_CACHE_SIZE = 512


@dataclass(frozen=True)
class Shape:
    """What the engine reads of a graph document, built once per document:
    shared by every run of a published version (a version never changes)."""

    topology: scheduler.Topology
    nodes: Mapping[str, Mapping[str, Any]]

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> Shape:
        return cls(
            scheduler.Topology.from_document(document),
            {node["id"]: node for node in document.get("nodes", [])},
        )

    @functools.cached_property
    def pure(self) -> frozenset[str]:
        """The nodes whose steps may run inside the transaction that claims
        them: of a pure type (see ``NodeType.pure``), without a timeout."""
        from builder.nodes import registry

        def pure(node: Mapping[str, Any]) -> bool:
            node_type = registry.get(node["type"], node.get("type_version"))
            return not node.get("timeout_s") and node_type is not None and node_type.pure

        return frozenset(node_id for node_id, node in self.nodes.items() if pure(node))


@dataclass(frozen=True)
class RunGraph:
    """The immutable parts of a run: its graph snapshot's shape and its input."""

    shape: Shape
    input: Any

    @property
    def topology(self) -> scheduler.Topology:
        return self.shape.topology

    @property
    def nodes(self) -> Mapping[str, Mapping[str, Any]]:
        return self.shape.nodes

    @property
    def pure(self) -> frozenset[str]:
        return self.shape.pure

    def retry(self, node_id: str) -> tuple[int, float, float]:
        policy = self.nodes[node_id].get("retry") or {}
        return (
            int(policy.get("max_attempts") or 1),
            float(policy.get("backoff_s") or 0),
            float(policy.get("backoff_factor") or 2),
        )

    def backoff(self, node_id: str, attempt: int) -> float:
        _max, base, factor = self.retry(node_id)
        return base * factor ** max(attempt - 1, 0)


_graphs: OrderedDict[Any, RunGraph] = OrderedDict()
#: the shapes of published versions' graphs, by version id
_versions: OrderedDict[Any, Shape] = OrderedDict()
_VERSIONS_SIZE = 128

_graphs_lock = threading.Lock()


def graph_of(run_id: Any, run: Run | None = None) -> RunGraph:
    """The run's graph, read once per process (from ``run`` when given).
    A run of a version shares the shape built for the version's first run
    in this process: ``run.graph`` may then be None (not read)."""
    with _graphs_lock:
        cached = _graphs.get(run_id)
    if cached is not None:
        return cached
    if run is not None:
        document, run_input, version_id = run.graph, run.input, run.version_id
    else:
        document, run_input, version_id = (
            Run.objects.filter(pk=run_id).values_list("graph", "input", "version_id").get()
        )
    with _graphs_lock:
        shape = _versions.get(version_id) if version_id is not None else None
    if shape is None:
        if document is None:  # the version's shape was dropped since the read
            document = Run.objects.values_list("graph", flat=True).get(pk=run_id)
        shape = Shape.of(document)
    cached = RunGraph(shape, run_input)
    with _graphs_lock:
        _graphs[run_id] = cached
        while len(_graphs) > _CACHE_SIZE:
            _graphs.popitem(last=False)
        if version_id is not None:
            _versions[version_id] = shape
            _versions.move_to_end(version_id)
            while len(_versions) > _VERSIONS_SIZE:
                _versions.popitem(last=False)
    return cached


def known_versions() -> list[Any]:
    """Ids of the versions whose shapes this process holds (a read of a new
    run of one of them can leave its graph out)."""
    with _graphs_lock:
        return list(_versions)


def lock_run(run_id: Any) -> Run:
    """The run row, locked until the transaction ends (Postgres; SQLite's
    IMMEDIATE transactions already serialise writers). Every transition takes
    this lock first, then touches steps: one lock order, no deadlocks. The
    run's graph comes with it the first time this process needs it."""
    known = run_id in _graphs
    run = sql.lock_run(run_id, with_graph=not known)
    if run is None:
        raise Run.DoesNotExist(run_id)
    if not known:
        graph_of(run_id, run)
    return run


def save_run(
    run: Run,
    events: EventLog,
    applied: Applied | None = None,
    *,
    state: scheduler.State | None = None,
    fence: sql.Fence | None = None,
    flush: bool = True,
    insert: bool = False,
    **changes: Any,
) -> bool:
    """Write the transition: the plan's rows if not yet written, its events
    and the run's changed columns (one statement on Postgres). ``state``, the
    run's complete state after this transition, is kept for the next one.

    With ``fence`` (see :func:`sql.write_fenced`) the transition was decided
    from a kept state without the run lock: it is written, in one statement
    and its own transaction, only if the run row and the step are still as
    that state says; False (nothing written) when they are not. Without
    ``flush`` its commit does not wait for the WAL flush.

    With ``insert`` the run is new and not yet written: its row is inserted
    with the transition (one statement on Postgres)."""
    fused = applied is not None and not applied.written and connection.vendor == "postgresql"
    if insert and (fence is not None or not fused):
        insert_run(run)
        insert = False
    run.event_seq, pending = events.take(run.event_seq)
    for name, value in changes.items():
        setattr(run, name, value)
    facts = hooks.RunFacts.of(run)
    values = {"event_seq": run.event_seq, **changes}
    if fence is not None:
        rows = applied.rows if applied is not None else []
        edges = applied.edges if applied is not None else []
        probes = None
        if run.status in _FINISHED and hooks.end_probes:
            probes = {name: probe(run.workflow_id) for name, probe in hooks.end_probes.items()}
        answers = sql.write_fenced(run.pk, fence, edges, rows, pending, values, probes, flush=flush)
        if answers is None:
            return False
        if probes:
            facts = dataclasses.replace(facts, probes=answers)
        if applied is not None:
            applied.written = True
    elif fused:
        sql.write_fused(
            run.pk, applied.edges, applied.rows, pending, values, new_run=run if insert else None
        )
        applied.written = True
        if insert:
            run._state.adding, run._state.db = False, connection.alias
    else:
        if applied is not None:
            write(run, applied)
        sql.insert_events(pending)
        sql.update(Run, values, {"id": run.pk})
    for event in pending:
        event.facts = facts
    if state is not None and run.status not in _FINISHED:
        queued = applied.rows if applied is not None else ()
        keep_state(run, state, [row for row in queued if row.status == StepStatus.QUEUED])
    hooks.publish_on_commit(pending)
    return True


def new_run(**fields: Any) -> Run:
    """A run not yet written (``save_run(..., insert=True)`` writes it with
    its first transition, :func:`insert_run` alone), its defaults and
    ``created_at`` set."""
    run = Run(**fields)
    for field in Run._meta.concrete_fields:
        if getattr(field, "auto_now_add", False):
            field.pre_save(run, add=True)
    return run


def insert_run(run: Run) -> None:
    """Write a run made by :func:`new_run` on its own (if not written yet)."""
    if run._state.adding:
        run.save(force_insert=True)


def load_state(run_id: Any) -> scheduler.State:
    return sql.load_state(run_id)


# -- the state kept between transitions -----------------------------------------
#
# A run's state changes only in transitions, and every transition numbers its
# events from the locked run row's ``event_seq``. So a state this process
# wrote at seq N is still the run's state when the locked row still says N:
# the next transition (the inline successor of a chain, the end of a step this
# process claimed) skips reading every step and edge of the run again.
# An entry is taken out while a transaction uses it and put back only after
# that transaction commits, so a rollback or another thread never sees a
# half-applied state.
#
# With the state, the run row as this process wrote it is kept: on Postgres,
# the end of a step may then be decided without the run lock and written in
# one fenced statement (:func:`kept_run`, :func:`sql.write_fenced`).

_STATES_SIZE = 1024
_states: OrderedDict[Any, tuple[int, scheduler.State, Run, dict[int, Step]]] = OrderedDict()
_states_lock = threading.Lock()
#: runs whose fenced write found the run changed by another process or
#: thread (parallel branches): their transitions take the lock from then on
_contended: OrderedDict[Any, None] = OrderedDict()


def kept_step(run_id: Any, step_id: int) -> tuple[Run, Step, Any, scheduler.State] | None:
    """:func:`peek_step` without the read, where this process wrote the
    run's last transition and that transition queued ``step_id``: the run
    row, the step and the state it kept, taken out; None otherwise (and
    nothing is taken). The fenced write that follows checks that the run
    and the step are still as kept."""
    if not fenced_writes():
        return None
    with _states_lock:
        kept = _states.get(run_id)
        if run_id in _contended or kept is None or step_id not in kept[3]:
            return None
        del _states[run_id]
    row = kept[3][step_id]
    return kept[2], row, row.due_at, kept[1]


def kept_state(run: Run) -> scheduler.State | None:
    """The state kept for the locked run at its ``event_seq``, taken out; or None."""
    with _states_lock:
        kept = _states.pop(run.pk, None)
    return kept[1] if kept is not None and kept[0] == run.event_seq else None


def kept_run(run_id: Any) -> tuple[Run, scheduler.State] | None:
    """The run row and state this process last wrote, taken out, for a
    transition decided without the run lock; None where that is not done
    (not Postgres, inside an outer transaction, a contended run) or nothing
    is kept."""
    if not fenced_writes():
        return None
    with _states_lock:
        if run_id in _contended:
            return None
        kept = _states.pop(run_id, None)
    return (kept[2], kept[1]) if kept is not None else None


def fenced_writes() -> bool:
    """Whether transitions may be decided without the run lock and written
    fenced (:func:`sql.write_fenced`): Postgres, outside an outer transaction."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


GONE = sql.GONE


def peek_step(step_id: int, run_id: Any) -> tuple[Run, Step, Any, scheduler.State] | str | None:
    """For a claim written fenced: the run, its queued step ``step_id``
    (with its ``due_at``) and the run's state, read together without a lock;
    :data:`GONE` when the step is no longer queued (a stale message: nothing
    to do, and no lock to wait for); None when the run is contended (only
    whether the step is still queued is read) or the step is not the run's."""
    with _states_lock:
        contended = run_id in _contended
    if contended:
        return GONE if sql.step_queued(step_id, run_id) is False else None
    known = run_id in _graphs
    peeked = sql.peek_queued(
        step_id, run_id, with_graph=not known, known_versions=() if known else known_versions()
    )
    if peeked is None or peeked == GONE:
        return peeked
    if not known:
        graph_of(peeked[0].pk, peeked[0])
    with _states_lock:
        _states.pop(run_id, None)  # superseded by the state just read
    return peeked


def note_contended(run_id: Any) -> None:
    """A fenced write missed: the run changes under other hands."""
    with _states_lock:
        _contended[run_id] = None
        while len(_contended) > _STATES_SIZE:
            _contended.popitem(last=False)


def state_of(run: Run) -> scheduler.State:
    """The locked run's state: the one kept at its ``event_seq``, else read."""
    state = kept_state(run)
    return state if state is not None else sql.load_state(run.pk)


def keep_state(run: Run, state: scheduler.State, queued: Iterable[Step] = ()) -> None:
    """Keep ``state`` (and a copy of the run row, and the ``queued`` steps
    the transition created) as the run's state at its ``event_seq`` once
    the transaction commits."""
    entry = (run.event_seq, state, _copy_run(run), {row.pk: row for row in queued})

    def store() -> None:
        with _states_lock:
            _states[run.pk] = entry
            _states.move_to_end(run.pk)
            while len(_states) > _STATES_SIZE:
                _states.popitem(last=False)

    transaction.on_commit(store)


def _copy_run(run: Run) -> Run:
    """A copy of the run's attributes: the caller may go on changing
    ``run`` after the commit (the fast path only reads and sets plain
    attributes of the copy; it is never saved through the ORM)."""
    copied = Run.__new__(Run)
    copied.__dict__.update(run.__dict__)
    return copied


def note_step(state: scheduler.State, node_id: str, visit: int, status: str, port: Any) -> None:
    """Record in ``state`` a step's change written in this transaction."""
    state.steps[(node_id, visit)] = scheduler.StepView(node_id, visit, str(status), port)


def outputs_of(run_id: Any, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    keys = set(keys)
    if not keys:
        return {}
    rows = Step.objects.filter(run_id=run_id, node_id__in={node for node, _ in keys})
    return {
        (node, visit): output
        for node, visit, output in rows.values_list("node_id", "visit", "output")
        if (node, visit) in keys
    }


@dataclass
class Applied:
    """A plan turned into rows, written by :func:`save_run` (or :func:`write`)."""

    edges: list[tuple[str, int, str]]
    rows: list[Step]
    #: the single queued step, created already claimed for inline continuation
    inline: Step | None = None
    written: bool = False

    @property
    def dispatch(self) -> list[int]:
        """Ids of the new queued steps to send (known once written)."""
        return [row.pk for row in self.rows if row.status == StepStatus.QUEUED]


def apply_plan(
    run: Run,
    graph: RunGraph,
    plan: scheduler.Plan,
    state: scheduler.State,
    events: EventLog,
    now: datetime,
    known_outputs: Mapping[tuple[str, int], Any],
    *,
    claim_single: bool = False,
) -> Applied:
    """Turn the plan's edge states and steps into rows (written with the
    run's update, in the same statement on Postgres) and update ``state``.
    The unique (run, node, visit) constraint is the last line of defence: a
    duplicate aborts the transaction instead of running a visit twice."""
    for edge_id, visit, value in plan.edges:
        state.edges[(edge_id, visit)] = value
    if not plan.steps:
        return Applied(list(plan.edges), [])
    wanted = {key for step in plan.steps for key in step.inputs if key not in known_outputs}
    outputs = {**known_outputs, **outputs_of(run.pk, wanted)}
    queued = [s for s in plan.steps if s.status == scheduler.QUEUED]
    inline = queued[0] if claim_single and len(queued) == 1 and plan.failed is None else None
    rows = [_new_step(run, graph, step, outputs, now, step is inline) for step in plan.steps]
    for step, row in zip(plan.steps, rows, strict=True):
        state.steps[(step.node_id, step.visit)] = scheduler.StepView(
            step.node_id, step.visit, row.status, step.port
        )
        events.step(
            step.node_id, step.visit, row.status, attempt=row.attempts or None, error=row.error
        )
    inline_row = rows[plan.steps.index(inline)] if inline else None
    return Applied(list(plan.edges), rows, inline_row)


def write(run: Run, applied: Applied) -> None:
    """Write a plan's rows now (before statements that must see them)."""
    if not applied.written:
        sql.insert_edges(run.pk, applied.edges)
        sql.insert_steps(applied.rows)
        applied.written = True


def _new_step(
    run: Run, graph: RunGraph, step: scheduler.NewStep, outputs: Mapping, now: datetime, claim: bool
) -> Step:
    row = new(
        Step,
        created_at=now,
        run_id=run.pk,
        node_id=step.node_id,
        visit=step.visit,
        status=step.status,
        node_type=graph.nodes[step.node_id].get("type", ""),
        port=step.port,
    )
    if step.status == scheduler.SKIPPED:
        row.finished_at = now
        return row
    row.input = step_input([(node, outputs.get((node, visit))) for node, visit in step.inputs])
    row.queued_at = now
    if step.status == scheduler.SUCCEEDED:  # a trigger, recorded as the run starts
        row.input = row.output = outputs.get((step.node_id, step.visit))
        row.attempts, row.started_at, row.finished_at = 1, now, now
    elif step.status == scheduler.FAILED:
        row.error, row.finished_at = step.error, now
        row.output = {"error": step.error} if step.port else None
    elif claim:
        from runtime.engine.transitions import lease_fields

        row.status = StepStatus.RUNNING
        row.attempts = 1
        row.started_at = now
        for name, value in lease_fields(now).items():
            setattr(row, name, value)
    else:
        row.dispatched_at = now
    return row


def sink_outputs(
    run: Run,
    graph: RunGraph,
    state: scheduler.State,
    known: Mapping[tuple[str, int], Any] | None = None,
) -> dict[str, Any]:
    latest = scheduler.output_nodes(graph.topology, state)
    known = known or {}
    found = {key: known[key] for key in latest.items() if key in known}
    found.update(outputs_of(run.pk, [key for key in latest.items() if key not in found]))
    return {node: found.get((node, visit)) for node, visit in sorted(latest.items())}


def settle(
    run: Run,
    graph: RunGraph,
    state: scheduler.State,
    events: EventLog,
    now: datetime,
    known: Mapping[tuple[str, int], Any] | None = None,
) -> dict:
    """The run's status after a transition: running, waiting or succeeded
    (with output; ``known`` outputs need not be read again)."""
    outcome = scheduler.outcome(state)
    if outcome == scheduler.SUCCEEDED:
        output = sink_outputs(run, graph, state, known)
        events.run(RunStatus.SUCCEEDED)
        return {"status": RunStatus.SUCCEEDED, "output": output, "finished_at": now}
    status = RunStatus.WAITING if outcome == scheduler.WAITING else RunStatus.RUNNING
    if run.status == status:
        return {}
    events.run(status)
    return {"status": status, **({"started_at": now} if run.started_at is None else {})}


_FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}

#: how a run's end leaves its unfinished steps
_ENDING = {
    StepStatus.RUNNING: StepStatus.CANCELLED,
    StepStatus.WAITING: StepStatus.CANCELLED,
    StepStatus.QUEUED: StepStatus.SKIPPED,
    StepStatus.PENDING: StepStatus.SKIPPED,
}


def end_active_steps(run: Run, events: EventLog, now: datetime) -> None:
    """Running and waiting steps are cancelled; queued and pending ones
    skipped. Clearing the lease makes a late result from a worker bounce."""
    active = Step.objects.filter(run_id=run.pk, status__in=[s.value for s in _ENDING])
    rows = list(active.values_list("pk", "node_id", "visit", "status"))
    for old, ending in _ENDING.items():
        ids = [pk for pk, _node, _visit, status in rows if status == old]
        if ids:
            Step.objects.filter(pk__in=ids, status=old).update(
                status=ending, finished_at=now, lease_token=None, lease_expires_at=None
            )
    for _pk, node_id, visit, status in rows:
        events.step(node_id, visit, _ENDING[StepStatus(status)])


def fail(run: Run, error: dict[str, Any], events: EventLog, now: datetime) -> dict:
    end_active_steps(run, events, now)
    events.run(RunStatus.FAILED, error=error)
    return {"status": RunStatus.FAILED, "error": error, "finished_at": now}


def step_error(step: Step | None, node_id: str, visit: int) -> dict[str, Any]:
    error = (step.error if step else None) or {}
    return {
        "node_id": node_id,
        "visit": visit,
        "type": error.get("type", "Error"),
        "message": error.get("message", ""),
    }


def lease_seconds() -> float:
    return float(getattr(settings, "BATON_STEP_LEASE_S", 30))
