"""GET /api/v1/approvals/ and POST /api/v1/approvals/{id}/decision/ (contract section 4)."""

from __future__ import annotations

from tests.approvals.conftest import reload, task_of
from tests.conftest import api_client, make_user, make_workspace

SHAPE = {
    "id",
    "run",
    "node_id",
    "title",
    "instructions",
    "status",
    "data",
    "fields",
    "assignees",
    "required_approvals",
    "decisions",
    "created_at",
    "due_at",
}


def decide(user, task, **body):
    return api_client(user).post(f"/api/v1/approvals/{task.pk}/decision/", body, format="json")


def test_pending_list_has_the_contract_shape_and_only_what_the_caller_may_decide(team) -> None:
    run = team.start()
    response = api_client(team.ann).get("/api/v1/approvals/?status=pending")
    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert set(item) >= SHAPE
    assert item["run"] == str(run.pk) and item["node_id"] == "review"
    assert item["title"] == "Reply to Ada" and item["status"] == "pending"
    assert item["assignees"]["roles"] == ["approver"]
    assert item["fields"]["properties"]["reply"]["default"] == "Dear Ada, thank you for writing."
    assert item["decisions"] == [] and item["required_approvals"] == 1
    # the starter, a viewer and an outsider see nothing to decide
    for person in (team.starter, team.vera):
        assert api_client(person).get("/api/v1/approvals/").json()["results"] == []
    outsider = make_user("mallory", workspace=make_workspace("other"), roles=["admin"])
    assert api_client(outsider).get("/api/v1/approvals/").json()["results"] == []


def test_deciding_through_the_api_resumes_the_run(team) -> None:
    run = team.start()
    task = task_of(run)
    response = decide(
        team.ann, task, decision="approve", comment="fine", data={"reply": "Edited by API"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved"
    assert body["decisions"][0]["user"] == "ann"
    assert body["decisions"][0]["changes"] == {
        "reply": {"from": "Dear Ada, thank you for writing.", "to": "Edited by API"}
    }
    assert reload(run).output["sent"]["reply"] == "Edited by API"


def test_other_workspaces_get_404_and_non_assignees_403(team) -> None:
    run = team.start(assignees={"users": ["ann"]})
    task = task_of(run)
    outsider = make_user("mallory", workspace=make_workspace("other"), roles=["admin"])
    assert decide(outsider, task, decision="approve").status_code == 404
    assert api_client(outsider).get(f"/api/v1/approvals/{task.pk}/").status_code == 404
    response = decide(team.bob, task, decision="approve")
    assert response.status_code == 403
    assert response.json()["detail"] == "This approval is assigned to other people."
    response = decide(team.vera, task, decision="approve")
    assert response.status_code == 403
    assert "role" in response.json()["detail"]


def test_self_approval_is_refused_by_the_api(team) -> None:
    run = team.start()
    response = decide(team.starter, task_of(run), decision="approve")
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "You started this run, so someone else has to decide this approval."
    )
    assert reload(run).status == "waiting"


def test_self_approval_when_the_node_allows_it(team) -> None:
    run = team.start(allow_self_approval=True)
    assert decide(team.starter, task_of(run), decision="approve").status_code == 200
    assert reload(run).status == "succeeded"


def test_already_decided_answers_409_with_who_decided(team) -> None:
    run = team.start()
    task = task_of(run)
    assert decide(team.ann, task, decision="reject", comment="no").status_code == 200
    response = decide(team.bob, task, decision="approve")
    assert response.status_code == 409
    assert response.json()["detail"] == "This approval was already decided: rejected by ann."


def test_invalid_bodies_answer_400(team) -> None:
    task = task_of(team.start())
    response = decide(team.ann, task, decision="maybe")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "decision"
    response = decide(team.ann, task, decision="approve", data={"priority": "urgent"})
    assert response.status_code == 400 and "not valid" in response.json()["detail"]
    response = decide(team.ann, task, decision="approve", extra=1)
    assert response.status_code == 400
    assert task_of(task.run).status == "pending"


def test_unauthenticated_is_401(team) -> None:
    task = task_of(team.start())
    assert api_client().get("/api/v1/approvals/").status_code in (401, 403)
    assert api_client().post(f"/api/v1/approvals/{task.pk}/decision/", {}).status_code in (401, 403)
