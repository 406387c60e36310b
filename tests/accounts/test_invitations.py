"""Invitations: a one-time link that expires; forged, expired and reused links are refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import AuditEvent, Invitation, Membership, User
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SIGN_UP = {
    "username": "newbie",
    "email": "n@example.com",
    "password1": "Long-pass-4471",
    "password2": "Long-pass-4471",
}


def invite(client, admin, **fields):
    client.force_login(admin)
    page = client.post("/accounts/invitations/", {"roles": ["editor"], "days": 7, **fields})
    assert page.status_code == 200
    match = re.search(rb'id="invite-link" type="text" readonly value="([^"]+)"', page.content)
    assert match, page.content.decode()[:3000]
    client.logout()
    link = match.group(1).decode()
    assert link.startswith("http://testserver/accounts/invite/")
    return link.split("testserver", 1)[1]


def test_a_new_person_signs_up_through_the_link_once(
    client, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        path = invite(client, team["admin"], email="n@example.com")
    assert len(mail.outbox) == 1 and path in mail.outbox[0].body
    page = client.get(path)
    assert page.status_code == 200 and b"Join Acme" in page.content
    joined = client.post(path, SIGN_UP)
    assert joined.status_code == 302
    user = User.objects.get(username="newbie")
    assert Membership.objects.get(user=user, workspace=team["acme"]).roles == ["editor"]
    assert client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    again = client.post(path, {**SIGN_UP, "username": "second"})
    assert again.status_code == 410 and b"not valid" in again.content
    assert not User.objects.filter(username="second").exists()
    actions = set(
        AuditEvent.objects.filter(workspace=team["acme"]).values_list("action", flat=True)
    )
    assert {"invitation.created", "invitation.accepted", "invitation.refused"} <= actions


def test_a_signed_in_person_joins_with_their_account(client, team):
    path = invite(client, team["admin"])
    outsider = team["other_admin"]
    client.force_login(outsider)
    assert b"Join as other_admin" in client.get(path).content
    assert client.post(path).status_code == 302
    assert Membership.objects.get(user=outsider, workspace=team["acme"]).roles == ["editor"]


def test_an_existing_member_keeps_their_roles_and_gains_the_invited_ones(client, team):
    path = invite(client, team["admin"])
    client.force_login(team["viewer"])
    client.post(path)
    assert Membership.objects.get(user=team["viewer"]).roles == ["viewer", "editor"]


def test_forged_expired_and_revoked_links_are_refused_and_audited(client, team):
    forged = client.get("/accounts/invite/not-a-real-token/")
    assert forged.status_code == 410
    path = invite(client, team["admin"])
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.post(path, SIGN_UP)
    assert expired.status_code == 410
    assert not User.objects.filter(username="newbie").exists()
    path = invite(client, team["admin"])
    invitation = Invitation.objects.latest("created_at")
    client.force_login(team["admin"])
    client.post(f"/accounts/invitations/{invitation.pk}/revoke/")
    client.logout()
    assert client.get(path).status_code == 410
    reasons = sorted(
        e.summary["reason"] for e in AuditEvent.objects.filter(action="invitation.refused")
    )
    assert reasons == ["expired", "revoked", "unknown link"]


def test_invitation_roles_and_duration_are_checked(client, team):
    client.force_login(team["admin"])
    bad_role = client.post(
        "/accounts/invitations/", {"roles": ["owner"], "days": 7}, HTTP_HX_REQUEST="true"
    )
    assert b"Select a valid choice" in bad_role.content
    too_long = client.post(
        "/accounts/invitations/", {"roles": ["viewer"], "days": 90}, HTTP_HX_REQUEST="true"
    )
    assert b"less than or equal to 30" in too_long.content
    assert not Invitation.objects.exists()


def test_sign_up_refuses_a_taken_username_and_weak_passwords(client, team):
    make_user("taken")
    path = invite(client, team["admin"])
    taken = client.post(path, {**SIGN_UP, "username": "taken"})
    assert taken.status_code == 400 and b"username is taken" in taken.content
    weak = client.post(path, {**SIGN_UP, "password1": "123", "password2": "123"})
    assert weak.status_code == 400
    assert Invitation.objects.get().accepted_at is None


def test_only_admins_invite(client, team):
    client.force_login(team["editor"])
    assert client.post("/accounts/invitations/", {"roles": ["admin"], "days": 7}).status_code == 403
    assert not Invitation.objects.exists()


def test_invitations_over_the_api(client, team):
    from tests.conftest import api_client

    admin = api_client(team["admin"])
    url = "/api/v1/workspaces/acme/invitations/"
    created = admin.post(
        url, {"email": "n@example.com", "roles": ["runner"], "days": 3}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["roles"] == ["runner"] and body["url"].startswith(
        "http://testserver/accounts/invite/"
    )
    listed = admin.get(url).json()
    assert [row["id"] for row in listed] == [body["id"]] and "url" not in listed[0]
    assert admin.post(url, {"roles": ["boss"]}, format="json").status_code == 400
    assert admin.post(url, {"roles": ["viewer"], "days": 365}, format="json").status_code == 400
    assert (
        api_client(team["editor"]).post(url, {"roles": ["admin"]}, format="json").status_code == 403
    )
    assert api_client(team["other_admin"]).get(url).status_code == 404
    assert api_client(team["other_admin"]).delete(f"{url}{body['id']}/").status_code == 404
    assert admin.delete(f"{url}{body['id']}/").status_code == 204
    assert admin.delete(f"{url}{body['id']}/").status_code == 409
    path = body["url"].split("testserver", 1)[1]
    assert client.get(path).status_code == 410
