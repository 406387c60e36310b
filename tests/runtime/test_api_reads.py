"""Run history and run detail (contract section 4), as a script reads them."""

from __future__ import annotations

import pytest

from tests.conftest import api_client, make_user, make_workflow, make_workspace
from tests.runtime.run_factories import finished_run, make_run, make_step

pytestmark = pytest.mark.django_db

RUN_KEYS = {
    "id",
    "workflow",
    "version",
    "status",
    "input",
    "output",
    "error",
    "started_at",
    "finished_at",
}
STEP_KEYS = {
    "node_id",
    "visit",
    "status",
    "attempts",
    "input",
    "output",
    "error",
    "started_at",
    "finished_at",
    "usage",
    "cost_usd",
    "reused_from",
}


def test_detail_has_the_contract_shape_with_every_step(admin, workspace):
    workflow = make_workflow(workspace)
    run = finished_run(workflow, user=admin, version_number=None)
    body = api_client(admin).get(f"/api/v1/runs/{run.pk}/").json()
    assert set(body) >= RUN_KEYS
    assert body["id"] == str(run.pk) and body["workflow"] == str(workflow.pk)
    assert body["status"] == "succeeded" and body["version"] == "draft"
    assert body["started_by"] == "alice" and body["workspace"] == "acme"
    assert body["duration_ms"] == pytest.approx(1500, abs=5)
    assert [step["node_id"] for step in body["steps"]] == ["start", "shape"]
    step = body["steps"][1]
    assert set(step) >= STEP_KEYS
    assert step["output"] == {"greeting": "Hi Ada"} and step["attempts"] == 1
    assert step["idempotency_key"] == f"{run.pk}:shape:1"


def test_version_is_the_pinned_number(admin, workspace):
    run = make_run(make_workflow(workspace), is_draft=False, version_number=3)
    assert api_client(admin).get(f"/api/v1/runs/{run.pk}/").json()["version"] == 3


def test_reused_steps_name_the_step_they_carry(admin, workspace):
    workflow = make_workflow(workspace)
    original = finished_run(workflow)
    source = original.steps.get(node_id="start")
    rerun = make_run(workflow, rerun_of=original, rerun_from_node="shape")
    make_step(rerun, "start", attempts=0, reused_from=source, output=source.output)
    body = api_client(admin).get(f"/api/v1/runs/{rerun.pk}/").json()
    assert body["rerun_of"] == str(original.pk) and body["rerun_from_node"] == "shape"
    reused = body["steps"][0]
    assert reused["status"] == "succeeded" and reused["attempts"] == 0
    assert reused["reused_from"] == {
        "id": source.pk,
        "run": str(original.pk),
        "node_id": "start",
        "visit": 1,
    }


def test_history_is_newest_first_and_paginated(admin, workspace):
    workflow = make_workflow(workspace)
    runs = [make_run(workflow) for _ in range(3)]
    body = api_client(admin).get("/api/v1/runs/?page_size=2").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and body["next"] and body["previous"] is None
    assert [r["id"] for r in body["results"]] == [str(runs[2].pk), str(runs[1].pk)]
    assert "steps" not in body["results"][0]


def test_history_filters_by_workflow_and_status(admin, workspace):
    first, second = make_workflow(workspace, name="A"), make_workflow(workspace, name="B")
    failed = make_run(first, status="failed")
    make_run(first, status="succeeded")
    make_run(second, status="failed")
    client = api_client(admin)
    only = client.get(f"/api/v1/runs/?workflow={first.pk}&status=failed").json()
    assert [r["id"] for r in only["results"]] == [str(failed.pk)]
    both = client.get("/api/v1/runs/?status=failed,cancelled").json()
    assert both["count"] == 2
    per_workflow = client.get(f"/api/v1/workflows/{first.pk}/runs/").json()
    assert per_workflow["count"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=exploded", "status"), ("workflow=not-a-uuid", "workflow")],
)
def test_a_filter_that_cannot_match_is_a_400(admin, query, field):
    response = api_client(admin).get(f"/api/v1/runs/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_other_workspaces_runs_are_invisible(admin, workspace, outsider):
    mine = make_run(make_workflow(workspace))
    theirs = make_run(make_workflow(make_workspace("theirs")))
    client = api_client(admin)
    assert client.get(f"/api/v1/runs/{theirs.pk}/").status_code == 404
    assert [r["id"] for r in client.get("/api/v1/runs/").json()["results"]] == [str(mine.pk)]
    assert api_client(outsider).get(f"/api/v1/runs/{mine.pk}/").status_code == 404
    assert api_client(outsider).get("/api/v1/runs/").json()["count"] == 0


def test_viewers_read_runs(viewer, workspace):
    run = finished_run(make_workflow(workspace))
    assert api_client(viewer).get(f"/api/v1/runs/{run.pk}/").status_code == 200


def test_anonymous_callers_are_refused(workspace):
    run = make_run(make_workflow(workspace))
    assert api_client().get(f"/api/v1/runs/{run.pk}/").status_code in (401, 403)


def test_events_replay_after_a_sequence_number(admin, workspace):
    from django.utils import timezone

    from runtime.models import RunEvent

    run = make_run(make_workflow(workspace))
    for seq, status in enumerate(["queued", "running", "succeeded"], start=1):
        RunEvent.objects.create(run=run, seq=seq, kind="run", status=status, at=timezone.now())
    events = api_client(admin).get(f"/api/v1/runs/{run.pk}/events/?since=1").json()
    assert [(e["seq"], e["status"]) for e in events] == [(2, "running"), (3, "succeeded")]
    assert events[0]["run_id"] == str(run.pk) and events[0]["kind"] == "run"


def test_unknown_run_is_a_404(admin):
    other = make_user("bob", workspace=None)
    assert (
        api_client(other).get("/api/v1/runs/00000000-0000-0000-0000-000000000000/").status_code
        == 404
    )
    assert api_client(admin).get("/api/v1/runs/not-a-uuid/").status_code == 404
