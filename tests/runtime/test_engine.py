"""The engine on the database: runs executed through execute_step, with tasks
dispatched on commit (eagerly, without a broker)."""

from __future__ import annotations

import pytest

from runtime import services
from runtime.models import EdgeState, Run, RunEvent, Step
from tests.runtime import nodes as _test_nodes  # noqa: F401  (registers test.* types)
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}


def node(node_id: str, type_: str = "data.transform", **config) -> dict:
    if type_ == "data.transform" and not config:
        config = {"output": {"from": node_id, "in": "{{ input }}"}}
    return {"id": node_id, "type": type_, "config": config}


def run_of(user, nodes, edges, input=None, **options) -> Run:
    workflow = flow(user, nodes, edges, **options)
    run = services.start_run(user, workflow, input=input or {}, version="draft")
    run.refresh_from_db()
    return run


def steps(run: Run) -> dict[str, str]:
    return {f"{s.node_id}#{s.visit}": s.status for s in run.steps.order_by("id")}


def test_linear_chain_succeeds_with_the_output_of_its_last_node(runner) -> None:
    run = run_of(runner, [T, node("a"), node("b")], [("t", "a"), ("a", "b")], input={"x": 1})
    assert run.status == "succeeded"
    assert steps(run) == {"t#1": "succeeded", "a#1": "succeeded", "b#1": "succeeded"}
    assert run.output == {"b": {"from": "b", "in": {"from": "a", "in": {"x": 1}}}}
    assert run.started_at and run.finished_at and run.version_number is None and run.is_draft
    step = run.steps.get(node_id="a")
    assert step.attempts == 1 and step.input == {"x": 1} and step.started_at <= step.finished_at


def test_events_are_numbered_one_by_one_and_end_with_the_run(runner) -> None:
    run = run_of(runner, [T, node("a")], [("t", "a")])
    events = list(RunEvent.objects.filter(run=run).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert (events[0].kind, events[0].status) == ("run", "queued")
    assert (events[-1].kind, events[-1].status) == ("run", "succeeded")
    assert ("step", "a", "succeeded") in [(e.kind, e.node_id, e.status) for e in events]
    assert run.event_seq == events[-1].seq


def test_if_else_rejoins_and_the_untaken_branch_is_skipped(runner) -> None:
    nodes = [
        T,
        node("check", "logic.if", condition="trigger.n > 5"),
        node("big"),
        node("small"),
        node("join", "logic.merge", mode="object"),
    ]
    edges = [
        ("t", "check"),
        ("check", "big", "true"),
        ("check", "small", "false"),
        ("big", "join"),
        ("small", "join"),
    ]
    run = run_of(runner, nodes, edges, input={"n": 9})
    assert run.status == "succeeded"
    assert steps(run)["small#1"] == "skipped" and steps(run)["join#1"] == "succeeded"
    assert run.output == {"join": {"from": "big", "in": {"n": 9}}}
    assert EdgeState.objects.get(run=run, edge_id="e2").state == "skipped"


def test_fan_out_fan_in_gets_every_branch_keyed_by_source(runner) -> None:
    branches = [node(f"b{i}") for i in range(5)]
    edges = [("t", f"b{i}") for i in range(5)] + [(f"b{i}", "join") for i in range(5)]
    run = run_of(runner, [T, *branches, node("join", "logic.merge", mode="object")], edges)
    assert run.status == "succeeded"
    assert sorted(run.output["join"]) == [f"b{i}" for i in range(5)]
    assert run.steps.filter(node_id="join").count() == 1


def test_fan_in_in_list_mode_lists_each_branch_in_source_order(runner) -> None:
    branches = [node(f"b{i}") for i in (2, 0, 1)]
    edges = [("t", f"b{i}") for i in (2, 0, 1)] + [(f"b{i}", "join") for i in (2, 0, 1)]
    run = run_of(runner, [T, *branches, node("join", "logic.merge", mode="list")], edges)
    assert run.status == "succeeded"
    assert [item["from"] for item in run.output["join"]] == ["b0", "b1", "b2"]


def test_join_any_runs_once(runner) -> None:
    nodes = [T, node("a"), node("b"), {**node("j"), "join": "any"}]
    run = run_of(runner, nodes, [("t", "a"), ("t", "b"), ("a", "j"), ("b", "j")])
    assert run.status == "succeeded"
    assert run.steps.filter(node_id="j").count() == 1
    assert run.steps.get(node_id="j").input["from"] in {"a", "b"}


def test_error_port_carries_the_error_and_the_run_succeeds(runner) -> None:
    nodes = [T, node("boom", "flow.fail", message="no {{ trigger.what }}"), node("handled")]
    run = run_of(
        runner, nodes, [("t", "boom"), ("boom", "handled", "error")], input={"what": "data"}
    )
    assert run.status == "succeeded"
    boom = run.steps.get(node_id="boom")
    assert boom.status == "failed" and boom.port == "error"
    error = {"type": "WorkflowFailed", "message": "no data", "attempts": 1}
    assert boom.output == {"error": error}
    assert run.output == {"handled": {"from": "handled", "in": {"error": error}}}


def test_a_failure_without_error_edge_fails_the_run_and_skips_the_rest(runner) -> None:
    nodes = [
        T,
        node("boom", "test.flaky", fail_attempts=9, retryable=False),
        node("after"),
        node("slow", "flow.delay", seconds=60),
    ]
    run = run_of(runner, nodes, [("t", "slow"), ("t", "boom"), ("boom", "after")])
    assert run.status == "failed"
    assert run.error == {
        "node_id": "boom",
        "visit": 1,
        "type": "Flaky",
        "message": "attempt 1 failed",
    }
    assert steps(run)["slow#1"] == "cancelled"
    assert "after#1" not in steps(run)
    assert not run.steps.filter(status__in=["pending", "queued", "running", "waiting"]).exists()


def test_retries_back_off_as_timers_and_count_attempts(runner, clock) -> None:
    flaky = {
        **node("flaky", "test.flaky", fail_attempts=2),
        "retry": {"max_attempts": 3, "backoff_s": 10, "backoff_factor": 2},
    }
    run = run_of(runner, [T, flaky], [("t", "flaky")])
    step = run.steps.get(node_id="flaky")
    assert (run.status, step.status, step.attempts) == ("running", "queued", 1)
    assert step.error["message"] == "attempt 1 failed"
    assert services.sweep()["dispatched"] == 0  # not due yet: nobody sleeps on it
    clock.advance(10)
    services.sweep()
    step.refresh_from_db()
    assert (step.status, step.attempts) == ("queued", 2)
    clock.advance(19)
    services.sweep()
    assert Step.objects.get(pk=step.pk).status == "queued"
    clock.advance(1)
    services.sweep()
    step.refresh_from_db()
    run.refresh_from_db()
    assert (step.status, step.attempts, run.status) == ("succeeded", 3, "succeeded")
    assert step.output == {"attempt": 3, "key": f"{run.pk}:flaky:1"}


def test_a_step_fails_after_its_last_attempt(runner, clock) -> None:
    flaky = {
        **node("flaky", "test.flaky", fail_attempts=5),
        "retry": {"max_attempts": 2, "backoff_s": 0, "backoff_factor": 2},
    }
    run = run_of(runner, [T, flaky], [("t", "flaky")])
    assert run.status == "failed"
    step = run.steps.get(node_id="flaky")
    assert (step.status, step.attempts) == ("failed", 2)
    assert step.error == {"type": "Flaky", "message": "attempt 2 failed", "attempts": 2}


def test_timeout_ends_a_stuck_step(runner) -> None:
    sleepy = {**node("sleepy", "test.sleep", seconds=5), "timeout_s": 0.2}
    run = run_of(runner, [T, sleepy], [("t", "sleepy")])
    assert run.status == "failed"
    step = run.steps.get(node_id="sleepy")
    assert step.error["type"] == "Timeout" and step.status == "failed"
    assert (step.finished_at - step.started_at).total_seconds() < 2


def test_loop_runs_visits_until_done_then_exits(runner) -> None:
    nodes = [
        T,
        node("count", "data.transform", output="{{ default(input.n, 0) + 1 }}"),
        node("again", "logic.if", condition="nodes.count.output < 3"),
        node("wrap", "data.transform", output={"n": "{{ input }}"}),
        node("done"),
    ]
    edges = [
        ("t", "count"),
        ("count", "again"),
        ("again", "wrap", "true"),
        ("wrap", "count", None, True),
        ("again", "done", "false"),
    ]
    options = {n: {"max_visits": 5} for n in ("count", "again", "wrap")}
    run = run_of(runner, nodes, edges, **options)
    assert run.status == "succeeded", run.error
    assert [s.output for s in run.steps.filter(node_id="count").order_by("visit")] == [1, 2, 3]
    assert run.output == {"done": {"from": "done", "in": 3}}


def test_loop_over_max_visits_fails_with_loop_limit_exceeded(runner) -> None:
    nodes = [
        T,
        node("spin", "data.transform", output=1),
        node("again", "logic.if", condition="true"),
    ]
    edges = [("t", "spin"), ("spin", "again"), ("again", "spin", "true", True)]
    run = run_of(runner, nodes, edges, spin={"max_visits": 3}, again={"max_visits": 3})
    assert run.status == "failed"
    assert run.error["type"] == "LoopLimitExceeded" and run.error["visit"] == 4
    assert run.steps.filter(node_id="spin", status="succeeded").count() == 3


def test_cancel_ends_waiting_steps_and_refuses_a_finished_run(runner) -> None:
    nodes = [T, node("wait", "flow.delay", seconds=60), node("after")]
    run = run_of(runner, nodes, [("t", "wait"), ("wait", "after")])
    assert run.status == "waiting"
    cancelled = services.cancel_run(runner, run)
    assert cancelled.status == "cancelled" and cancelled.finished_at
    assert steps(cancelled)["wait#1"] == "cancelled"
    from runtime.exceptions import RunConflict

    with pytest.raises(RunConflict) as caught:
        services.cancel_run(runner, cancelled)
    assert caught.value.status == 409


def test_delay_is_a_durable_timer_woken_by_the_tick(runner, clock) -> None:
    nodes = [T, node("wait", "flow.delay", seconds=30), node("after")]
    run = run_of(runner, nodes, [("t", "wait"), ("wait", "after")], input={"v": 1})
    step = run.steps.get(node_id="wait")
    assert (run.status, step.status) == ("waiting", "waiting") and step.due_at
    assert services.sweep()["timers"] == 0
    clock.advance(31)
    assert services.sweep()["timers"] == 1
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.output == {"after": {"from": "after", "in": {"v": 1}}}
    assert run.steps.get(node_id="wait").output == {"v": 1}


def test_rerun_reuses_upstream_outputs_and_runs_from_the_node(runner) -> None:
    nodes = [T, node("a"), node("b"), node("c")]
    first = run_of(runner, nodes, [("t", "a"), ("a", "b"), ("b", "c")], input={"k": 1})
    again = services.rerun(runner, first, "b")
    again.refresh_from_db()
    assert again.status == "succeeded" and again.rerun_of_id == first.pk
    reused = again.steps.get(node_id="a")
    assert (reused.status, reused.attempts) == ("succeeded", 0)
    assert reused.reused_from == first.steps.get(node_id="a")
    assert again.steps.get(node_id="b").attempts == 1
    assert again.output == first.output


def test_duplicate_delivery_does_nothing(runner) -> None:
    from runtime.tasks import execute_step

    run = run_of(runner, [T, node("a")], [("t", "a")])
    step = run.steps.get(node_id="a")
    events = RunEvent.objects.filter(run=run).count()
    execute_step(step.pk)
    execute_step(step.pk)
    step.refresh_from_db()
    assert (step.status, step.attempts) == ("succeeded", 1)
    assert RunEvent.objects.filter(run=run).count() == events


def test_a_stale_lease_cannot_write(runner, clock) -> None:
    from config.celery import app
    from runtime.engine import transitions

    app.conf.task_always_eager = False  # messages go to the in-memory broker; we claim by hand
    nodes = [T, {**node("slow", "test.flaky", fail_attempts=0), "retry": {"max_attempts": 3}}]
    run = services.start_run(
        runner, flow(runner, nodes, [("t", "slow")]), input={}, version="draft"
    )
    assert run.steps.get(node_id="t").status == "succeeded"  # recorded as the run started
    slow = run.steps.get(node_id="slow")
    old = transitions.claim(slow.pk)
    assert old is not None and transitions.claim(slow.pk) is None
    clock.advance(120)  # the worker stopped renewing: its lease expired
    assert services.sweep()["recovered"] == 1
    assert not transitions.renew(old)
    new = transitions.claim(slow.pk)
    assert new is not None and new.attempt == 2 and new.token != old.token
    assert transitions.finish(old, transitions.Success({"late": True})) is None
    transitions.finish(new, transitions.Success({"on": "time"}))
    slow.refresh_from_db()
    run.refresh_from_db()
    assert (slow.status, slow.output, slow.attempts) == ("succeeded", {"on": "time"}, 2)
    assert slow.error["type"] == "WorkerLost"
    assert run.status == "succeeded"


def test_usage_and_cost_are_recorded_per_step_and_summed_on_the_run(runner) -> None:
    nodes = [T, node("a", "test.metered"), node("b", "test.metered")]
    run = run_of(runner, nodes, [("t", "a"), ("a", "b")])
    assert run.status == "succeeded"
    step = run.steps.get(node_id="a")
    assert step.usage == {"input_tokens": 10, "output_tokens": 5} and step.cost_usd == 0.25
    assert run.usage == {"input_tokens": 20, "output_tokens": 10} and run.cost_usd == 0.5


def test_event_hooks_get_committed_events_in_order(runner) -> None:
    from runtime import events

    seen: list[int] = []

    def hook(batch) -> None:
        seen.extend(event.seq for event in batch)
        assert all(RunEvent.objects.filter(run_id=e.run_id, seq=e.seq).exists() for e in batch)

    events.register(hook)
    try:
        run = run_of(runner, [T, node("a")], [("t", "a")])
    finally:
        events.unregister(hook)
    assert seen == list(range(1, run.event_seq + 1))
    assert RunEvent.objects.get(run=run, seq=seen[-1]).as_message()["status"] == "succeeded"


def test_a_disabled_node_passes_its_input_through(runner) -> None:
    skipped_work = {**node("shout", "data.transform", output="LOUD"), "disabled": True}
    run = run_of(
        runner,
        [T, skipped_work, node("after")],
        [("t", "shout"), ("shout", "after")],
        input={"quiet": True},
    )
    assert run.status == "succeeded"
    assert run.steps.get(node_id="shout").output == {"quiet": True}
    assert run.output == {"after": {"from": "after", "in": {"quiet": True}}}


def test_a_loop_body_reads_its_own_round_and_the_previous_round_downstream(runner) -> None:
    nodes = [
        T,
        node("count", "data.transform", output="{{ default(input.n, 0) + 1 }}"),
        node(
            "note",
            "data.transform",
            output={"count": "{{ nodes.count.output }}", "last": "{{ nodes.wrap.output }}"},
        ),
        node("again", "logic.if", condition="nodes.count.output < 3"),
        node("wrap", "data.transform", output={"n": "{{ nodes.count.output }}"}),
        node("done"),
    ]
    edges = [
        ("t", "count"),
        ("count", "note"),
        ("note", "again"),
        ("again", "wrap", "true"),
        ("wrap", "count", None, True),
        ("again", "done", "false"),
    ]
    options = {n: {"max_visits": 5} for n in ("count", "note", "again", "wrap")}
    run = run_of(runner, nodes, edges, **options)
    assert run.status == "succeeded", run.error
    notes = [s.output for s in run.steps.filter(node_id="note").order_by("visit")]
    # its own round's count; wrap (further down the body) as the round before left it
    assert notes == [
        {"count": 1, "last": None},
        {"count": 2, "last": {"n": 1}},
        {"count": 3, "last": {"n": 2}},
    ]
