"""Sign-in and the workspace page, as a person uses them."""

from __future__ import annotations

import pytest

from tests.conftest import make_workflow

pytestmark = pytest.mark.django_db


def test_login_page_then_workspace_lists_workflows(client, admin, workspace):
    make_workflow(workspace, name="Email triage")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">Username</label>' in page.content
    signed_in = client.post(
        "/accounts/login/", {"username": "alice", "password": "pw-Secret-123"}, follow=True
    )
    assert signed_in.status_code == 200
    assert b"Email triage" in signed_in.content
    assert b"Sign out" in signed_in.content


def test_wrong_password_shows_an_error(client, admin):
    page = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert page.status_code == 200
    assert b'role="alert"' in page.content


def test_anonymous_is_sent_to_login(client, workspace):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_htmx_search_returns_only_the_table(client, admin, workspace):
    make_workflow(workspace, name="Invoice intake")
    make_workflow(workspace, name="Email triage")
    client.force_login(admin)
    partial = client.get("/?q=invoice", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="workflow-table")
    assert partial.status_code == 200
    assert b"<html" not in partial.content
    assert b"Invoice intake" in partial.content and b"Email triage" not in partial.content
    empty = client.get("/?q=zzz", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="workflow-table")
    assert b"No workflow matches" in empty.content


def test_sort_by_name(client, admin, workspace):
    make_workflow(workspace, name="Beta")
    make_workflow(workspace, name="Alpha")
    client.force_login(admin)
    page = client.get("/?sort=name").content.decode()
    assert page.index("Alpha") < page.index("Beta")


def test_other_workspaces_workflows_are_not_listed(client, outsider, workspace):
    make_workflow(workspace, name="Private plan")
    client.force_login(outsider)
    assert b"Private plan" not in client.get("/").content


def test_viewer_sees_no_new_workflow_button(client, viewer, workspace):
    client.force_login(viewer)
    page = client.get("/")
    assert page.status_code == 200
    assert b"New workflow" not in page.content


def test_new_workflow_opens_the_editor(client, editor, workspace):
    client.force_login(editor)
    response = client.post("/workflows/new/", {"name": "My flow"})
    assert response.status_code == 302
    editor_page = client.get(response["Location"])
    assert editor_page.status_code == 200
    assert b'id="canvas-config"' in editor_page.content


def test_editor_of_another_workspace_is_404(client, outsider, workspace):
    workflow = make_workflow(workspace)
    client.force_login(outsider)
    assert client.get(f"/workflows/{workflow.pk}/").status_code == 404


def test_pages_send_a_content_security_policy(client, admin):
    client.force_login(admin)
    policy = client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_template_gallery_creates_a_workflow_from_an_example(client, editor, workspace):
    client.force_login(editor)
    gallery = client.get("/workflows/templates/")
    assert gallery.status_code == 200
    for name in [
        b"Email triage",
        b"Document intake",
        b"Content pipeline",
        b"Model fallback",
        b"Parallel research",
    ]:
        assert name in gallery.content
    created = client.post("/workflows/templates/content-pipeline/")
    assert created.status_code == 302
    from builder.models import Workflow

    workflow = Workflow.objects.get(workspace=workspace, name="Content pipeline")
    assert any(edge.get("loop") for edge in workflow.graph["edges"])


def test_viewer_cannot_open_the_template_gallery(client, viewer, workspace):
    client.force_login(viewer)
    assert client.get("/workflows/templates/").status_code == 403
    assert client.post("/workflows/templates/email-triage/").status_code == 403


def test_reviewers_find_publish_requests_in_the_navigation(client, workspace):
    from tests.conftest import make_user

    approver = make_user("april", workspace=workspace, roles=["approver"])
    client.force_login(approver)
    assert b">Reviews</a>" in client.get("/").content
    client.force_login(make_user("rudy", workspace=workspace, roles=["runner"]))
    assert b">Reviews</a>" not in client.get("/").content
