"""Approval tasks (one per waiting ``human.approval`` step visit), the
decisions people make on them, and the notifications sent about them.

A task is the durable half of an approval wait: the step row says "waiting
for approval", the task row says what is asked, of whom, until when, and what
was decided. Decisions count through a compare-and-set on ``status`` (see
``approvals.services``), so two people deciding at the same moment cannot
both end the task.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELLED = "cancelled", "Cancelled"


#: the output's ``decision`` for each final status
DECISION_OF = {
    TaskStatus.APPROVED: "approved",
    TaskStatus.REJECTED: "rejected",
    TaskStatus.TIMED_OUT: "timeout",
}


class ApprovalTask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="approval_tasks"
    )
    run = models.ForeignKey("runtime.Run", on_delete=models.CASCADE, related_name="approval_tasks")
    step = models.ForeignKey(
        "runtime.Step", null=True, on_delete=models.SET_NULL, related_name="approval_tasks"
    )
    node_id = models.CharField(max_length=64)
    visit = models.PositiveIntegerField(default=1)
    #: a copy of run.started_by: the person who may not approve (self-approval)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    data = models.JSONField(null=True, blank=True)
    #: JSON Schema of the editable fields, with rendered defaults
    fields = models.JSONField(default=dict, blank=True)
    #: the rendered defaults, as first proposed
    proposal = models.JSONField(default=dict, blank=True)
    #: the field values now: the proposal with every approver's edits applied
    values = models.JSONField(default=dict, blank=True)

    assignee_roles = models.JSONField(default=list, blank=True)
    assignee_users = models.JSONField(default=list, blank=True)
    escalate_roles = models.JSONField(default=list, blank=True)
    escalate_users = models.JSONField(default=list, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    allow_self_approval = models.BooleanField(default=False)

    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    automatic = models.BooleanField(default=False)
    #: bumped by every write; the first statement of a decision, so that it
    #: takes the row's write lock before reading anything
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    #: the time limit (timeout_s); None waits forever
    due_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    decided_at = models.DateTimeField(null=True, blank=True)
    #: the step's output once the task ended ({decision, decided_by, ...})
    outcome = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "node_id", "visit"], name="one_approval_task_per_visit"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "status", "-created_at"]),
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["status", "escalate_at"]),
            models.Index(fields=["status", "remind_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == TaskStatus.PENDING

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None

    def current_roles(self) -> list[str]:
        """The roles whose members are assigned now (escalation adds its roles)."""
        extra = self.escalate_roles if self.is_escalated else []
        return list(dict.fromkeys([*self.assignee_roles, *extra]))

    def current_users(self) -> list[str]:
        """The usernames assigned now (escalation adds its people)."""
        extra = self.escalate_users if self.is_escalated else []
        return list(dict.fromkeys([*self.assignee_users, *extra]))


class ApprovalDecision(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    task = models.ForeignKey(ApprovalTask, on_delete=models.CASCADE, related_name="decisions")
    #: None for the automatic approval of auto_approve_if
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.TextField(blank=True, max_length=5000)
    #: the field values this person sent on, and how they differ from before
    data = models.JSONField(default=dict, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # one decision per person and task: "N approvals" means N people
            models.UniqueConstraint(
                fields=["task", "user"],
                condition=models.Q(user__isnull=False),
                name="one_decision_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.username or 'automatic'} {self.decision}d {self.task_id}"


class Notification(models.Model):
    """An e-mail sent about a task: to an assignee when it opens, as a
    reminder, or when it escalates. Unique per task, person, kind and round so
    that a tick run twice sends nothing twice."""

    class Kind(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        REMINDER = "reminder", "Reminder"
        ESCALATED = "escalated", "Escalated"

    task = models.ForeignKey(ApprovalTask, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    round = models.PositiveSmallIntegerField(default=0)
    email = models.EmailField(blank=True)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "user", "kind", "round"], name="one_notification_per_round"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.user_id} about {self.task_id}"
