"""The workflow endpoints of contract section 4, as a script would use them."""

from __future__ import annotations

import json

import pytest

from builder.models import Workflow
from tests.conftest import api_client, make_user, make_workflow, simple_graph

pytestmark = pytest.mark.django_db


def create(client, workspace="acme", **body):
    payload = {
        "workspace": workspace,
        "name": "Triage",
        "description": "d",
        "graph": simple_graph(),
        **body,
    }
    return client.post("/api/v1/workflows/", payload, format="json")


def test_token_then_full_round_trip(admin):
    anonymous = api_client()
    token = anonymous.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "pw-Secret-123"}, format="json"
    )
    assert token.status_code == 200
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    created = create(client)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {
        "id",
        "workspace",
        "name",
        "description",
        "graph",
        "revision",
        "published_version",
        "created_at",
        "updated_at",
        "hooks",
    } <= set(body)
    assert (
        body["workspace"] == "acme" and body["revision"] == 1 and body["published_version"] is None
    )
    url = f"/api/v1/workflows/{body['id']}/"

    valid = client.post(url + "validate/", {}, format="json").json()
    assert valid == {"valid": True, "errors": [], "warnings": []}

    graph = body["graph"]
    graph["nodes"][1]["config"]["output"] = {"greeting": "Hello {{ trigger.name }}"}
    patched = client.patch(url, {"graph": graph, "revision": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["revision"] == 2

    stale = client.patch(url, {"graph": graph, "revision": 1}, format="json")
    assert stale.status_code == 409
    assert stale.json()["current_revision"] == 2 and stale.json()["detail"]

    published = client.post(url + "publish/", {"note": "first"}, format="json")
    assert published.status_code == 200
    assert published.json() == {"status": "published", "version": 1}
    assert client.get(url).json()["published_version"] == 1

    versions = client.get(url + "versions/").json()
    assert versions["count"] == 1
    assert versions["results"][0]["version"] == 1 and versions["results"][0]["graph"] == graph
    one = client.get(url + "versions/1/")
    assert one.status_code == 200 and one.json()["note"] == "first"
    assert client.get(url + "versions/2/").status_code == 404


def test_wrong_password_is_401(admin):
    response = api_client().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"]


def test_anonymous_is_401(workspace):
    assert api_client().get("/api/v1/workflows/").status_code == 401


def test_list_is_scoped_to_workspace_and_searchable(admin, outsider, workspace):
    make_workflow(workspace, name="Invoice intake")
    make_workflow(workspace, name="Email triage")
    from accounts.models import Workspace

    make_workflow(Workspace.objects.get(slug="other"), name="Secret")
    client = api_client(admin)
    names = [w["name"] for w in client.get("/api/v1/workflows/?workspace=acme").json()["results"]]
    assert sorted(names) == ["Email triage", "Invoice intake"]
    found = client.get("/api/v1/workflows/?workspace=acme&q=invoice").json()["results"]
    assert [w["name"] for w in found] == ["Invoice intake"]
    assert client.get("/api/v1/workflows/?workspace=other").json()["count"] == 0


def test_other_workspace_objects_answer_404(admin, outsider, workspace):
    workflow = make_workflow(workspace)
    client = api_client(outsider)
    url = f"/api/v1/workflows/{workflow.pk}/"
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "x", "revision": 1}, format="json").status_code == 404
    assert client.delete(url).status_code == 404
    assert client.post(url + "publish/", {}, format="json").status_code == 404
    assert create(client, workspace="acme").status_code == 400
    workflow.refresh_from_db()
    assert workflow.name == "Flow" and workflow.deleted_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"graph": {"version": 1, "nodes": "nope", "edges": []}}, "graph"),
        (
            {
                "graph": {
                    "version": 1,
                    "nodes": [{"id": "bad id!", "type": "trigger.manual"}],
                    "edges": [],
                }
            },
            "graph",
        ),
        ({"graph": [1, 2, 3]}, "graph"),
        ({"colour": "red"}, "colour"),
        ({"name": ""}, "name"),
        ({"name": 42.5, "revision": "x"}, "revision"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(admin, workspace, body, field):
    workflow = make_workflow(workspace)
    before = (workflow.graph, workflow.revision, workflow.name)
    response = api_client(admin).patch(
        f"/api/v1/workflows/{workflow.pk}/", {"revision": 1, **body}, format="json"
    )
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert payload["detail"] and any(e["field"].startswith(field) for e in payload["errors"])
    workflow.refresh_from_db()
    assert (workflow.graph, workflow.revision, workflow.name) == before


def test_malformed_json_is_400(admin, workspace):
    workflow = make_workflow(workspace)
    response = api_client(admin).generic(
        "PATCH", f"/api/v1/workflows/{workflow.pk}/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert "detail" in response.json()


def test_graph_over_the_size_limit_is_413(admin, workspace):
    workflow = make_workflow(workspace)
    huge = simple_graph()
    huge["nodes"][1]["config"]["output"] = {"blob": "x" * (5 * 1024 * 1024)}
    response = api_client(admin).patch(
        f"/api/v1/workflows/{workflow.pk}/", {"graph": huge, "revision": 1}, format="json"
    )
    assert response.status_code == 413
    workflow.refresh_from_db()
    assert workflow.revision == 1


def test_too_many_nodes_is_refused(admin, workspace):
    graph = {
        "version": 1,
        "nodes": [{"id": f"n{i}", "type": "data.transform", "config": {}} for i in range(5001)],
        "edges": [],
    }
    graph["nodes"][0] = {"id": "start", "type": "trigger.manual", "config": {}}
    response = create(api_client(admin), graph=graph)
    assert response.status_code in (400, 413)
    assert not Workflow.objects.filter(name="Triage").exists()


def test_draft_with_semantic_problems_saves_but_cannot_publish(admin, workspace):
    graph = {
        "version": 1,
        "nodes": [{"id": "shape", "type": "data.transform", "config": {}}],
        "edges": [],
    }
    client = api_client(admin)
    created = create(client, graph=graph)
    assert created.status_code == 201
    assert created.json()["validation"]["valid"] is False
    url = f"/api/v1/workflows/{created.json()['id']}/"
    check = client.post(url + "validate/", {}, format="json").json()
    assert check["valid"] is False and check["errors"][0]["message"]
    published = client.post(url + "publish/", {}, format="json")
    assert published.status_code == 400 and published.json()["errors"]
    assert client.get(url).json()["published_version"] is None


def test_validate_names_node_field_and_reason(admin, workspace):
    workflow = make_workflow(workspace)
    graph = simple_graph()
    graph["nodes"].append(
        {"id": "check", "type": "logic.if", "config": {"condition": "nodes.shape.output ==="}}
    )
    graph["edges"].append({"id": "e2", "source": "shape", "target": "check"})
    graph["edges"].append(
        {"id": "e3", "source": "check", "source_port": "maybe", "target": "shape"}
    )
    result = (
        api_client(admin)
        .post(f"/api/v1/workflows/{workflow.pk}/validate/", {"graph": graph}, format="json")
        .json()
    )
    assert result["valid"] is False
    located = {(e["node_id"], e["field"]) for e in result["errors"]}
    assert ("check", "config.condition") in located
    assert any("maybe" in e["message"] for e in result["errors"])


def test_delete_hides_the_workflow(admin, workspace):
    workflow = make_workflow(workspace)
    client = api_client(admin)
    assert client.delete(f"/api/v1/workflows/{workflow.pk}/").status_code == 204
    assert client.get(f"/api/v1/workflows/{workflow.pk}/").status_code == 404


def test_odd_ids_are_404(admin):
    client = api_client(admin)
    for odd in ["1", "abc", "../etc/passwd", "00000000-0000-0000-0000-000000000000"]:
        assert client.get(f"/api/v1/workflows/{odd}/").status_code == 404


def test_viewer_cannot_write(viewer, workspace):
    workflow = make_workflow(workspace)
    client = api_client(viewer)
    assert client.get(f"/api/v1/workflows/{workflow.pk}/").status_code == 200
    assert (
        client.patch(
            f"/api/v1/workflows/{workflow.pk}/", {"name": "x", "revision": 1}, format="json"
        ).status_code
        == 403
    )
    assert create(client).status_code == 403


def test_node_catalog_and_schema_are_served(admin):
    client = api_client(admin)
    types = client.get("/api/v1/node-types/").json()
    assert {"trigger.manual", "logic.if", "data.transform"} <= {t["key"] for t in types}
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/workflows/" in schema.content


def test_api_docs_page(admin, client):
    client.force_login(admin)
    assert client.get("/api/docs/").status_code == 200


def test_unknown_api_path_is_json_404(admin):
    response = api_client(admin).get("/api/v1/nope/")
    assert response.status_code == 404
    assert json.loads(response.content)["detail"]


def test_member_of_two_workspaces(workspace):
    from accounts.models import Membership
    from tests.conftest import make_workspace

    user = make_user("both", workspace=workspace, roles=["viewer"])
    second = make_workspace("second")
    Membership.objects.create(workspace=second, user=user, roles=["editor"])
    listed = api_client(user).get("/api/v1/workspaces/").json()
    assert {(w["slug"], tuple(w["roles"])) for w in listed} == {
        ("acme", ("viewer",)),
        ("second", ("editor",)),
    }


def test_workflows_carry_run_stats_with_tokens_and_cost(admin, workspace):
    from runtime.models import Run

    workflow = make_workflow(workspace)
    for cost, status in [(0.25, "succeeded"), (0.5, "failed")]:
        Run.objects.create(
            workspace=workspace,
            workflow=workflow,
            graph=workflow.graph,
            status=status,
            trigger_node="start",
            usage={"input_tokens": 10, "output_tokens": 5},
            cost_usd=cost,
        )
    client = api_client(admin)
    stats = client.get(f"/api/v1/workflows/{workflow.pk}/").json()["stats"]
    assert stats == {
        "last_run_status": "failed",
        "runs_24h": 2,
        "input_tokens": 20,
        "output_tokens": 10,
        "cost_usd": 0.75,
    }
    listed = client.get("/api/v1/workflows/?workspace=acme").json()["results"][0]["stats"]
    assert listed == stats
