"""Publish review: editors request, a reviewer other than the author decides."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, PublishRequest
from builder.models import WorkflowVersion
from tests.conftest import api_client, make_user, make_workflow, simple_graph

pytestmark = pytest.mark.django_db


def publish(user, workflow, note="please"):
    return api_client(user).post(
        f"/api/v1/workflows/{workflow.pk}/publish/", {"note": note}, format="json"
    )


def decide(user, request_id, decision="approve", comment="ok"):
    return api_client(user).post(
        f"/api/v1/publish-requests/{request_id}/decision/",
        {"decision": decision, "comment": comment},
        format="json",
    )


@pytest.fixture
def workflow(team):
    return make_workflow(team["acme"], user=team["editor"])


def test_an_editor_publishing_creates_a_pending_request(team, workflow):
    response = publish(team["editor"], workflow)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "pending"
    request = PublishRequest.objects.get(pk=body["publish_request"])
    assert request.status == "pending" and request.graph == workflow.graph
    assert request.source_revision == workflow.revision and request.note == "please"
    workflow.refresh_from_db()
    assert workflow.published_version is None
    assert AuditEvent.objects.filter(action="publish_request.created").count() == 1


def test_an_approver_approves_and_the_snapshot_goes_live(team, workflow):
    request_id = publish(team["editor"], workflow).json()["publish_request"]
    # Edits after the request do not change what was submitted.
    api_client(team["editor"]).patch(
        f"/api/v1/workflows/{workflow.pk}/",
        {"name": "Renamed", "revision": workflow.revision},
        format="json",
    )
    response = decide(team["approver"], request_id, comment="looks good")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved" and body["version"] == 1
    assert body["decided_by"]["username"] == "approver" and body["comment"] == "looks good"
    version = WorkflowVersion.objects.get(workflow=workflow)
    assert version.graph == simple_graph() and version.source_revision == 1
    workflow.refresh_from_db()
    assert workflow.published_version == version
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"publish_request.approved", "workflow.published"} <= actions


def test_rejecting_publishes_nothing(team, workflow):
    request_id = publish(team["editor"], workflow).json()["publish_request"]
    response = decide(team["admin"], request_id, "reject", "needs a retry on the LLM step")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert not WorkflowVersion.objects.exists()
    assert decide(team["approver"], request_id).status_code == 409  # already decided


def test_nobody_reviews_their_own_request(team, workflow):
    author = make_user("both", workspace=team["acme"], roles=["editor", "approver"])
    request_id = publish(author, workflow).json()["publish_request"]
    response = decide(author, request_id)
    assert response.status_code == 403
    assert "own publish request" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="publish_request.self_review_refused").exists()
    assert PublishRequest.objects.get(pk=request_id).status == "pending"


@pytest.mark.parametrize(
    ("caller", "status"), [("viewer", 403), ("runner", 403), ("editor", 403), ("other_admin", 404)]
)
def test_only_reviewers_of_the_workspace_decide(team, workflow, caller, status):
    request_id = publish(team["editor"], workflow).json()["publish_request"]
    assert decide(team[caller], request_id).status_code == status
    assert PublishRequest.objects.get(pk=request_id).status == "pending"


def test_admins_publish_directly_and_review_can_be_switched_off(team, workflow):
    assert publish(team["admin"], workflow).json() == {"status": "published", "version": 1}
    team["acme"].require_publish_review = False
    team["acme"].save()
    assert publish(team["editor"], workflow).json() == {"status": "published", "version": 2}
    assert publish(team["approver"], workflow).status_code == 403  # approvers do not edit


def test_a_new_request_supersedes_the_authors_pending_one(team, workflow):
    first = publish(team["editor"], workflow).json()["publish_request"]
    second = publish(team["editor"], workflow).json()["publish_request"]
    assert PublishRequest.objects.get(pk=first).status == "superseded"
    assert decide(team["approver"], first).status_code == 409
    assert decide(team["approver"], second).status_code == 200


def test_list_filters_by_workspace_and_status(team, workflow):
    publish(team["editor"], workflow)
    client = api_client(team["approver"])
    listed = client.get("/api/v1/publish-requests/?workspace=acme&status=pending")
    assert listed.status_code == 200 and listed.json()["count"] == 1
    item = listed.json()["results"][0]
    assert item["workflow"] == str(workflow.pk) and item["requested_by"]["username"] == "editor"
    assert (
        client.get("/api/v1/publish-requests/?workspace=acme&status=approved").json()["count"] == 0
    )
    assert client.get("/api/v1/publish-requests/?status=bogus").status_code == 400
    assert client.get("/api/v1/publish-requests/?workspace=other").status_code == 404
    assert api_client(team["other_admin"]).get("/api/v1/publish-requests/").json()["count"] == 0


def test_bad_decisions_are_refused(team, workflow):
    request_id = publish(team["editor"], workflow).json()["publish_request"]
    client = api_client(team["approver"])
    url = f"/api/v1/publish-requests/{request_id}/decision/"
    assert client.post(url, {"decision": "maybe"}, format="json").status_code == 400
    assert client.post(url, {"decision": "approve", "version": 9}, format="json").status_code == 400
    assert (
        client.post(
            "/api/v1/publish-requests/999999/decision/", {"decision": "approve"}, format="json"
        ).status_code
        == 404
    )
    assert PublishRequest.objects.get(pk=request_id).status == "pending"
