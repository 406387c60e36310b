"""Write paths of approvals: open a task, decide it, end it by time, close it.

Deciding is the delicate part. Every decision runs in one transaction whose
first statement is a conditional write on the task row::

    UPDATE approval_task SET revision = revision + 1
     WHERE id = %s AND status = 'pending'

On Postgres that takes the row lock and re-checks the status after any
concurrent decision commits; on SQLite the IMMEDIATE transaction already
holds the write lock. Either way, two people deciding a one-approval task at
the same moment are serialised: the first ends the task, the second's UPDATE
matches no row and gets a clear 409. The unique (task, user) constraint on
decisions makes "N approvals" mean N different people.

The step resumes (``runtime.services.resume_step``) after the transaction
commits; the node's ``resume()`` reads the outcome from the task row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from accounts import audit, permissions
from approvals import notifications
from approvals.changes import changes_between
from approvals.exceptions import InvalidDecision, TaskConflict
from approvals.models import DECISION_OF, ApprovalDecision, ApprovalTask, TaskStatus
from builder.nodes.data import schema_errors
from builder.nodes.human import ApprovalRequest, Ticket
from runtime import services as runtime_services
from runtime.engine import clock
from runtime.models import RUN_FINISHED, Run, Step

log = logging.getLogger(__name__)

DECISIONS = {
    "approve": ApprovalDecision.Decision.APPROVE,
    "reject": ApprovalDecision.Decision.REJECT,
}
MAX_COMMENT = 5000


# -- opening ---------------------------------------------------------------------


def open_task(run_id: Any, node_id: str, visit: int, request: ApprovalRequest) -> ApprovalTask:
    """The task of this step visit, created on first call (a retried run()
    finds the same row: unique on run, node and visit). Assignees are e-mailed
    once the task is committed."""
    existing = ApprovalTask.objects.filter(run_id=run_id, node_id=node_id, visit=visit).first()
    if existing is not None:
        return existing
    run = Run.objects.only("id", "workspace_id", "started_by_id").get(pk=run_id)
    now = clock.now()
    task = _new_task(run, node_id, visit, request, now)
    try:
        with transaction.atomic():
            task.save(force_insert=True)
            audit.record(
                None,
                task.workspace_id,
                "approval.requested",
                obj=task,
                summary=_summary(task, assignees=task.current_roles() + task.current_users()),
            )
    except IntegrityError:
        return ApprovalTask.objects.get(run_id=run_id, node_id=node_id, visit=visit)
    transaction.on_commit(lambda: notifications.notify_assigned(task.pk))
    return task


def _new_task(
    run: Run, node_id: str, visit: int, request: ApprovalRequest, now: Any
) -> ApprovalTask:
    def later(seconds: float | None) -> Any:
        return now + timedelta(seconds=seconds) if seconds else None

    return ApprovalTask(
        workspace_id=run.workspace_id,
        run_id=run.pk,
        node_id=node_id,
        visit=visit,
        step=Step.objects.filter(run_id=run.pk, node_id=node_id, visit=visit).first(),
        started_by_id=run.started_by_id,
        title=request.title[:200],
        instructions=request.instructions,
        data=request.data,
        fields=request.fields,
        proposal=request.proposal,
        values=dict(request.proposal),
        assignee_roles=request.roles,
        assignee_users=request.users,
        escalate_roles=request.escalate_roles,
        escalate_users=request.escalate_users,
        required_approvals=request.required_approvals,
        allow_self_approval=request.allow_self_approval,
        created_at=now,
        due_at=later(request.timeout_s),
        escalate_at=later(request.escalate_after_s),
        remind_at=later(notifications.reminder_interval_s()),
    )


def ticket_of(task: ApprovalTask) -> Ticket:
    return Ticket(task_id=str(task.pk), due_at=task.due_at)


def approve_automatically(
    run_id: Any, node_id: str, visit: int, request: ApprovalRequest
) -> dict[str, Any]:
    """auto_approve_if held: record an approval by nobody and return the output."""
    existing = ApprovalTask.objects.filter(run_id=run_id, node_id=node_id, visit=visit).first()
    if existing is not None and existing.outcome is not None:
        return existing.outcome
    run = Run.objects.only("id", "workspace_id", "started_by_id").get(pk=run_id)
    now = clock.now()
    task = _new_task(run, node_id, visit, request, now)
    task.status, task.automatic, task.decided_at = TaskStatus.APPROVED, True, now
    task.due_at = task.escalate_at = task.remind_at = None
    task.outcome = _output(task, "approved", [], "Approved automatically (auto_approve_if).")
    task.outcome["automatic"] = True
    try:
        with transaction.atomic():
            task.save(force_insert=True)
            ApprovalDecision.objects.create(
                task=task,
                decision=ApprovalDecision.Decision.APPROVE,
                created_at=now,
                comment="Approved automatically: auto_approve_if was true.",
                data=task.values,
            )
            audit.record(
                None, task.workspace_id, "approval.auto_approved", obj=task, summary=_summary(task)
            )
    except IntegrityError:
        return ApprovalTask.objects.get(run_id=run_id, node_id=node_id, visit=visit).outcome
    return task.outcome


# -- deciding --------------------------------------------------------------------


def decide(
    user: Any,
    task: ApprovalTask,
    decision: str,
    *,
    comment: str = "",
    data: Mapping[str, Any] | None = None,
) -> ApprovalTask:
    """Approve or reject ``task`` as ``user``, with edits to its fields.

    Every path (inbox page, API, e-mail link) comes here, so every rule is
    checked here: visibility (404), assignment and self-approval (403, via
    ``accounts.permissions.check_decide_task``), a valid decision and field
    values (400), and an open task this person has not approved yet (409)."""
    permissions.check_decide_task(user, task)
    kind = _decision_kind(decision)
    comment = _clean_comment(comment)
    with transaction.atomic():
        locked = _lock_pending(task)
        values = _merged_values(locked, data)
        if _record_decision(user, locked, kind, comment, values) and locked.step_id:
            step = Step(pk=locked.step_id)
            transaction.on_commit(lambda: runtime_services.resume_step(step))
    return locked


def _decision_kind(decision: str) -> str:
    if decision not in DECISIONS:
        raise InvalidDecision(
            'decision must be "approve" or "reject".',
            [{"field": "decision", "message": 'must be "approve" or "reject"'}],
        )
    return DECISIONS[decision]


def _clean_comment(comment: Any) -> str:
    comment = "" if comment is None else str(comment).strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidDecision(
            f"The comment is too long (at most {MAX_COMMENT} characters).",
            [{"field": "comment", "message": f"at most {MAX_COMMENT} characters"}],
        )
    return comment


def _lock_pending(task: ApprovalTask) -> ApprovalTask:
    """The conditional write that serialises decisions (see the module doc)."""
    if not ApprovalTask.objects.filter(pk=task.pk, status=TaskStatus.PENDING).update(
        revision=F("revision") + 1
    ):
        raise TaskConflict(_closed_message(ApprovalTask.objects.get(pk=task.pk)))
    locked = ApprovalTask.objects.select_related("run").get(pk=task.pk)
    if locked.run.status in RUN_FINISHED:
        raise TaskConflict(f"The run has {locked.run.status}; this approval is closed.")
    if locked.due_at is not None and clock.now() >= locked.due_at:
        raise TaskConflict("The time limit for this approval has passed; it timed out.")
    return locked


def _closed_message(task: ApprovalTask) -> str:
    who = ", ".join(task.outcome.get("decided_by") or []) if task.outcome else ""
    return {
        TaskStatus.APPROVED: f"This approval was already decided: approved by {who or 'someone else'}.",
        TaskStatus.REJECTED: f"This approval was already decided: rejected by {who or 'someone else'}.",
        TaskStatus.TIMED_OUT: "This approval timed out before a decision.",
        TaskStatus.CANCELLED: "This approval was closed because its run ended.",
    }.get(task.status, "This approval is no longer open.")


def _merged_values(task: ApprovalTask, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """The task's current values with the reviewer's edits, checked against ``fields``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise InvalidDecision(
            "data must be an object of field values.",
            [{"field": "data", "message": "must be an object"}],
        )
    properties = (task.fields or {}).get("properties") or {}
    unknown = sorted(set(data) - set(properties))
    if unknown:
        raise InvalidDecision(
            f"Unknown field: {', '.join(unknown)}.",
            [{"field": f"data.{name}", "message": "not an editable field"} for name in unknown],
        )
    values = {**task.values, **data}
    problems = schema_errors(task.fields, values) if task.fields else []
    if problems:
        raise InvalidDecision(
            "Some fields are not valid: " + "; ".join(problems),
            [{"field": "data", "message": problem} for problem in problems],
        )
    return values


def _record_decision(
    user: Any, task: ApprovalTask, kind: str, comment: str, values: dict[str, Any]
) -> bool:
    """Write the decision; end the task when it is a rejection or the last
    approval needed. Returns whether the task ended."""
    now = clock.now()
    edits = changes_between(task.values, values)
    try:
        with transaction.atomic():
            ApprovalDecision.objects.create(
                task=task,
                user=user,
                username=user.get_username(),
                decision=kind,
                comment=comment,
                data=values,
                changes=edits,
                created_at=now,
            )
    except IntegrityError:
        raise TaskConflict(_already_message(task)) from None
    approvers = _approvers(task)
    final = _final_status(task, kind, len(approvers))
    task.values = values
    updates: dict[str, Any] = {"values": values}
    if final is not None:
        deciders = approvers if final == TaskStatus.APPROVED else [user.get_username()]
        task.status, task.decided_at = final, now
        task.outcome = _output(task, DECISION_OF[final], deciders, comment)
        updates.update(
            status=final, decided_at=now, outcome=task.outcome, remind_at=None, escalate_at=None
        )
    ApprovalTask.objects.filter(pk=task.pk).update(**updates)
    _audit_decision(user, task, kind, comment, edits, len(approvers))
    return final is not None


def _already_message(task: ApprovalTask) -> str:
    missing = task.required_approvals - len(_approvers(task))
    return (
        "You have already approved this task; it needs "
        f"{missing} more approval{'s' if missing != 1 else ''} from other people."
    )


def _approvers(task: ApprovalTask) -> list[str]:
    return list(
        task.decisions.filter(decision=ApprovalDecision.Decision.APPROVE, user__isnull=False)
        .order_by("created_at", "id")
        .values_list("username", flat=True)
    )


def _final_status(task: ApprovalTask, kind: str, approvals: int) -> str | None:
    if kind == ApprovalDecision.Decision.REJECT:
        return TaskStatus.REJECTED
    return TaskStatus.APPROVED if approvals >= task.required_approvals else None


def _output(
    task: ApprovalTask, decision: str, decided_by: list[str], comment: str
) -> dict[str, Any]:
    """The step's output (contract section 3): the final values, and how they
    differ from the proposal."""
    return {
        "decision": decision,
        "decided_by": decided_by,
        "comment": comment,
        "data": task.values,
        "changes": changes_between(task.proposal, task.values),
        "decisions": [
            {
                "by": d.username,
                "decision": d.decision,
                "comment": d.comment,
                "at": d.created_at.isoformat(),
            }
            for d in task.decisions.order_by("created_at", "id")
        ],
    }


def _audit_decision(
    user: Any, task: ApprovalTask, kind: str, comment: str, edits: dict, approvals: int
) -> None:
    action = {
        TaskStatus.APPROVED: "approval.approved",
        TaskStatus.REJECTED: "approval.rejected",
    }.get(task.status, "approval.approval_counted")
    audit.record(
        user,
        task.workspace_id,
        action,
        obj=task,
        summary=_summary(
            task,
            decision=kind,
            comment=comment,
            edits=edits,
            changes=changes_between(task.proposal, task.values),
            approvals=f"{approvals}/{task.required_approvals}",
        ),
    )


def _summary(task: ApprovalTask, **extra: Any) -> dict[str, Any]:
    return {"run": str(task.run_id), "node_id": task.node_id, "title": task.title, **extra}


# -- ending by time, by the run ----------------------------------------------------


def conclude(task_id: Any) -> tuple[str, dict[str, Any]] | Ticket:
    """For the node's resume(): (port, output) once the task ended, timing it
    out first if its limit passed; the open ticket otherwise."""
    task = ApprovalTask.objects.get(pk=task_id)
    if task.is_pending and task.due_at is not None and clock.now() >= task.due_at:
        time_out(task)
        task.refresh_from_db()
    if task.is_pending:
        return ticket_of(task)
    if task.status == TaskStatus.CANCELLED or task.outcome is None:
        from builder.nodes.base import NodeError

        raise NodeError("The approval was closed without a decision.", type="ApprovalClosed")
    return DECISION_OF[task.status], task.outcome


def time_out(task: ApprovalTask) -> bool:
    """End a pending task whose limit passed on ``timeout`` (compare-and-set:
    a decision that committed first wins)."""
    with transaction.atomic():
        if not ApprovalTask.objects.filter(pk=task.pk, status=TaskStatus.PENDING).update(
            revision=F("revision") + 1
        ):
            return False
        task = ApprovalTask.objects.get(pk=task.pk)
        task.status, task.decided_at = TaskStatus.TIMED_OUT, clock.now()
        task.outcome = _output(task, "timeout", [], "")
        task.save(update_fields=["status", "decided_at", "outcome"])
        audit.record(
            None,
            task.workspace_id,
            "approval.timed_out",
            obj=task,
            summary=_summary(task, due_at=task.due_at),
        )
    return True


def close_tasks_for_run(run_id: Any) -> int:
    """The run ended (cancelled, failed): its pending tasks close as cancelled."""
    closed = 0
    for task in ApprovalTask.objects.filter(run_id=run_id, status=TaskStatus.PENDING):
        with transaction.atomic():
            if ApprovalTask.objects.filter(pk=task.pk, status=TaskStatus.PENDING).update(
                status=TaskStatus.CANCELLED,
                decided_at=clock.now(),
                remind_at=None,
                escalate_at=None,
                revision=F("revision") + 1,
            ):
                closed += 1
                audit.record(
                    None,
                    task.workspace_id,
                    "approval.cancelled",
                    obj=task,
                    summary=_summary(task, reason="the run ended"),
                )
    return closed
