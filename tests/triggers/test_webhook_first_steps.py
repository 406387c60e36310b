"""A sync webhook runs its first steps in the web process when they are
pure: the answer needs no broker hop and no worker, and every step is still
recorded. Any other step, and every successor, goes to the workers."""

from __future__ import annotations

from runtime.models import Run, Step
from tests.conftest import deliver
from tests.triggers.test_webhooks import hook_path, post, published, webhook_graph

HTTP = {"id": "call", "type": "http.request", "config": {"url": "http://example.test/"}}


def test_a_sync_hook_answers_with_no_worker_running(owner, held, settings) -> None:
    settings.WEBHOOK_SYNC_TIMEOUT_S = 0.5
    workflow = published(owner, webhook_graph("sync"))
    answer = post(hook_path(owner, workflow) + "?q=x", {"name": "Grace"})
    assert answer.status_code == 200
    assert answer.json() == {"reply": {"echo": "Grace", "q": "x"}}
    run = Run.objects.get(workflow=workflow)
    assert run.status == "succeeded"
    [step] = Step.objects.filter(run=run, node_id="reply")
    assert step.status == "succeeded" and step.attempts == 1
    assert step.output == {"echo": "Grace", "q": "x"}
    assert [e.seq for e in run.events.order_by("seq")] == list(range(1, run.event_seq + 1))
    assert deliver(run.pk) == []  # nothing was left for a worker


def test_the_successor_of_a_step_run_here_goes_to_a_worker(owner, held, settings) -> None:
    settings.WEBHOOK_SYNC_TIMEOUT_S = 0.3
    graph = webhook_graph("sync")
    graph["nodes"].append(HTTP | {"config": {"url": "http://example.test/", "timeout_s": 1}})
    graph["edges"].append({"id": "e2", "source": "reply", "target": "call"})
    workflow = published(owner, graph)
    answer = post(hook_path(owner, workflow), {"name": "Ada"})
    assert answer.status_code == 202  # the http step waits for a worker
    run = Run.objects.get(pk=answer.json()["run_id"])
    steps = dict(Step.objects.filter(run=run).values_list("node_id", "status"))
    assert steps == {"hook": "succeeded", "reply": "succeeded", "call": "queued"}
    assert deliver(run.pk) == ["call"]
    assert Step.objects.get(run=run, node_id="call").status != "queued"


def test_a_first_step_that_is_not_pure_goes_to_a_worker(owner, held, settings) -> None:
    settings.WEBHOOK_SYNC_TIMEOUT_S = 0.3
    graph = webhook_graph("sync")
    graph["nodes"][1] = HTTP | {"id": "reply"}
    workflow = published(owner, graph)
    answer = post(hook_path(owner, workflow), {})
    assert answer.status_code == 202
    run = Run.objects.get(pk=answer.json()["run_id"])
    assert Step.objects.get(run=run, node_id="reply").status == "queued"
    assert deliver(run.pk) == ["reply"]
    assert Step.objects.get(run=run, node_id="reply").status in {"running", "failed"}


def test_a_first_step_that_waits_is_left_waiting_once(owner, held, settings) -> None:
    """Postgres sends a step that does not succeed to a worker (the fenced
    path only writes successes); SQLite records its wait here, under the
    lock, as the worker would. Either way it waits once, with its timer."""
    settings.WEBHOOK_SYNC_TIMEOUT_S = 0.3
    graph = webhook_graph("sync")
    graph["nodes"][1] = {"id": "reply", "type": "flow.delay", "config": {"seconds": 60}}
    workflow = published(owner, graph)
    answer = post(hook_path(owner, workflow), {})
    assert answer.status_code == 202
    run = Run.objects.get(pk=answer.json()["run_id"])
    sent = deliver(run.pk)
    [step] = Step.objects.filter(run=run, node_id="reply")
    assert sent in (["reply"], []) and step.status == "waiting" and step.attempts == 1
    assert step.due_at is not None and step.due_at > run.created_at


def test_an_async_hook_leaves_its_steps_to_the_workers(owner, held) -> None:
    workflow = published(owner, webhook_graph("async"))
    answer = post(hook_path(owner, workflow), {"name": "Ada"})
    assert answer.status_code == 202
    run = Run.objects.get(pk=answer.json()["run_id"])
    assert Step.objects.get(run=run, node_id="reply").status == "queued"
    assert deliver(run.pk) == ["reply"]
    run.refresh_from_db()
    assert run.status == "succeeded" and run.output == {"reply": {"echo": "Ada", "q": None}}
