"""The workspace's outbound allow-list, managed by its admins: the API (contract
section 4 style), the settings page (htmx) and the audit trail."""

from __future__ import annotations

import pytest

from accounts import audit
from accounts.models import AuditEvent, Workspace
from tests.conftest import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/workspaces/acme/outbound-allow-list/"
PAGE = "/accounts/settings/"
POST = "/accounts/settings/outbound-allow/"


def entries_of(slug: str = "acme") -> list[str]:
    return Workspace.objects.get(slug=slug).outbound_allow


def test_admin_reads_and_replaces_the_list(team):
    client = api_client(team["admin"])
    assert client.get(URL).json() == {"workspace": "acme", "entries": []}
    sent = {"entries": ["LocalHost:11434", "10.0.0.0/8", "*.Internal.Example.com", "::1"]}
    answer = client.put(URL, sent, format="json")
    assert answer.status_code == 200
    stored = ["localhost:11434", "10.0.0.0/8", "*.internal.example.com", "[::1]"]
    assert answer.json() == {"workspace": "acme", "entries": stored}
    assert client.get(URL).json()["entries"] == stored == entries_of()
    assert client.put(URL, {"entries": []}, format="json").json()["entries"] == []
    assert entries_of() == []


def test_every_change_is_audited_with_what_was_added_and_removed(team):
    client = api_client(team["admin"])
    client.put(URL, {"entries": ["localhost:11434", "10.0.0.0/8"]}, format="json")
    client.put(URL, {"entries": ["10.0.0.0/8", "fd00::/8"]}, format="json")
    client.put(URL, {"entries": ["10.0.0.0/8", "fd00::/8"]}, format="json")  # no change
    events = list(
        AuditEvent.objects.filter(action="workspace.outbound_allow_changed").order_by("seq")
    )
    assert [e.summary for e in events] == [
        {
            "added": ["localhost:11434", "10.0.0.0/8"],
            "removed": [],
            "entries": ["localhost:11434", "10.0.0.0/8"],
        },
        {
            "added": ["fd00::/8"],
            "removed": ["localhost:11434"],
            "entries": ["10.0.0.0/8", "fd00::/8"],
        },
    ]
    assert {e.actor_name for e in events} == {"admin"}
    assert {e.workspace_id for e in events} == {team["acme"].pk}
    assert audit.verify()[1] is None


def test_invalid_entries_answer_400_naming_each_one(team):
    client = api_client(team["admin"])
    client.put(URL, {"entries": ["localhost:11434"]}, format="json")
    answer = client.put(
        URL, {"entries": ["10.0.0.0/8", "10.0.0.1/8", "0.0.0.0/0", "127.1"]}, format="json"
    )
    assert answer.status_code == 400
    body = answer.json()
    assert [error["field"] for error in body["errors"]] == [
        "entries[1]",
        "entries[2]",
        "entries[3]",
    ]
    messages = [error["message"] for error in body["errors"]]
    assert "'10.0.0.1/8'" in messages[0] and "10.0.0.0/8" in messages[0]
    assert "'0.0.0.0/0'" in messages[1] and "too wide" in messages[1]
    assert "'127.1'" in messages[2]
    assert "'10.0.0.1/8'" in body["detail"]
    assert entries_of() == ["localhost:11434"]  # nothing changed
    assert AuditEvent.objects.filter(action="workspace.outbound_allow_changed").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"entries": ["localhost"], "note": "x"}, "note"),  # strict: unknown fields refused
        ({}, "entries"),
        ({"entries": "localhost"}, "entries"),
        ({"entries": [1234]}, "entries[0]"),
        ({"entries": [f"h{i}.lan" for i in range(101)]}, "entries"),
    ],
)
def test_malformed_bodies_answer_400_in_the_error_shape(team, body, field):
    answer = api_client(team["admin"]).put(URL, body, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == {"detail", "errors"}
    assert field in [error["field"] for error in answer.json()["errors"]]
    assert entries_of() == []


@pytest.mark.parametrize(
    ("caller", "status"),
    [("viewer", 403), ("runner", 403), ("editor", 403), ("approver", 403), ("other_admin", 404)],
)
def test_only_admins_of_the_workspace_see_or_change_it(team, caller, status):
    Workspace.objects.filter(slug="acme").update(outbound_allow=["localhost:11434"])
    client = api_client(team[caller])
    assert client.get(URL).status_code == status
    assert client.put(URL, {"entries": ["10.0.0.0/8"]}, format="json").status_code == status
    assert entries_of() == ["localhost:11434"]
    assert api_client(None).get(URL).status_code == 401


# -- the settings page -------------------------------------------------------------


def test_admin_edits_the_list_on_the_settings_page(client, team):
    client.force_login(team["admin"])
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Outbound allow-list" in page.content
    assert b'name="entries"' in page.content
    partial = client.post(
        POST,
        {"entries": "localhost:11434\n\n  10.0.0.0/8  \n*.LAN.example.com\n"},
        HTTP_HX_REQUEST="true",
    )
    assert partial.status_code == 200 and b"<html" not in partial.content
    assert b"Outbound allow-list saved." in partial.content
    assert entries_of() == ["localhost:11434", "10.0.0.0/8", "*.lan.example.com"]
    assert b"localhost:11434\n10.0.0.0/8\n*.lan.example.com</textarea>" in partial.content
    assert AuditEvent.objects.filter(action="workspace.outbound_allow_changed").count() == 1
    again = client.get(PAGE)
    assert b"*.lan.example.com</textarea>" in again.content


def test_the_page_names_a_bad_entry_and_keeps_what_was_typed(client, team):
    Workspace.objects.filter(slug="acme").update(outbound_allow=["localhost:11434"])
    client.force_login(team["admin"])
    typed = "10.0.0.0/8\n0x7f.1\n172.16.0.1/12"
    partial = client.post(POST, {"entries": typed}, HTTP_HX_REQUEST="true")
    assert b"&#x27;0x7f.1&#x27;" in partial.content
    assert b"did you mean 172.16.0.0/12?" in partial.content
    assert typed.encode() + b"</textarea>" in partial.content
    assert entries_of() == ["localhost:11434"]


def test_without_htmx_the_page_posts_and_redirects(client, team):
    client.force_login(team["admin"])
    answer = client.post(POST, {"entries": "ollama.lan:11434"})
    assert answer.status_code == 302 and answer["Location"] == PAGE
    followed = client.get(PAGE)
    assert b"Outbound allow-list saved." in followed.content
    assert entries_of() == ["ollama.lan:11434"]
    refused = client.post(POST, {"entries": "bad entry"})
    assert refused.status_code == 200 and b"<html" in refused.content
    assert b"&#x27;bad entry&#x27; is not a host name" in refused.content


@pytest.mark.parametrize("role", ["viewer", "runner", "editor", "approver"])
def test_other_roles_cannot_use_the_page(client, team, role):
    client.force_login(team[role])
    assert client.get(PAGE).status_code == 403
    posted = client.post(POST, {"entries": "localhost:11434"}, HTTP_HX_REQUEST="true")
    assert posted.status_code == 403
    assert entries_of() == []


def test_another_workspaces_admin_changes_only_their_own(client, team):
    client.force_login(team["other_admin"])
    client.post(POST, {"entries": "localhost:11434"}, HTTP_HX_REQUEST="true")
    assert entries_of("other") == ["localhost:11434"]
    assert entries_of("acme") == []
