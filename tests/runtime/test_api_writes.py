"""Starting, cancelling and re-running runs through the API (contract section 4).

Runs execute for real: tasks run eagerly when the dispatching transaction
commits (the ``engine`` fixture), through the same path as with a broker.
"""

from __future__ import annotations

from typing import Any

import pytest

from runtime.models import Run
from tests.conftest import api_client, make_user, make_workflow, make_workspace
from tests.runtime.run_factories import finished_run, publish

TRIGGER_WITH_SCHEMA = {
    "id": "start",
    "type": "trigger.manual",
    "config": {
        "input_schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}},
            "required": ["name"],
        }
    },
}


@pytest.fixture
def team(engine: Any) -> dict[str, Any]:
    workspace = make_workspace("team")
    return {
        "workspace": workspace,
        "runner": make_user("rita", workspace=workspace, roles=["runner"]),
        "viewer": make_user("victor", workspace=workspace, roles=["viewer"]),
        "workflow": make_workflow(workspace, name="Greeter"),
    }


def start(user, workflow, **body) -> Any:
    return api_client(user).post(f"/api/v1/workflows/{workflow.pk}/runs/", body, format="json")


def test_start_a_draft_run_and_read_it_back(team):
    response = start(team["runner"], team["workflow"], input={"name": "Ada"}, version="draft")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == "draft" and body["input"] == {"name": "Ada"}
    assert body["started_by"] == "rita"
    detail = api_client(team["runner"]).get(f"/api/v1/runs/{body['id']}/").json()
    assert detail["status"] == "succeeded"
    assert detail["output"] == {"shape": {"greeting": "Hi Ada"}}
    assert [(s["node_id"], s["status"]) for s in detail["steps"]] == [
        ("start", "succeeded"),
        ("shape", "succeeded"),
    ]


def test_the_published_version_is_the_default(team):
    publish(team["workflow"])
    response = start(team["runner"], team["workflow"], input={"name": "Bo"})
    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 1
    by_number = start(team["runner"], team["workflow"], input={"name": "Bo"}, version="1")
    assert by_number.status_code == 201 and by_number.json()["version"] == 1


def test_an_unpublished_workflow_is_a_400_and_creates_nothing(team):
    response = start(team["runner"], team["workflow"], input={"name": "Ada"})
    assert response.status_code == 400
    assert response.json()["detail"]
    assert Run.objects.count() == 0


def test_a_version_that_does_not_exist_is_a_404(team):
    publish(team["workflow"])
    response = start(team["runner"], team["workflow"], input={}, version=7)
    assert response.status_code == 404
    assert Run.objects.count() == 0


def test_an_invalid_graph_is_a_400_naming_the_problem(team):
    workflow = make_workflow(team["workspace"], graph={"version": 1, "nodes": [], "edges": []})
    response = start(team["runner"], workflow, input={}, version="draft")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert Run.objects.count() == 0


def test_input_failing_the_trigger_schema_is_a_400_with_field_errors(team):
    graph = {
        "version": 1,
        "nodes": [
            TRIGGER_WITH_SCHEMA,
            {"id": "echo", "type": "data.transform", "config": {"output": "{{ trigger }}"}},
        ],
        "edges": [{"id": "e1", "source": "start", "target": "echo"}],
    }
    workflow = make_workflow(team["workspace"], graph=graph)
    response = start(team["runner"], workflow, input={"name": 42}, version="draft")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert Run.objects.count() == 0
    good = start(team["runner"], workflow, input={"name": "Ada"}, version="draft")
    assert good.status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": {}, "version": "draft", "colour": "red"}, "colour"),
        ({"input": {}, "version": "latest"}, "version"),
        ({"input": {}, "version": 0}, "version"),
    ],
)
def test_a_malformed_body_is_a_400(team, body, field):
    response = start(team["runner"], team["workflow"], **body)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_viewers_may_not_start_and_outsiders_see_nothing(team):
    assert start(team["viewer"], team["workflow"], input={}, version="draft").status_code == 403
    outsider = make_user("oscar", workspace=make_workspace("else"))
    assert start(outsider, team["workflow"], input={}, version="draft").status_code == 404
    assert Run.objects.count() == 0


def test_cancel_a_waiting_run_then_cancelling_again_is_a_409(team):
    graph = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {"id": "pause", "type": "flow.delay", "config": {"seconds": 3600}},
        ],
        "edges": [{"id": "e1", "source": "start", "target": "pause"}],
    }
    workflow = make_workflow(team["workspace"], graph=graph)
    run_id = start(team["runner"], workflow, input={}, version="draft").json()["id"]
    client = api_client(team["runner"])
    assert client.get(f"/api/v1/runs/{run_id}/").json()["status"] == "waiting"
    assert api_client(team["viewer"]).post(f"/api/v1/runs/{run_id}/cancel/").status_code == 403
    cancelled = client.post(f"/api/v1/runs/{run_id}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/runs/{run_id}/cancel/")
    assert again.status_code == 409 and again.json()["detail"]


def test_rerun_from_a_node_reuses_what_ran_upstream(team):
    run_id = start(team["runner"], team["workflow"], input={"name": "Ada"}, version="draft").json()[
        "id"
    ]
    client = api_client(team["runner"])
    response = client.post(f"/api/v1/runs/{run_id}/rerun/", {"from_node": "shape"}, format="json")
    assert response.status_code == 201, response.json()
    body = client.get(f"/api/v1/runs/{response.json()['id']}/").json()
    assert body["rerun_of"] == run_id and body["status"] == "succeeded"
    reused = {s["node_id"]: s for s in body["steps"]}["start"]
    assert reused["attempts"] == 0 and reused["reused_from"]["run"] == run_id
    assert {s["node_id"]: s for s in body["steps"]}["shape"]["attempts"] == 1


def test_rerun_from_an_unknown_node_is_a_400(team):
    run = finished_run(team["workflow"])
    client = api_client(team["runner"])
    response = client.post(f"/api/v1/runs/{run.pk}/rerun/", {"from_node": "nope"}, format="json")
    assert response.status_code == 400
    missing = client.post(f"/api/v1/runs/{run.pk}/rerun/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "from_node"
    assert Run.objects.count() == 1


def test_the_schema_documents_the_run_endpoints(team):
    schema = api_client(team["runner"]).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/workflows/{id}/runs/" in paths or "/api/v1/workflows/{pk}/runs/" in paths
    assert {"/api/v1/runs/", "/api/v1/runs/{id}/cancel/"} <= set(paths) or {
        "/api/v1/runs/",
        "/api/v1/runs/{pk}/cancel/",
    } <= set(paths)
