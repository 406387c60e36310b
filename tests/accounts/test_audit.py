"""The audit log: append-only, hash-chained per workspace, verified by a command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from accounts import audit
from accounts.models import AppendOnlyError, AuditEvent
from tests.conftest import api_client, make_workflow, simple_graph

pytestmark = pytest.mark.django_db


def _three_events(team):
    for name in ("a", "b", "c"):
        audit.record(team["admin"], team["acme"], "test.event", summary={"name": name})
    return list(AuditEvent.objects.filter(chain=f"ws:{team['acme'].pk}").order_by("seq"))


def test_each_event_links_to_the_previous_one_in_its_workspace(team):
    first, second, third = _three_events(team)
    other = audit.record(team["other_admin"], team["other"], "test.event")
    assert first.prev_hash == audit.GENESIS and first.seq == 1
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert other.seq == 1 and other.prev_hash == audit.GENESIS
    assert audit.verify() == (4, None)


def test_the_application_cannot_change_or_delete_an_event(team):
    event = _three_events(team)[0]
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def _raw(sql: str, *params) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_verify_audit_reports_an_altered_event(team):
    events = _three_events(team)
    _raw("UPDATE accounts_auditevent SET summary = %s WHERE id = %s", '{"name": "z"}', events[1].pk)
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit", stdout=out)
    assert f"event #{events[1].pk}" in str(failure.value)
    assert "altered" in str(failure.value)


def test_verify_audit_reports_a_deleted_event(team):
    events = _three_events(team)
    _raw("DELETE FROM accounts_auditevent WHERE id = %s", events[1].pk)
    _count, broken = audit.verify()
    assert broken is not None and broken.event_id == events[2].pk
    assert "missing" in broken.reason


def test_verify_audit_reports_a_rewritten_chain_link(team):
    events = _three_events(team)
    _raw("UPDATE accounts_auditevent SET prev_hash = %s WHERE id = %s", "f" * 64, events[2].pk)
    _count, broken = audit.verify()
    assert broken is not None and broken.event_id == events[2].pk


def test_verify_audit_says_ok_on_an_intact_log(team):
    _three_events(team)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "OK" in out.getvalue() and "3 events" in out.getvalue()


def test_workflow_writes_are_recorded_with_actor_and_ip(team):
    client = api_client(team["editor"])
    created = client.post(
        "/api/v1/workflows/",
        {"workspace": "acme", "name": "Triage", "description": "", "graph": simple_graph()},
        format="json",
        REMOTE_ADDR="203.0.113.7",
    )
    assert created.status_code == 201, created.json()
    wf_id = created.json()["id"]
    client.patch(f"/api/v1/workflows/{wf_id}/", {"name": "Triage 2", "revision": 1}, format="json")
    client.delete(f"/api/v1/workflows/{wf_id}/")
    events = list(AuditEvent.objects.filter(workspace=team["acme"]).order_by("seq"))
    assert [e.action for e in events] == [
        "workflow.created",
        "workflow.updated",
        "workflow.deleted",
    ]
    assert {e.actor_name for e in events} == {"editor"}
    assert events[0].ip_address == "203.0.113.7"
    assert events[0].object_id == wf_id and events[0].summary == {"name": "Triage"}


def test_sign_in_success_and_failure_are_recorded_in_the_users_workspaces(client, team):
    client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    client.post("/accounts/login/", {"username": "viewer", "password": "wrong"})
    client.post("/accounts/login/", {"username": "viewer", "password": "pw-Secret-123"})
    acme_actions = list(
        AuditEvent.objects.filter(workspace=team["acme"])
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert acme_actions == ["auth.login_failed", "auth.login"]
    unknown = AuditEvent.objects.get(chain=audit.GLOBAL_CHAIN)
    assert unknown.action == "auth.login_failed" and unknown.summary["username"] == "nobody"


def test_publish_is_recorded(team):
    workflow = make_workflow(team["acme"])
    response = api_client(team["admin"]).post(
        f"/api/v1/workflows/{workflow.pk}/publish/", {"note": "v1"}, format="json"
    )
    assert response.json()["status"] == "published"
    event = AuditEvent.objects.get(action="workflow.published")
    assert event.summary == {"version": 1, "note": "v1"} and event.actor_name == "admin"


def test_a_writer_that_lost_the_race_appends_after_the_winner(team, monkeypatch):
    """Two writers read the same head: the unique (chain, seq) makes the second retry."""
    first = audit.record(team["admin"], team["acme"], "test.first")
    real_now = audit.timezone.now
    raced: list[AuditEvent] = []
    started: list[bool] = []

    def now_after_a_rival_wrote():
        # Called by _append between reading the head and inserting: a rival slips in.
        if not started:
            started.append(True)
            raced.append(audit.record(team["editor"], team["acme"], "test.rival"))
        return real_now()

    monkeypatch.setattr(audit.timezone, "now", now_after_a_rival_wrote)
    mine = audit.record(team["admin"], team["acme"], "test.mine")
    assert raced[0].seq == 2 and raced[0].prev_hash == first.hash
    assert mine.seq == 3 and mine.prev_hash == raced[0].hash
    assert audit.verify()[1] is None
