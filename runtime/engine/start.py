"""Starting runs: pick and validate the version, check the input, snapshot the
graph, create the run with its first steps in one transaction, dispatch on
commit. Nothing is created when any check fails."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from django.db import connection, transaction

from accounts import audit, permissions
from accounts.permissions import Action
from builder import services as builder_services
from builder.models import Workflow, WorkflowVersion
from builder.nodes import registry
from builder.nodes.base import NodeError
from runtime import scheduler
from runtime.engine import clock, dispatch, plans
from runtime.engine.log import EventLog
from runtime.exceptions import RunRejected
from runtime.models import Run, RunStatus, Step, StepStatus


def start_run(
    user: Any,
    workflow: Workflow,
    *,
    input: Any,
    version: int | str = "published",
    trigger_kind: str = "manual",
    trigger_node: str | None = None,
    parent_step: Step | None = None,
) -> Run:
    if user is not None:
        permissions.check(user, Action.RUN, workflow)
    if workflow.deleted_at is not None:
        raise RunRejected("This workflow was deleted.", status=404)
    document, pinned = _pick(workflow, version)
    _require_valid(document, pinned)
    trigger = _trigger(document, trigger_kind, trigger_node)
    _check_input(trigger, input)
    # The run is written with its first transition: on Postgres one
    # statement, which needs no transaction of its own unless an audit
    # entry (a person started it) or a failure at the start goes with it.
    run = plans.new_run(
        workspace_id=workflow.workspace_id,
        workflow=workflow,
        version=pinned,
        version_number=pinned.number if pinned else None,
        is_draft=pinned is None,
        graph=document,
        input=input,
        started_by=user if user is not None else None,
        trigger_kind=trigger_kind,
        trigger_node=trigger["id"],
        parent_step=parent_step,
    )
    topology = plans.graph_of(run.pk, run).topology
    # A trigger's output is the run's input (rule 1): its step is recorded
    # as it ends right here, which saves a broker hop and two transactions.
    plan = scheduler.start_with_trigger_ended(topology, trigger["id"])
    one_statement = user is None and plan.failed is None and connection.vendor == "postgresql"
    with contextlib.nullcontext() if one_statement else transaction.atomic(savepoint=False):
        _begin(run, plan, {(trigger["id"], 1): input}, insert=True)
        if user is not None:  # runs started by triggers are recorded by their runs
            _audit_start(user, run)
    return run


def _audit_start(user: Any, run: Run, **summary: Any) -> None:
    audit.record(
        user,
        run.workspace_id,
        "run.started",
        run,
        {
            "workflow": str(run.workflow_id),
            "version": run.version_number if not run.is_draft else "draft",
            **summary,
        },
    )


def _pick(workflow: Workflow, version: int | str) -> tuple[dict, WorkflowVersion | None]:
    if version == "draft":
        return workflow.graph, None
    if version in (None, "published"):
        pinned = workflow.published_version
        if pinned is None:
            raise RunRejected(
                "This workflow has no published version; publish it or run the draft.",
                [{"field": "version", "message": "no published version"}],
            )
        return pinned.graph, pinned
    number = (
        version if isinstance(version, int) else int(version) if str(version).isdigit() else None
    )
    if number is None or isinstance(version, bool):
        raise RunRejected(
            'version must be a number, "published" or "draft".',
            [{"field": "version", "message": "invalid"}],
        )
    pinned = WorkflowVersion.objects.filter(workflow=workflow, number=number).first()
    if pinned is None:
        raise RunRejected(
            f"Version {number} of this workflow does not exist.",
            [{"field": "version", "message": "not found"}],
            status=404,
        )
    return pinned.graph, pinned


def _require_valid(document: Any, pinned: WorkflowVersion | None = None) -> None:
    if pinned is not None:
        errors = _version_errors(pinned.pk, pinned.workflow_id)
    else:
        errors = _errors(document)
    if errors:
        raise RunRejected(
            "The workflow has errors; fix them before running it.", [dict(e) for e in errors]
        )


def _errors(document: Any) -> tuple[dict[str, Any], ...]:
    return tuple(issue.as_dict() for issue in builder_services.validate(document).errors)


@functools.lru_cache(maxsize=1024)
def _version_errors(version_id: int, workflow_id: Any) -> tuple[dict[str, Any], ...]:
    """A version's validation errors, found once per process: a version
    never changes, so webhooks and schedules do not check the same graph
    again on every call. (The workflow's id goes in the key as well: a
    version's id is a number a database restored from a backup, or a test
    database, may hand out again.)"""
    graph = WorkflowVersion.objects.values_list("graph", flat=True).get(pk=version_id)
    return _errors(graph)


def _trigger(document: dict, kind: str, node_id: str | None) -> dict:
    nodes = document.get("nodes", [])
    if node_id is not None:
        found = [n for n in nodes if n["id"] == node_id and _is_trigger(n)]
    else:
        found = [n for n in nodes if n.get("type") == f"trigger.{kind}"]
    if not found:
        wanted = f"trigger node {node_id!r}" if node_id else f"a trigger.{kind} node"
        raise RunRejected(
            f"The workflow has no {wanted} to start from.",
            [{"field": "trigger", "message": "missing"}],
        )
    return found[0]


def _is_trigger(node: dict) -> bool:
    node_type = registry.get(node.get("type", ""), node.get("type_version"))
    return bool(node_type and node_type.is_trigger)


def _check_input(trigger: dict, payload: Any) -> None:
    node_type = registry.get(trigger["type"], trigger.get("type_version"))
    check = getattr(node_type, "check_input", None)
    if check is None:
        return
    try:
        problems = check(trigger.get("config") or {}, payload)
    except NodeError as exc:
        problems = [exc.message]
    if problems:
        raise RunRejected(
            "The input does not match the trigger's input schema.",
            [{"field": "input", "node_id": trigger["id"], "message": p} for p in problems],
        )


def _begin(
    run: Run, plan: scheduler.Plan, reused: dict | None = None, *, insert: bool = False
) -> None:
    """Apply the first plan of a run and dispatch its queued steps on commit
    (``insert``: the run's row is not written yet)."""
    now = clock.now()
    events = EventLog(run.pk, now)
    events.run(RunStatus.QUEUED, trigger_kind=run.trigger_kind)
    graph = plans.graph_of(run.pk, run)
    # A new run has no steps yet; a re-run has the ones it reuses.
    state = plans.load_state(run.pk) if run.rerun_of_id else scheduler.State()
    applied = plans.apply_plan(run, graph, plan, state, events, now, reused or {})
    changes: dict[str, Any] = {}
    if plan.failed is not None:
        plans.insert_run(run)
        insert = False
        plans.write(run, applied)  # the run's failure must see (and skip) the new steps
        node_id, visit = plan.failed
        failed = Step.objects.filter(run_id=run.pk, node_id=node_id, visit=visit).first()
        changes = plans.fail(run, plans.step_error(failed, node_id, visit), events, now)
    elif scheduler.outcome(state) != scheduler.RUNNING:
        changes = plans.settle(run, graph, state, events, now, reused)
    # The plan's rows go with the events and the run's update (one statement on Postgres).
    plans.save_run(run, events, applied, state=state, insert=insert, **changes)
    dispatch.on_commit(applied.dispatch, run.pk)


# -- re-run ---------------------------------------------------------------------------


def rerun(user: Any, run: Run, from_node: str) -> Run:
    permissions.check(user, Action.RUN, run)
    graph = plans.graph_of(run.pk)
    if from_node not in graph.nodes:
        raise RunRejected(
            f"There is no node {from_node!r} in this run's graph.",
            [{"field": "from_node", "message": "unknown node"}],
        )
    upstream = _upstream(graph.topology, from_node)
    originals = _reusable(run, upstream, from_node)
    with transaction.atomic():
        new = Run.objects.create(
            workspace_id=run.workspace_id,
            workflow_id=run.workflow_id,
            version_id=run.version_id,
            version_number=run.version_number,
            is_draft=run.is_draft,
            graph=run.graph,
            input=run.input,
            started_by=user,
            trigger_kind=run.trigger_kind,
            trigger_node=run.trigger_node,
            rerun_of=run,
            rerun_from_node=from_node,
        )
        Step.objects.bulk_create([_copy(new, step) for step in originals.values()])
        topology = plans.graph_of(new.pk, new).topology
        roots = [n for n in topology.roots() if n not in upstream]
        plan = scheduler.Plan(steps=[scheduler.NewStep(n, 1, scheduler.SKIPPED) for n in roots])
        reused_state = plans.load_state(new.pk)
        for node_id in roots:
            reused_state.steps[(node_id, 1)] = scheduler.StepView(node_id, 1, scheduler.SKIPPED)
        order = [(n, 1) for n in _ordered(topology, upstream)] + [(n, 1) for n in roots]
        follow = scheduler.after(topology, reused_state, order)
        plan.edges, plan.steps = follow.edges, plan.steps + follow.steps
        plan.failed = follow.failed
        outputs = {(s.node_id, 1): s.output for s in originals.values()}
        _begin(new, plan, outputs)
        _audit_start(user, new, rerun_of=str(run.pk), from_node=from_node)
    return new


def _upstream(topology: scheduler.Topology, node_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [edge.source for edge in topology.incoming[node_id]]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(edge.source for edge in topology.incoming[current])
    seen.discard(node_id)
    return seen


def _ordered(topology: scheduler.Topology, nodes: set[str]) -> list[str]:
    """``nodes`` sources-first, so each end is applied after its inputs'."""
    order: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in done:
            return
        done.add(node)
        for edge in topology.incoming[node]:
            if edge.source in nodes:
                visit(edge.source)
        order.append(node)

    for node in sorted(nodes):
        visit(node)
    return order


def _reusable(run: Run, upstream: set[str], from_node: str) -> dict[str, Step]:
    """The latest ended step of every upstream node; refuse if one is missing."""
    ended = [StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.FAILED]
    latest: dict[str, Step] = {}
    for step in run.steps.filter(node_id__in=upstream, status__in=ended).order_by("visit"):
        if step.status != StepStatus.FAILED or step.port:
            latest[step.node_id] = step
    missing = sorted(upstream - set(latest))
    if missing:
        raise RunRejected(
            f"Cannot re-run from {from_node!r}: {', '.join(missing)} did not finish in this run.",
            [
                {"field": "from_node", "message": f"{node} has no recorded output"}
                for node in missing
            ],
        )
    return latest


def _copy(new: Run, step: Step) -> Step:
    status = StepStatus.SUCCEEDED if step.status == StepStatus.SUCCEEDED else step.status
    return Step(
        run=new,
        node_id=step.node_id,
        visit=1,
        node_type=step.node_type,
        status=status,
        port=step.port,
        attempts=0,
        input=step.input,
        output=step.output,
        error=step.error,
        queued_at=step.queued_at,
        started_at=step.started_at,
        finished_at=step.finished_at,
        usage={},
        cost_usd=None,
        reused_from=step,
    )
