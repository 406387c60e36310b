"""trigger.event: a run's end starts the workflows that watch it."""

from __future__ import annotations

import pytest

from builder import services as builder_services
from tests.conftest import make_user, make_workflow, make_workspace


def publish(user, graph: dict):
    workflow = make_workflow(user.memberships.first().workspace, graph=graph, user=user)
    builder_services.create_version(user, workflow)
    return workflow


def watched(user, *, fail: bool = False):
    last = (
        {"id": "end", "type": "flow.fail", "config": {"message": "broke"}}
        if fail
        else {"id": "end", "type": "data.transform", "config": {"output": {"total": 3}}}
    )
    return publish(
        user,
        {
            "version": 1,
            "nodes": [{"id": "start", "type": "trigger.manual", "config": {}}, last],
            "edges": [{"id": "e", "source": "start", "target": "end"}],
        },
    )


def watcher(user, workflow_id, on: str):
    return publish(
        user,
        {
            "version": 1,
            "nodes": [
                {
                    "id": "after",
                    "type": "trigger.event",
                    "config": {"workflow": str(workflow_id), "on": on},
                },
                {"id": "seen", "type": "data.transform", "config": {"output": "{{ trigger }}"}},
            ],
            "edges": [{"id": "e", "source": "after", "target": "seen"}],
        },
    )


def run(user, workflow):
    from runtime import services as runtime

    started = runtime.start_run(user, workflow, input={})
    started.refresh_from_db()
    return started


def event_runs(workflow):
    from runtime.models import Run

    return list(Run.objects.filter(workflow=workflow, trigger_kind="event"))


def test_a_succeeded_run_starts_the_watcher_with_its_output(owner):
    source = watched(owner)
    follower = watcher(owner, source.pk, "succeeded")
    finished = run(owner, source)
    [started] = event_runs(follower)
    expected = {"run_id": str(finished.pk), "status": "succeeded", "output": {"end": {"total": 3}}}
    assert started.input == expected
    started.refresh_from_db()
    assert started.status == "succeeded" and started.output == {"seen": expected}


@pytest.mark.parametrize(
    ("on", "fail", "fires"),
    [
        ("succeeded", False, True),
        ("succeeded", True, False),
        ("failed", True, True),
        ("failed", False, False),
        ("finished", True, True),
        ("finished", False, True),
    ],
)
def test_the_watched_status_decides(owner, on, fail, fires):
    source = watched(owner, fail=fail)
    follower = watcher(owner, source.pk, on)
    finished = run(owner, source)
    assert finished.status == ("failed" if fail else "succeeded")
    assert len(event_runs(follower)) == (1 if fires else 0)


def test_another_workspace_cannot_watch_a_workflow(owner):
    source = watched(owner)
    stranger = make_user(workspace=make_workspace(), roles=["admin"])
    follower = watcher(stranger, source.pk, "finished")
    run(owner, source)
    assert event_runs(follower) == []


def test_unpublishing_the_trigger_stops_it(owner):
    source = watched(owner)
    follower = watcher(owner, source.pk, "succeeded")
    builder_services.create_version(
        owner,
        follower,
        graph={"version": 1, "nodes": [{"id": "m", "type": "trigger.manual"}], "edges": []},
    )
    run(owner, source)
    assert event_runs(follower) == []
