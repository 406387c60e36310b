"""Recovery and delivery: lost workers, poison steps, lost messages, racing
sweepers, cancellation under a running step, waits resumed from outside,
inline continuation and bulk fan-out."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runtime import services
from runtime.engine import sweeper, transitions
from runtime.models import Run, Step
from tests.runtime import nodes as _test_nodes  # noqa: F401  (registers test.* types)
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}


def transform(node_id: str) -> dict:
    return {"id": node_id, "type": "data.transform", "config": {"output": "{{ input }}"}}


@pytest.fixture
def broker_only(engine: Any) -> Any:
    """Messages go to the in-memory broker and nobody consumes them: the test
    plays the worker, or the worker that dies."""
    from config.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def start(user, nodes, edges, **options) -> Run:
    return services.start_run(
        user, flow(user, nodes, edges, **options), input={"v": 1}, version="draft"
    )


def test_a_poison_step_fails_after_its_last_attempt_instead_of_looping(
    runner, clock, broker_only
) -> None:
    run = start(runner, [T, transform("a")], [("t", "a")])
    for expected_attempt in (1, 2, 3):
        step = Step.objects.get(run=run, node_id="a")
        claim = transitions.claim(step.pk)  # the worker takes it ... and dies
        assert claim is not None and claim.attempt == expected_attempt
        clock.advance(60)
        assert sweeper.tick()["recovered"] == 1
    step.refresh_from_db()
    run.refresh_from_db()
    assert (step.status, step.attempts, step.error["type"]) == ("failed", 3, "WorkerLost")
    assert run.status == "failed" and transitions.claim(step.pk) is None


def test_a_lost_message_is_sent_again_by_the_sweeper(runner, clock, broker_only) -> None:
    from config.celery import app

    run = start(runner, [T, transform("a")], [("t", "a")])
    assert sweeper.tick()["dispatched"] == 0  # sent a moment ago: not lost yet
    app.conf.task_always_eager = True
    clock.advance(31)
    assert sweeper.tick()["dispatched"] == 1
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_a_step_still_queued_is_sent_again_less_and_less_often(runner, clock, broker_only) -> None:
    run = start(runner, [T, transform("a")], [("t", "a")])
    sent_at = []
    for second in range(1, 200):
        clock.advance(1)
        if sweeper.redispatch(clock.now()):
            sent_at.append(second)
    # queued at 0: sent again some 30 s later, then at 60 and 120 (a backlog
    # thins re-sends out instead of piling copies on); not at every tick
    assert [round(second / 30) for second in sent_at] == [1, 2, 4]
    assert Step.objects.get(run=run, node_id="a").status == "queued"


def test_a_message_lost_again_and_again_is_still_sent_every_five_minutes(
    runner, broker_only, monkeypatch
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from runtime.engine import clock

    frozen = [timezone.now()]  # the engine's clock, moved by hand only
    monkeypatch.setattr(clock, "now", lambda: frozen[0])
    run = start(runner, [T, transform("a")], [("t", "a")])
    sent_at = []
    for second in range(5, 3600, 5):
        frozen[0] += timedelta(seconds=5)
        if sweeper.redispatch(clock.now()):
            sent_at.append(second)
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
    # checked every 5 s: sent again 35 s after queueing, then the gaps double
    # (each re-send waits as long again as the step had waited), and stop
    # growing at ten stale periods (300 s)
    assert sent_at[0] == 35 and gaps[:3] == [40, 80, 160]
    assert gaps[3:] == [305] * (len(gaps) - 3) and len(gaps) >= 10
    assert Step.objects.get(run=run, node_id="a").status == "queued"


def test_two_sweepers_do_not_hand_one_step_out_twice(runner, clock, broker_only) -> None:
    run = start(runner, [T, transform("a")], [("t", "a")])
    clock.advance(31)
    now = clock.now()
    assert sweeper.redispatch(now) + sweeper.redispatch(now) == 1
    step = Step.objects.get(run=run, node_id="a")
    first = transitions.claim(step.pk)
    stale_view = Step.objects.select_related("run").get(pk=step.pk)
    clock.advance(60)
    assert transitions.recover_expired(step.pk, clock.now())
    assert not transitions.recover_expired(step.pk, clock.now())  # the second sweeper finds nothing
    second = transitions.claim(step.pk)
    # A sweeper acting on what it read before the first one recovered the step:
    late = transitions._claim_of(stale_view.run, stale_view)
    assert transitions.finish(late, transitions.Failure("WorkerLost", "x", True, True)) is None
    assert transitions.finish(first, transitions.Success({"late": True})) is None
    transitions.finish(second, transitions.Success({"v": 1}))
    step.refresh_from_db()
    assert (step.status, step.attempts, step.output) == ("succeeded", 2, {"v": 1})


def test_a_result_arriving_after_cancel_is_discarded(runner, broker_only) -> None:
    run = start(runner, [T, transform("a")], [("t", "a")])
    claim = transitions.claim(Step.objects.get(run=run, node_id="a").pk)
    services.cancel_run(runner, run)
    assert transitions.finish(claim, transitions.Success({"v": 1})) is None
    assert list(run.steps.values_list("node_id", "status")) == [
        ("t", "succeeded"),
        ("a", "cancelled"),
    ]


def test_a_wait_for_a_person_is_resumed_from_outside_once(runner) -> None:
    run = start(
        runner,
        [T, {"id": "ask", "type": "test.ask", "config": {"question": "ok?"}}],
        [("t", "ask")],
    )
    run.refresh_from_db()
    step = run.steps.get(node_id="ask")
    assert (run.status, step.status, step.wait["reason"]) == ("waiting", "waiting", "approval")
    assert services.resume_step(step, state={"answer": "yes"})
    assert not services.resume_step(step, state={"answer": "no"})
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.output == {"ask": {"question": "ok?", "answer": "yes"}}
    step.refresh_from_db()
    assert step.attempts == 1  # the resume continued the attempt that asked


def test_a_chain_continues_inline_with_one_commit_per_step(runner) -> None:
    chain = [transform(f"n{i}") for i in range(10)]
    edges = [("t", "n0")] + [(f"n{i}", f"n{i + 1}") for i in range(9)]
    workflow = flow(runner, [T, *chain], edges)
    with CaptureQueriesContext(connection) as queries:
        run = services.start_run(runner, workflow, input={"v": 1}, version="draft")
    commits = [q for q in queries.captured_queries if q["sql"].startswith("COMMIT")]
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"n9": {"v": 1}}
    # start (with the trigger) + one per step: n0 (a pure node) is claimed,
    # run and ended in one transaction, and every later step's end is fused
    # with the claim of the next
    if connection.vendor == "sqlite":
        assert len(commits) == 1 + 10


def test_fan_out_creates_every_branch_in_one_transaction(runner) -> None:
    branches = [transform(f"b{i}") for i in range(20)]
    edges = [("t", f"b{i}") for i in range(20)] + [(f"b{i}", "join") for i in range(20)]
    merge = {"id": "join", "type": "logic.merge", "config": {"mode": "object"}}
    run = start(runner, [T, *branches, merge], edges)
    run.refresh_from_db()
    assert run.status == "succeeded" and len(run.output["join"]) == 20
    queued_at = set(run.steps.filter(node_id__startswith="b").values_list("queued_at", flat=True))
    assert len(queued_at) == 1
    assert run.steps.filter(node_id="join").count() == 1
