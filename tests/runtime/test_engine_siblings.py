"""A fan-out of pure steps (data, logic) ends in one write: the worker that
claims one branch runs the run's other queued pure branches with it, each
still claimed once, with its own attempt and events, and the join is
decided once. Their own messages then do nothing. On Postgres the first
claim is the fenced statement, on SQLite the claim under the run lock; the
outcomes must be the same."""

from __future__ import annotations

from typing import Any

from runtime import services
from runtime.models import Run, Step
from tests.conftest import deliver
from tests.runtime import nodes as _test_nodes  # noqa: F401  (registers test.* types)
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}
MERGE = {"id": "join", "type": "logic.merge", "config": {"mode": "object"}}


def transform(node_id: str) -> dict:
    return {"id": node_id, "type": "data.transform", "config": {"output": {"by": node_id}}}


def start(user: Any, nodes: list[dict], edges: list[tuple]) -> Run:
    return services.start_run(user, flow(user, nodes, edges), input={}, version="draft")


def step_events(run: Run, node_id: str) -> list[str]:
    return list(run.events.filter(node_id=node_id).order_by("seq").values_list("status", flat=True))


def test_one_delivery_ends_every_pure_branch_and_the_join_once(runner, held) -> None:
    names = [f"b{i}" for i in range(6)]
    edges = [("t", n) for n in names] + [(n, "join") for n in names]
    run = start(runner, [T, *(transform(n) for n in names), MERGE], edges)

    assert deliver(run.pk, limit=1) == ["b0"]
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.output == {"join": {n: {"by": n} for n in names}}
    for name in names:
        step = Step.objects.get(run=run, node_id=name)
        assert (step.status, step.attempts, step.output) == ("succeeded", 1, {"by": name})
        assert step.started_at is not None and step.worker
        assert step_events(run, name) == ["queued", "running", "succeeded"]
    assert Step.objects.filter(run=run, node_id="join").count() == 1
    seqs = list(run.events.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)) and run.event_seq == len(seqs)

    # the other branches' messages find their steps ended: nothing changes
    assert deliver(run.pk) == names[1:]
    assert run.events.count() == len(seqs)
    assert set(Step.objects.filter(run=run).values_list("attempts", flat=True)) == {1}


def test_a_branch_that_fails_is_left_to_its_own_message(runner, held) -> None:
    boom = {"id": "boom", "type": "flow.fail", "config": {"message": "no"}}
    run = start(runner, [T, transform("a"), boom], [("t", "a"), ("t", "boom")])

    assert deliver(run.pk, limit=1) == ["a"]
    failing = Step.objects.get(run=run, node_id="boom")
    assert (failing.status, failing.attempts) == ("queued", 0)
    assert Run.objects.get(pk=run.pk).status == "running"

    assert deliver(run.pk) == ["boom"]
    failing.refresh_from_db()
    assert (failing.status, failing.attempts) == ("failed", 1)
    assert Run.objects.get(pk=run.pk).status == "failed"


def test_a_branch_that_is_not_pure_is_not_run_with_its_siblings(runner, held) -> None:
    call = {"id": "call", "type": "http.request", "config": {"url": "http://example.test/"}}
    run = start(
        runner,
        [T, transform("a"), transform("b"), call],
        [("t", n) for n in "ab"] + [("t", "call")],
    )

    assert deliver(run.pk, limit=1) == ["a"]
    assert Step.objects.get(run=run, node_id="b").status == "succeeded"
    untouched = Step.objects.get(run=run, node_id="call")
    assert (untouched.status, untouched.attempts) == ("queued", 0)
    assert step_events(run, "call") == ["queued"]
