"""A step's end decided from the state this process kept, without the run
lock (Postgres: one fenced statement), must never win against a transition
it did not see: a cancel, another branch's end, a second delivery. On
SQLite the same transitions take the lock; the outcomes must be the same."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime import services
from runtime.engine import plans, transitions
from runtime.engine.transitions import Success
from runtime.models import Run, Step
from tests.runtime import nodes as _test_nodes  # noqa: F401  (registers test.* types)
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}


def http(node_id: str) -> dict:
    # not a pure node: its claim commits before it runs, as a real call's would
    return {"id": node_id, "type": "http.request", "config": {"url": "http://example.test/"}}


def transform(node_id: str) -> dict:
    return {"id": node_id, "type": "data.transform", "config": {"output": "{{ input }}"}}


def start(user: Any, nodes: list[dict], edges: list[tuple]) -> Run:
    return services.start_run(user, flow(user, nodes, edges), input={"v": 1}, version="draft")


def claim(run: Run, node_id: str) -> transitions.Claim:
    step = Step.objects.get(run=run, node_id=node_id)
    taken = transitions.claim(step.pk, run_id=run.pk)
    assert taken is not None
    return taken


def test_a_step_ends_and_its_successor_is_claimed_from_the_kept_state(runner, held) -> None:
    run = start(runner, [T, http("a"), transform("b")], [("t", "a"), ("a", "b")])
    a = claim(run, "a")
    b = transitions.finish(a, Success({"status": 200}))
    assert b is not None and b.node_id == "b" and b.input == {"status": 200}
    assert transitions.finish(b, Success({"done": True})) is None
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"b": {"done": True}}
    seqs = list(run.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and run.event_seq == len(seqs)


def test_a_chain_ends_with_gapless_events_and_every_step_once(runner, held) -> None:
    nodes = [T, http("a"), *(transform(f"n{i}") for i in range(5))]
    edges = [("t", "a"), ("a", "n0")] + [(f"n{i}", f"n{i + 1}") for i in range(4)]
    run = start(runner, nodes, edges)
    step = claim(run, "a")
    outputs = 0
    while step is not None:
        outputs += 1
        step = transitions.finish(step, Success({"k": outputs}))
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"n4": {"k": 6}}
    steps = Step.objects.filter(run=run)
    assert steps.count() == 7 and set(steps.values_list("status", flat=True)) == {"succeeded"}
    seqs = list(run.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and run.event_seq == len(seqs)


def test_a_cancel_between_two_steps_is_not_overwritten(runner, held) -> None:
    run = start(runner, [T, http("a"), transform("b")], [("t", "a"), ("a", "b")])
    a = claim(run, "a")
    services.cancel_run(runner, Run.objects.get(pk=run.pk))  # another process, say
    assert transitions.finish(a, Success({"status": 200})) is None
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert Step.objects.get(run=run, node_id="a").status == "cancelled"
    assert not Step.objects.filter(run=run, node_id="b").exists()


def test_a_stale_kept_state_cannot_decide_a_join(runner, held) -> None:
    """Two branches end; this process kept the state from before the first
    one's end (as when another worker ended it). The second end must see the
    first: the join runs exactly once, with both inputs."""
    merge = {"id": "join", "type": "logic.merge", "config": {"mode": "object"}}
    run = start(
        runner,
        [T, http("a"), http("b"), merge],
        [("t", "a"), ("t", "b"), ("a", "join"), ("b", "join")],
    )
    a, b = claim(run, "a"), claim(run, "b")
    stale = copy.deepcopy(dict(plans._states))
    assert transitions.finish(a, Success({"from": "a"})) is None  # the join waits for b
    plans._states.update(stale)  # the state of before a's end, as if nobody wrote since
    join = transitions.finish(b, Success({"from": "b"}))
    assert join is not None and join.node_id == "join"
    assert join.input == {"a": {"from": "a"}, "b": {"from": "b"}}
    assert transitions.finish(join, Success(join.input)) is None
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert Step.objects.filter(run=run, node_id="join").count() == 1


def test_a_second_end_of_the_same_attempt_writes_nothing(runner, held) -> None:
    run = start(runner, [T, http("a"), transform("b")], [("t", "a"), ("a", "b")])
    a = claim(run, "a")
    b = transitions.finish(a, Success({"first": True}))
    assert b is not None
    assert transitions.finish(a, Success({"second": True})) is None  # a late duplicate
    assert Step.objects.get(run=run, node_id="a").output == {"first": True}
    assert Step.objects.filter(run=run, node_id="b").count() == 1


def test_a_cancel_while_a_pure_step_runs_wins_over_its_claim(runner, held) -> None:
    run = start(runner, [T, transform("a"), transform("b")], [("t", "a"), ("a", "b")])
    step = Step.objects.get(run=run, node_id="a")

    def run_and_be_cancelled(claimed: transitions.Claim) -> Success:
        # another process cancels the run while this one runs the step
        services.cancel_run(runner, Run.objects.get(pk=run.pk))
        return Success({"ran": True})

    assert transitions.claim(step.pk, run_and_be_cancelled, run_id=run.pk) is None
    run.refresh_from_db()
    step.refresh_from_db()
    assert run.status == "cancelled" and step.status != "succeeded" and step.output is None
    assert not Step.objects.filter(run=run, node_id="b").exists()
    seqs = list(run.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_pure_step_delivered_twice_runs_once(runner, held) -> None:
    from runtime.engine.execute import run_pure

    run = start(runner, [T, transform("a"), http("b")], [("t", "a"), ("a", "b")])
    step = Step.objects.get(run=run, node_id="a")
    b = transitions.claim(step.pk, run_pure, run_id=run.pk)
    # a ran and ended; b, its single successor, is claimed to run next here
    assert b is not None and b.node_id == "b" and b.input == {"v": 1}
    assert transitions.claim(step.pk, run_pure, run_id=run.pk) is None
    step.refresh_from_db()
    assert (step.status, step.attempts, step.output) == ("succeeded", 1, {"v": 1})
    assert Step.objects.get(run=run, node_id="b").status == "running"
    kinds = list(run.events.filter(node_id="a").values_list("status", flat=True))
    assert kinds == ["queued", "running", "succeeded"]


def test_the_first_step_sees_when_its_run_started(runner, engine) -> None:
    node = {"id": "a", "type": "data.transform", "config": {"output": "{{ run.started_at }}"}}
    run = start(runner, [T, node], [("t", "a")])
    run.refresh_from_db()
    assert run.status == "succeeded" and run.started_at is not None
    assert run.output == {"a": run.started_at.isoformat()}


def test_a_step_this_process_queued_and_another_ran_is_not_run_again(runner, held) -> None:
    """The start kept the run's state with the steps it queued, so this
    process may claim one without reading the run again. If another process
    ran that step meanwhile, the kept state is stale: the claim must find
    out and leave the step as it is."""
    from runtime.engine.execute import run_pure

    run = start(runner, [T, transform("a"), http("b")], [("t", "a"), ("a", "b")])
    step = Step.objects.get(run=run, node_id="a")
    stale = copy.deepcopy(dict(plans._states))
    assert step.pk in stale[run.pk][3]  # kept with the step it queued
    b = transitions.claim(step.pk, run_pure, run_id=run.pk)  # "another process"
    assert b is not None and b.node_id == "b"
    plans._states.update(stale)
    assert transitions.claim(step.pk, run_pure, run_id=run.pk) is None
    step.refresh_from_db()
    assert (step.status, step.attempts, step.output) == ("succeeded", 1, {"v": 1})
    assert Step.objects.filter(run=run, node_id="b").count() == 1
    kinds = list(run.events.filter(node_id="a").values_list("status", flat=True))
    assert kinds == ["queued", "running", "succeeded"]


# -- commits of pure steps (BATON_ASYNC_PURE_COMMITS) -------------------------------


def _flush_for(graph_nodes: list[dict], ended: str, inline: str | None, **claim: Any) -> bool:
    shape = plans.Shape(
        topology=None,  # type: ignore[arg-type]  (the rule reads the nodes only)
        nodes={node["id"]: node for node in graph_nodes},
    )
    graph = plans.RunGraph(shape, input={})
    taken = transitions.Claim(
        step_id=1,
        run_id=None,
        node_id=ended,
        visit=1,
        attempt=1,
        token=None,  # type: ignore[arg-type]
        input={},
        wait=claim.get("wait"),
        run_meta={},
        workspace_id=None,
    )
    applied = plans.Applied(edges=[], rows=[], inline=Step(node_id=inline) if inline else None)
    return transitions._needs_flush(graph, taken, applied)


def test_only_transitions_of_pure_steps_alone_skip_the_wal_flush(settings) -> None:
    settings.BATON_ASYNC_PURE_COMMITS = True
    slow = {**transform("slow"), "timeout_s": 5}
    nodes = [transform("a"), transform("b"), http("h"), slow]
    # a pure step ends, and the next pure one is claimed, or none is
    assert _flush_for(nodes, "a", "b") is False
    assert _flush_for(nodes, "a", None) is False
    # a step that calls out is claimed: its claim must be durable before the call
    assert _flush_for(nodes, "a", "h") is True
    # a step that called out ends: its result must be durable
    assert _flush_for(nodes, "h", "a") is True
    # a timeout makes a node run outside the claim, as any other that calls out
    assert _flush_for(nodes, "a", "slow") is True
    # a waiting step that resumed (a delay, an approval) ends durably
    assert _flush_for(nodes, "a", None, wait={"resumed": True}) is True
    settings.BATON_ASYNC_PURE_COMMITS = False
    assert _flush_for(nodes, "a", "b") is True


def test_a_pure_chain_leaves_the_sessions_commits_durable(runner, held) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is a Postgres setting: the CI's second pass")
    nodes = [T, http("a"), *(transform(f"n{i}") for i in range(3))]
    edges = [("t", "a"), ("a", "n0"), ("n0", "n1"), ("n1", "n2")]
    run = start(runner, nodes, edges)
    step = claim(run, "a")
    while step is not None:
        step = transitions.finish(step, Success({"k": 1}))
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"n2": {"k": 1}}
    # the pure steps' statements turned the flush off for their own
    # transactions only: every later commit of this connection waits again
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


# -- graphs shared by the runs of a version -----------------------------------------


def _as_another_worker(run: Run) -> None:
    """Run the run's queued steps as a worker process that did not start it
    would: no state kept and no graph of this run (the shapes of versions it
    ran before are still known)."""
    from runtime.engine.execute import execute_step

    plans._states.clear()
    plans._graphs.clear()
    for step in Step.objects.filter(run=run, status="queued"):
        execute_step(step.pk, run.pk)


def constant(node_id: str, value: str) -> dict:
    return {"id": node_id, "type": "data.transform", "config": {"output": {"v": value}}}


def test_runs_of_two_versions_and_the_draft_each_run_their_own_graph(runner, held) -> None:
    from builder.services import create_version

    workflow = flow(runner, [T, constant("a", "one")], [("t", "a")])
    first = create_version(runner, workflow)
    workflow.graph["nodes"][1]["config"]["output"] = {"v": "two"}
    workflow.save()
    second = create_version(runner, workflow)
    workflow.graph["nodes"][1]["config"]["output"] = {"v": "draft"}
    workflow.save()
    runs = [
        services.start_run(runner, workflow, input={}, version=version)
        for version in (1, 2, 1, "draft", 2, 1)
    ]
    for run in runs:
        _as_another_worker(run)
    outputs = [Run.objects.get(pk=run.pk).output["a"]["v"] for run in runs]
    assert outputs == ["one", "two", "one", "draft", "two", "one"]
    assert {first.pk, second.pk} <= set(plans.known_versions())


def test_a_run_whose_versions_shape_was_dropped_reads_its_graph(runner, held) -> None:
    from builder.services import create_version

    workflow = flow(runner, [T, constant("a", "one")], [("t", "a")])
    create_version(runner, workflow)
    run = services.start_run(runner, workflow, input={"x": 1})
    plans._graphs.clear()
    plans._versions.clear()
    row = Run.objects.get(pk=run.pk)
    row.graph = None  # left out of a read: the shape was known then
    graph = plans.graph_of(run.pk, row)
    assert set(graph.nodes) == {"t", "a"} and graph.input == {"x": 1}
    assert graph.pure == {"t", "a"}
