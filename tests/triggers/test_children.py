"""flow.subworkflow and flow.map: child runs linked both ways."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from builder import services as builder_services
from tests.conftest import make_user, make_workflow, make_workspace
from triggers import services


@pytest.fixture
def engine_clock(monkeypatch):
    """Moves the engine's clock (timers) forward instead of sleeping."""
    from django.utils import timezone

    from runtime.engine import clock

    offset = {"value": timedelta()}
    monkeypatch.setattr(clock, "now", lambda: timezone.now() + offset["value"])

    def advance(seconds: float) -> None:
        offset["value"] += timedelta(seconds=seconds)

    return advance


def publish(owner, nodes: list[dict], edges: list[tuple[str, str]]):
    graph = {
        "version": 1,
        "nodes": nodes,
        "edges": [{"id": f"e{i}", "source": s, "target": t} for i, (s, t) in enumerate(edges)],
    }
    workflow = make_workflow(owner.memberships.first().workspace, graph=graph, user=owner)
    builder_services.create_version(owner, workflow)
    return workflow


def child_workflow(owner, *, delay_s: float | None = None, fail: bool = False):
    nodes = [{"id": "start", "type": "trigger.manual", "config": {}}]
    if delay_s:
        nodes.append({"id": "wait", "type": "flow.delay", "config": {"seconds": delay_s}})
    last = {"id": "double", "type": "data.transform", "config": {"output": "{{ trigger.n * 2 }}"}}
    if fail:
        last = {"id": "double", "type": "flow.fail", "config": {"message": "bad {{ trigger.n }}"}}
    nodes.append(last)
    ids = [n["id"] for n in nodes]
    return publish(owner, nodes, list(itertools.pairwise(ids)))


def parent_workflow(owner, node: dict):
    return publish(
        owner,
        [{"id": "start", "type": "trigger.manual", "config": {}}, {"id": "each", **node}],
        [("start", "each")],
    )


def start(owner, workflow, payload):
    from runtime import services as runtime

    return runtime.start_run(owner, workflow, input=payload)


def refreshed(run):
    run.refresh_from_db()
    return run


def test_subworkflow_returns_the_child_output_and_links_both_ways(owner):
    from runtime.models import Step

    child = child_workflow(owner)
    parent = parent_workflow(
        owner,
        {
            "type": "flow.subworkflow",
            "config": {"workflow": str(child.pk), "input": {"n": "{{ trigger.n }}"}},
        },
    )
    run = start(owner, parent, {"n": 21})
    services.tick()  # a child that ended before its parent waited is picked up here
    run = refreshed(run)
    assert run.status == "succeeded"
    assert run.output == {"each": {"double": 42}}
    step = Step.objects.get(run=run, node_id="each")
    [child_run] = step.child_runs.all()
    assert child_run.parent_step_id == step.pk and child_run.workflow_id == child.pk


def test_a_failed_child_fails_the_subworkflow_step(owner):
    child = child_workflow(owner, fail=True)
    parent = parent_workflow(
        owner,
        {"type": "flow.subworkflow", "config": {"workflow": str(child.pk), "input": {"n": 3}}},
    )
    run = start(owner, parent, {})
    services.tick()
    run = refreshed(run)
    assert run.status == "failed"
    assert "bad 3" in run.error["message"]


def test_a_workflow_of_another_workspace_cannot_be_run(owner):
    stranger = make_user(workspace=make_workspace(), roles=["admin"])
    foreign = child_workflow(stranger)
    parent = parent_workflow(
        owner, {"type": "flow.subworkflow", "config": {"workflow": str(foreign.pk), "input": {}}}
    )
    run = refreshed(start(owner, parent, {}))
    assert run.status == "failed" and run.error["type"] == "WorkflowNotFound"


def test_map_over_100_items_never_runs_more_than_5_children(owner, engine_clock):
    from runtime import events
    from runtime import services as runtime
    from runtime.models import RUN_ACTIVE, Run, Step

    child = child_workflow(owner, delay_s=10)
    parent = parent_workflow(
        owner,
        {
            "type": "flow.map",
            "config": {"items": "{{ trigger.items }}", "workflow": str(child.pk), "concurrency": 5},
        },
    )
    peak = {"children": 0}

    def observe(_events):
        active = Run.objects.filter(parent_step__isnull=False, status__in=RUN_ACTIVE).count()
        peak["children"] = max(peak["children"], active)

    events.register(observe)
    try:
        run = start(owner, parent, {"items": [{"n": i} for i in range(100)]})
        for _ in range(60):
            if refreshed(run).is_finished:
                break
            engine_clock(11)
            runtime.sweep()
    finally:
        events.unregister(observe)
    run = refreshed(run)
    assert run.status == "succeeded"
    assert run.output == {"each": [{"double": 2 * i} for i in range(100)]}
    assert peak["children"] == 5
    step = Step.objects.get(run=run, node_id="each")
    assert step.child_runs.count() == 100


def test_a_failed_item_fails_the_map_and_stops_the_rest(owner, engine_clock):
    from runtime import services as runtime
    from runtime.models import Step

    child = publish(
        owner,
        [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {"id": "wait", "type": "flow.delay", "config": {"seconds": 5}},
            {"id": "check", "type": "logic.if", "config": {"condition": "trigger.n != 2"}},
            {"id": "ok", "type": "data.transform", "config": {"output": "{{ trigger.n }}"}},
            {"id": "bad", "type": "flow.fail", "config": {"message": "item {{ trigger.n }}"}},
        ],
        [("start", "wait"), ("wait", "check")],
    )
    child.graph["edges"] += [
        {"id": "t", "source": "check", "source_port": "true", "target": "ok"},
        {"id": "f", "source": "check", "source_port": "false", "target": "bad"},
    ]
    child.save()
    builder_services.create_version(owner, child)
    parent = parent_workflow(
        owner,
        {
            "type": "flow.map",
            "config": {"items": "{{ trigger.items }}", "workflow": str(child.pk), "concurrency": 3},
        },
    )
    run = start(owner, parent, {"items": [{"n": i} for i in range(10)]})
    for _ in range(10):
        if refreshed(run).is_finished:
            break
        engine_clock(6)
        runtime.sweep()
    run = refreshed(run)
    assert run.status == "failed"
    assert "Item 2" in run.error["message"] and "item 2" in run.error["message"]
    step = Step.objects.get(run=run, node_id="each")
    assert step.child_runs.count() < 10  # the rest were never started
    # the siblings still waiting when item 2 failed were cancelled, not left running
    assert not step.child_runs.exclude(status__in=["succeeded", "failed", "cancelled"]).exists()
    assert step.child_runs.filter(status="cancelled").exists()


def test_cancelling_a_parent_cancels_its_running_children(owner):
    from runtime import services as runtime
    from runtime.models import RunEvent, Step

    child = child_workflow(owner, delay_s=60)
    parent = parent_workflow(
        owner,
        {
            "type": "flow.map",
            "config": {"items": "{{ trigger.items }}", "workflow": str(child.pk), "concurrency": 3},
        },
    )
    run = start(owner, parent, {"items": [{"n": i} for i in range(5)]})
    children = Step.objects.get(run=run, node_id="each").child_runs
    assert sorted(children.values_list("status", flat=True)) == ["waiting"] * 3

    runtime.cancel_run(owner, run)

    assert sorted(children.values_list("status", flat=True)) == ["cancelled"] * 3
    ended = RunEvent.objects.get(run=children.first(), kind="run", status="cancelled")
    assert ended.payload == {"reason": f"its parent run {run.pk} ended"}
    assert children.count() == 3  # and the two items not yet started never start


def test_map_over_no_items_is_an_empty_list(owner):
    child = child_workflow(owner)
    parent = parent_workflow(
        owner, {"type": "flow.map", "config": {"items": [], "workflow": str(child.pk)}}
    )
    run = refreshed(start(owner, parent, {}))
    assert run.status == "succeeded" and run.output == {"each": []}
