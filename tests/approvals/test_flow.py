"""Approval steps through the real engine: wait, decide, resume, end."""

from __future__ import annotations

import pytest

from approvals import services
from approvals.exceptions import TaskConflict
from tests.approvals.conftest import reload, task_of


def test_the_step_waits_as_a_row_and_the_run_shows_waiting(team) -> None:
    run = team.start()
    assert run.status == "waiting"
    step = run.steps.get(node_id="review")
    assert step.status == "waiting" and step.wait["reason"] == "approval"
    task = task_of(run)
    assert step.wait["state"] == {"task": str(task.pk)}
    assert task.status == "pending" and task.title == "Reply to Ada"
    assert task.values == {"reply": "Dear Ada, thank you for writing.", "priority": "low"}
    assert task.data == {"customer": "Ada", "message": "Where is my order?"}
    assert task.started_by == team.starter


def test_approving_with_edits_resumes_the_run_with_the_edited_values(team) -> None:
    run = team.start()
    edited = "Dear Ada, your order ships today."
    services.decide(team.ann, task_of(run), "approve", comment="Softer", data={"reply": edited})
    run = reload(run)
    assert run.status == "succeeded"
    review = run.steps.get(node_id="review")
    assert review.port == "approved"
    assert review.output["decision"] == "approved"
    assert review.output["decided_by"] == ["ann"]
    assert review.output["comment"] == "Softer"
    assert review.output["data"] == {"reply": edited, "priority": "low"}
    assert review.output["changes"] == {
        "reply": {"from": "Dear Ada, thank you for writing.", "to": edited}
    }
    assert run.output == {"sent": {"reply": edited, "by": ["ann"]}}


def test_reject_path_takes_the_rejected_port(team) -> None:
    run = team.start()
    services.decide(team.bob, task_of(run), "reject", comment="Wrong customer")
    run = reload(run)
    assert run.status == "succeeded"
    assert run.output == {"dropped": {"why": "Wrong customer"}}
    assert run.steps.get(node_id="sent").status == "skipped"
    assert task_of(run).status == "rejected"


def test_two_required_approvals_need_two_different_people(team) -> None:
    run = team.start(required_approvals=2)
    task = task_of(run)
    services.decide(team.ann, task, "approve", data={"priority": "high"})
    assert reload(run).status == "waiting"
    with pytest.raises(TaskConflict, match="already approved"):
        services.decide(team.ann, task, "approve")
    assert reload(run).status == "waiting"
    services.decide(team.bob, task, "approve")
    run = reload(run)
    assert run.status == "succeeded"
    output = run.steps.get(node_id="review").output
    assert output["decided_by"] == ["ann", "bob"]
    assert output["data"]["priority"] == "high"  # the first approver's edit stays
    assert output["changes"] == {"priority": {"from": "low", "to": "high"}}


def test_a_decided_task_refuses_a_second_decision_with_a_clear_message(team) -> None:
    run = team.start()
    task = task_of(run)
    services.decide(team.ann, task, "approve")
    with pytest.raises(TaskConflict, match="already decided: approved by ann"):
        services.decide(team.bob, task, "reject")


def test_field_values_are_checked_against_the_fields_schema(team) -> None:
    from approvals.exceptions import InvalidDecision

    run = team.start()
    task = task_of(run)
    with pytest.raises(InvalidDecision, match="not valid"):
        services.decide(team.ann, task, "approve", data={"priority": "urgent"})
    with pytest.raises(InvalidDecision, match="Unknown field"):
        services.decide(team.ann, task, "approve", data={"secret": 1})
    assert task_of(run).status == "pending" and reload(run).status == "waiting"


def test_auto_approve_if_skips_the_person_and_records_it(team) -> None:
    from accounts.models import AuditEvent

    run = team.start(
        input={"name": "Ada", "message": "hi", "amount": 5}, auto_approve_if="trigger.amount < 100"
    )
    assert run.status == "succeeded"
    review = run.steps.get(node_id="review")
    assert review.port == "approved" and review.output["automatic"] is True
    assert review.output["decided_by"] == []
    task = task_of(run)
    assert task.status == "approved" and task.automatic
    assert task.decisions.get().user is None
    assert AuditEvent.objects.filter(
        action="approval.auto_approved", object_id=str(task.pk)
    ).exists()


def test_auto_approve_if_false_waits_for_a_person(team) -> None:
    run = team.start(
        input={"name": "Ada", "message": "hi", "amount": 500},
        auto_approve_if="trigger.amount < 100",
    )
    assert run.status == "waiting" and task_of(run).status == "pending"


def test_every_decision_is_audited_with_the_difference(team) -> None:
    from accounts.models import AuditEvent

    run = team.start()
    task = task_of(run)
    services.decide(team.ann, task, "approve", comment="ok", data={"reply": "Hi Ada"})
    event = AuditEvent.objects.get(action="approval.approved", object_id=str(task.pk))
    assert event.actor_name == "ann"
    assert event.summary["changes"] == {
        "reply": {"from": "Dear Ada, thank you for writing.", "to": "Hi Ada"}
    }
    assert event.summary["comment"] == "ok" and event.summary["run"] == str(run.pk)


def test_cancelling_the_run_closes_its_task(team) -> None:
    from runtime import services as runtime_services

    run = team.start()
    runtime_services.cancel_run(team.starter, run)
    task = task_of(run)
    assert task.status == "cancelled"
    with pytest.raises(TaskConflict, match="closed because its run ended"):
        services.decide(team.ann, task, "approve")
