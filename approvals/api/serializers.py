"""Approval task shape (contract section 4): ``{id, run, node_id, title,
instructions, status, data, fields, assignees, required_approvals, decisions,
created_at, due_at}``, plus a few helpful extras."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts import permissions
from approvals.models import ApprovalDecision, ApprovalTask
from config.api import StrictSerializerMixin


class DecisionSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    # plain strings: the same field names carry other choice sets elsewhere
    # in the API, and distinct enums per name keep the OpenAPI schema clean
    decision = serializers.CharField(read_only=True, help_text="approve or reject")

    class Meta:
        model = ApprovalDecision
        fields = ["user", "decision", "comment", "changes", "created_at"]

    def get_user(self, decision: ApprovalDecision) -> str | None:
        return decision.username or None


class TaskSerializer(serializers.ModelSerializer):
    run = serializers.UUIDField(source="run_id")
    status = serializers.CharField(
        read_only=True, help_text="pending, approved, rejected, timed_out or cancelled"
    )
    workspace = serializers.CharField(source="workspace.slug")
    workflow = serializers.UUIDField(source="run.workflow_id")
    assignees = serializers.SerializerMethodField()
    decisions = DecisionSerializer(many=True, read_only=True)
    started_by = serializers.SerializerMethodField()
    can_decide = serializers.SerializerMethodField()
    refusal = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalTask
        fields = [
            "id",
            "run",
            "node_id",
            "title",
            "instructions",
            "status",
            "data",
            "fields",
            "assignees",
            "required_approvals",
            "decisions",
            "created_at",
            "due_at",
            "workspace",
            "workflow",
            "visit",
            "proposal",
            "values",
            "allow_self_approval",
            "automatic",
            "started_by",
            "escalate_at",
            "escalated_at",
            "decided_at",
            "outcome",
            "can_decide",
            "refusal",
        ]

    def get_assignees(self, task: ApprovalTask) -> dict[str, Any]:
        return {
            "roles": task.assignee_roles,
            "users": task.assignee_users,
            "escalate_to": {"roles": task.escalate_roles, "users": task.escalate_users},
            "escalated": task.is_escalated,
        }

    def get_started_by(self, task: ApprovalTask) -> str | None:
        return task.started_by.get_username() if task.started_by else None

    def _user(self) -> Any:
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_can_decide(self, task: ApprovalTask) -> bool:
        return task.is_pending and permissions.may_decide_task(self._user(), task)

    def get_refusal(self, task: ApprovalTask) -> str | None:
        """Why the caller may not decide this pending task (None when they may)."""
        user = self._user()
        if not task.is_pending or user is None:
            return None
        return permissions.task_refusal(user, task)


class DecideSerializer(StrictSerializerMixin, serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    data = serializers.DictField(required=False, default=dict)
