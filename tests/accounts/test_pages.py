"""The admin pages (htmx) as people use them, and what navigation shows to whom."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from accounts import audit
from accounts.models import Membership, PublishRequest
from tests.conftest import api_client, make_workflow

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def test_members_page_changes_roles_with_an_htmx_partial(client, team):
    signed_in(client, team["admin"])
    page = client.get("/accounts/members/")
    assert page.status_code == 200 and b"Members and roles" in page.content
    partial = client.post(
        f"/accounts/members/{team['viewer'].pk}/roles/",
        {"roles": ["viewer", "runner"]},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200 and b"<html" not in partial.content
    assert b"Roles of viewer saved." in partial.content
    assert Membership.objects.get(user=team["viewer"]).roles == ["viewer", "runner"]


def test_members_page_refuses_removing_the_last_admin_with_a_message(client, team):
    signed_in(client, team["admin"])
    partial = client.post(f"/accounts/members/{team['admin'].pk}/remove/", HTTP_HX_REQUEST="true")
    assert b"at least one admin" in partial.content
    assert Membership.objects.filter(user=team["admin"]).exists()
    emptied = client.post(
        f"/accounts/members/{team['admin'].pk}/roles/", {}, HTTP_HX_REQUEST="true"
    )
    assert b"Give at least one role" in emptied.content
    assert Membership.objects.get(user=team["admin"]).roles == ["admin"]


def test_members_page_adds_an_existing_account(client, team):
    signed_in(client, team["admin"])
    added = client.post(
        "/accounts/members/add/", {"username": "other_admin", "roles": ["viewer"]}, follow=True
    )
    assert b"other_admin added." in added.content
    missing = client.post(
        "/accounts/members/add/", {"username": "ghost", "roles": ["viewer"]}, follow=True
    )
    assert b"no account with that username" in missing.content


def test_settings_toggle_publish_review(client, team):
    signed_in(client, team["admin"])
    assert b"Require review before publishing" in client.get("/accounts/settings/").content
    saved = client.post("/accounts/settings/", {"name": "Acme Corp"}, HTTP_HX_REQUEST="true")
    assert b"Settings saved." in saved.content
    team["acme"].refresh_from_db()
    assert team["acme"].name == "Acme Corp" and team["acme"].require_publish_review is False
    event = audit.AuditEvent.objects.get(action="workspace.settings_changed")
    assert event.summary["require_publish_review"] == {"before": True, "after": False}
    blank = client.post("/accounts/settings/", {"name": " "}, HTTP_HX_REQUEST="true")
    assert b"This field is required" in blank.content


def _events(team):
    audit.record(
        team["editor"], team["acme"], "workflow.created", summary={"name": "=HYPERLINK(1)"}
    )
    audit.record(team["admin"], team["acme"], "member.added", summary={"user": "x"})
    audit.record(team["other_admin"], team["other"], "workflow.created", summary={"name": "secret"})


def test_audit_log_filters_and_stays_in_its_workspace(client, team):
    _events(team)
    signed_in(client, team["admin"])
    page = client.get("/accounts/audit/")
    assert (
        page.status_code == 200
        and b"member.added" in page.content
        and b"secret" not in page.content
    )
    filtered = client.get("/accounts/audit/?actor=editor&since=2000-01-01", HTTP_HX_REQUEST="true")
    assert b"<html" not in filtered.content
    assert b"workflow.created" in filtered.content and b"member.added" not in filtered.content
    by_action = client.get("/accounts/audit/?action=member.", HTTP_HX_REQUEST="true")
    assert b"member.added" in by_action.content and b"workflow.created" not in by_action.content
    future = client.get("/accounts/audit/?since=2999-01-01", HTTP_HX_REQUEST="true")
    assert b"No events match" in future.content


def test_audit_export_csv_and_json(client, team):
    _events(team)
    signed_in(client, team["admin"])
    exported = client.get("/accounts/audit/export/?format=csv&actor=editor")
    assert exported["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert len(rows) == 1 and rows[0]["action"] == "workflow.created"
    assert json.loads(rows[0]["summary"]) == {"name": "=HYPERLINK(1)"}  # JSON text, no formula
    as_json = json.loads(client.get("/accounts/audit/export/?format=json").content)
    assert {row["action"] for row in as_json} == {"auth.login", "workflow.created", "member.added"}
    assert all(len(row["hash"]) == 64 for row in as_json)


@pytest.mark.parametrize("role", ["viewer", "runner", "editor", "approver"])
def test_admin_pages_are_refused_to_other_roles(client, team, role):
    signed_in(client, team[role])
    for url in (
        "/accounts/members/",
        "/accounts/settings/",
        "/accounts/audit/",
        "/accounts/audit/export/",
    ):
        assert client.get(url).status_code == 403, url


def test_navigation_shows_only_what_the_roles_allow(client, team):
    admin_nav = signed_in(Client(), team["admin"]).get("/accounts/profile/").content
    for link in (
        b'href="/accounts/members/"',
        b'href="/accounts/audit/"',
        b'href="/accounts/settings/"',
    ):
        assert link in admin_nav
    viewer_nav = signed_in(client, team["viewer"]).get("/accounts/profile/").content
    for link in (
        b'href="/accounts/members/"',
        b'href="/accounts/audit/"',
        b'href="/accounts/settings/"',
    ):
        assert link not in viewer_nav
    assert b'href="/accounts/profile/"' in viewer_nav


def test_reviewer_decides_on_the_publish_requests_page(client, team):
    workflow = make_workflow(team["acme"])
    api_client(team["editor"]).post(
        f"/api/v1/workflows/{workflow.pk}/publish/", {"note": "go"}, format="json"
    )
    request = PublishRequest.objects.get()
    author_view = signed_in(Client(), team["editor"]).get("/accounts/publish-requests/")
    assert b"Your request: someone else reviews it." in author_view.content
    signed_in(client, team["approver"])
    page = client.get("/accounts/publish-requests/")
    assert b"Approve and publish" in page.content and b"\xe2\x80\x9cgo\xe2\x80\x9d" in page.content
    decided = client.post(
        f"/accounts/publish-requests/{request.pk}/decide/",
        {"decision": "approve", "comment": "fine"},
        HTTP_HX_REQUEST="true",
    )
    assert (
        b"publish request approved" in decided.content and b"Nothing to review" in decided.content
    )
    workflow.refresh_from_db()
    assert workflow.published_version is not None


def test_pages_carry_a_content_security_policy(client, team):
    for url in ("/accounts/login/", "/accounts/password/reset/", "/accounts/invite/x/"):
        header = client.get(url)["Content-Security-Policy"]
        assert (
            "script-src 'self'" in header
            and "unsafe-eval" not in header
            and "frame-ancestors 'none'" in header
        )
    signed_in(client, team["admin"])
    for url in (
        "/accounts/members/",
        "/accounts/audit/",
        "/accounts/profile/",
        "/accounts/settings/",
    ):
        response = client.get(url)
        assert b"<script>" not in response.content, (
            url
        )  # no inline scripts, the CSP would block them
        assert "Content-Security-Policy" in response


def test_csrf_less_posts_are_refused_and_change_nothing(team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["admin"])
    refused = [
        client.post(f"/accounts/members/{team['viewer'].pk}/remove/"),
        client.post("/accounts/settings/", {"name": "Hijacked"}),
        client.post("/accounts/tokens/", {"name": "stolen"}),
        client.post(
            "/api/v1/workspaces/acme/members/",
            {"user": "other_admin", "roles": ["admin"]},
            content_type="application/json",
        ),
        client.delete(f"/api/v1/workspaces/acme/members/{team['viewer'].pk}/"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert Membership.objects.filter(user=team["viewer"]).exists()
    assert not Membership.objects.filter(user=team["other_admin"], workspace=team["acme"]).exists()
    team["acme"].refresh_from_db()
    assert team["acme"].name == "Acme"


def test_an_admin_leaving_the_workspace_is_sent_home(client, team):
    Membership.objects.filter(user=team["editor"]).update(roles=["editor", "admin"])
    signed_in(client, team["admin"])
    left = client.post(f"/accounts/members/{team['admin'].pk}/remove/", HTTP_HX_REQUEST="true")
    assert left.status_code == 200 and left["HX-Redirect"] == "/"
    assert not Membership.objects.filter(user=team["admin"]).exists()
