"""Time limits, escalation and reminders, with the engine's clock moved
forward instead of sleeping."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.permissions import NotAllowed
from approvals import services, timers
from approvals.exceptions import TaskConflict
from runtime import services as runtime_services
from tests.approvals.conftest import reload, task_of


def test_assignees_are_emailed_a_link_that_needs_sign_in(team, client) -> None:
    run = team.start()
    task = task_of(run)
    to = sorted(address for message in mail.outbox for address in message.to)
    assert to == ["ann@example.com", "bob@example.com"]  # not sam: he started the run
    message = mail.outbox[0]
    assert message.subject == "Approval needed: Reply to Ada"
    link = f"/inbox/{task.pk}/"
    assert link in message.body
    response = client.get(link)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_timeout_takes_the_timeout_port(team, clock) -> None:
    run = team.start(timeout_s=60)
    task = task_of(run)
    assert run.steps.get(node_id="review").due_at == task.due_at
    clock.advance(30)
    runtime_services.sweep()
    assert reload(run).status == "waiting"
    clock.advance(31)
    runtime_services.sweep()  # the engine's timer wakes the step
    run = reload(run)
    assert run.status == "succeeded"
    assert run.output == {"late": {"late": True}}
    review = run.steps.get(node_id="review")
    assert review.port == "timeout" and review.output["decision"] == "timeout"
    assert review.output["decided_by"] == []
    assert task_of(run).status == "timed_out"
    with pytest.raises(TaskConflict, match="timed out"):
        services.decide(team.ann, task, "approve")


def test_a_decision_after_the_limit_is_refused_even_before_the_tick(team, clock) -> None:
    run = team.start(timeout_s=60)
    clock.advance(61)
    with pytest.raises(TaskConflict, match="time limit"):
        services.decide(team.ann, task_of(run), "approve")
    timers.tick()  # the approvals tick times it out as well
    assert reload(run).output == {"late": {"late": True}}


def test_escalation_adds_and_notifies_the_escalate_to_people(team, clock) -> None:
    run = team.start(
        assignees={"users": ["ann"]},
        escalate_after_s=30,
        escalate_to={"users": ["bob"]},
        timeout_s=120,
    )
    task = task_of(run)
    with pytest.raises(NotAllowed, match="assigned to other people"):
        services.decide(team.bob, task, "approve")
    mail.outbox.clear()
    clock.advance(29)
    assert timers.tick()["escalated"] == 0
    clock.advance(2)
    assert timers.tick()["escalated"] == 1
    assert timers.tick()["escalated"] == 0  # once
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    assert "Escalated" in mail.outbox[0].subject
    task.refresh_from_db()
    assert task.is_escalated and "bob" in task.current_users()
    services.decide(team.bob, task, "approve")
    run = reload(run)
    assert run.status == "succeeded" and run.output["sent"]["by"] == ["bob"]


def test_reminders_go_to_the_assignees_until_a_decision(team, clock, settings) -> None:
    settings.APPROVAL_REMINDER_S = 3600
    settings.APPROVAL_MAX_REMINDERS = 2
    run = team.start(assignees={"users": ["ann"]})
    mail.outbox.clear()
    clock.advance(3601)
    assert timers.tick()["reminded"] == 1
    assert timers.tick()["reminded"] == 0
    assert [m.to for m in mail.outbox] == [["ann@example.com"]]
    assert mail.outbox[0].subject.startswith("Reminder")
    clock.advance(3601)
    assert timers.tick()["reminded"] == 1
    clock.advance(3601)
    assert timers.tick()["reminded"] == 0  # at most two
    services.decide(team.ann, task_of(run), "approve")
    assert reload(run).status == "succeeded"


def test_the_tick_closes_tasks_of_runs_that_ended(team) -> None:
    from runtime.models import Run

    run = team.start()
    Run.objects.filter(pk=run.pk).update(status="failed")  # ended without events
    assert timers.tick()["closed"] == 1
    assert task_of(run).status == "cancelled"


def test_approvals_tick_runs_from_celery_beat() -> None:
    import approvals.tasks  # noqa: F401
    from config.celery import app

    entry = app.conf.beat_schedule["approvals-tick"]
    assert entry["task"] == "approvals.tick"
