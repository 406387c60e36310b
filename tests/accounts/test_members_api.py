"""Members and roles over the API (contract section 4): admin only, last admin kept."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent, Membership
from tests.conftest import api_client, make_user

pytestmark = pytest.mark.django_db

URL = "/api/v1/workspaces/acme/members/"


def test_admin_lists_members_in_the_contract_shape(team):
    response = api_client(team["admin"]).get(URL)
    assert response.status_code == 200
    rows = response.json()
    assert [row["user"]["username"] for row in rows] == [
        "admin",
        "approver",
        "editor",
        "runner",
        "viewer",
    ]
    assert set(rows[0]) == {"user", "roles", "created_at"}
    assert set(rows[0]["user"]) == {"id", "username", "email"}
    assert rows[0]["roles"] == ["admin"]


@pytest.mark.parametrize(
    ("caller", "status"),
    [("viewer", 403), ("editor", 403), ("approver", 403), ("other_admin", 404)],
)
def test_only_admins_of_the_workspace_manage_members(team, caller, status):
    client = api_client(team[caller])
    assert client.get(URL).status_code == status
    newcomer = make_user("newcomer")
    assert (
        client.post(URL, {"user": newcomer.pk, "roles": ["viewer"]}, format="json").status_code
        == status
    )
    assert client.delete(f"{URL}{team['viewer'].pk}/").status_code == status
    assert not Membership.objects.filter(user=newcomer).exists()
    assert Membership.objects.filter(user=team["viewer"]).exists()


def test_add_by_id_or_username_then_change_roles_then_remove(team):
    client = api_client(team["admin"])
    by_id = make_user("dora")
    by_name = make_user("sam")
    added = client.post(URL, {"user": by_id.pk, "roles": ["runner", "viewer"]}, format="json")
    assert added.status_code == 201
    assert added.json()["roles"] == ["viewer", "runner"]  # canonical order
    assert client.post(URL, {"user": "sam", "roles": ["editor"]}, format="json").status_code == 201
    changed = client.patch(f"{URL}{by_name.pk}/", {"roles": ["approver"]}, format="json")
    assert changed.status_code == 200 and changed.json()["roles"] == ["approver"]
    assert client.delete(f"{URL}{by_id.pk}/").status_code == 204
    assert not Membership.objects.filter(user=by_id).exists()
    actions = list(
        AuditEvent.objects.filter(workspace=team["acme"]).values_list("action", flat=True)
    )
    assert sorted(actions) == [
        "member.added",
        "member.added",
        "member.removed",
        "member.roles_changed",
    ]


def test_unknown_roles_and_users_are_refused(team):
    client = api_client(team["admin"])
    make_user("dora")
    unknown = client.post(URL, {"user": "dora", "roles": ["superuser"]}, format="json")
    assert unknown.status_code == 400
    assert "Unknown role: superuser" in unknown.json()["detail"]
    assert unknown.json()["errors"][0]["field"] == "roles"
    assert client.post(URL, {"user": "dora", "roles": []}, format="json").status_code == 400
    assert client.post(URL, {"user": "dora", "roles": "admin"}, format="json").status_code == 400
    assert (
        client.post(URL, {"user": "ghost", "roles": ["viewer"]}, format="json").status_code == 400
    )
    assert (
        client.patch(f"{URL}{team['viewer'].pk}/", {"roles": ["root"]}, format="json").status_code
        == 400
    )
    assert (
        client.post(
            URL, {"user": "dora", "roles": ["viewer"], "is_staff": True}, format="json"
        ).status_code
        == 400
    )
    assert Membership.objects.get(user=team["viewer"]).roles == ["viewer"]
    assert not Membership.objects.filter(user__username="dora").exists()


def test_adding_an_existing_member_is_a_conflict(team):
    response = api_client(team["admin"]).post(
        URL, {"user": "viewer", "roles": ["editor"]}, format="json"
    )
    assert response.status_code == 409
    assert Membership.objects.get(user=team["viewer"]).roles == ["viewer"]


def test_the_last_admin_can_neither_leave_nor_be_demoted(team):
    client = api_client(team["admin"])
    me = team["admin"].pk
    demoted = client.patch(f"{URL}{me}/", {"roles": ["editor"]}, format="json")
    assert demoted.status_code == 409
    assert "at least one admin" in demoted.json()["detail"]
    assert client.delete(f"{URL}{me}/").status_code == 409
    assert Membership.objects.get(user_id=me).roles == ["admin"]
    # With a second admin, stepping down works.
    client.patch(f"{URL}{team['editor'].pk}/", {"roles": ["editor", "admin"]}, format="json")
    assert client.delete(f"{URL}{me}/").status_code == 204


def test_another_workspaces_member_id_is_not_found(team):
    client = api_client(team["admin"])
    foreign = team["other_admin"].pk
    assert client.patch(f"{URL}{foreign}/", {"roles": ["viewer"]}, format="json").status_code == 404
    assert client.delete(f"{URL}{foreign}/").status_code == 404
    assert client.get("/api/v1/workspaces/other/members/").status_code == 404
    assert Membership.objects.get(user_id=foreign).roles == ["admin"]


def test_a_demoted_admin_loses_rights_at_once(team):
    client = api_client(team["admin"])
    client.patch(f"{URL}{team['editor'].pk}/", {"roles": ["admin"]}, format="json")
    client.patch(f"{URL}{team['admin'].pk}/", {"roles": ["viewer"]}, format="json")
    assert api_client(team["admin"]).get(URL).status_code == 403
