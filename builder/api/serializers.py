from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from builder import selectors
from builder.models import Workflow, WorkflowVersion
from config.api import StrictSerializerMixin


class ScheduleTimesSerializer(serializers.Serializer):
    """When a published schedule trigger fires next, and last did."""

    node_id = serializers.CharField()
    cron = serializers.CharField()
    timezone = serializers.CharField()
    next_fire_at = serializers.DateTimeField(allow_null=True)
    last_fired_at = serializers.DateTimeField(allow_null=True)


class WorkflowSerializer(serializers.ModelSerializer):
    workspace = serializers.CharField(source="workspace.slug", read_only=True)
    published_version = serializers.SerializerMethodField()
    hooks = serializers.SerializerMethodField()
    schedules = serializers.SerializerMethodField()  # the workflow's own page only
    stats = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "id",
            "workspace",
            "name",
            "description",
            "graph",
            "revision",
            "published_version",
            "settings",
            "created_at",
            "updated_at",
            "hooks",
            "schedules",
            "stats",
        ]

    def get_published_version(self, workflow: Workflow) -> int | None:
        version = workflow.published_version
        return version.number if version else None

    def get_stats(self, workflow: Workflow) -> dict[str, Any]:
        """Last run status, runs in 24 h, and all runs' tokens and cost."""
        if hasattr(workflow, "runs_24h"):  # annotated by selectors.with_run_stats
            return selectors.stats_of(workflow)
        return selectors.run_stats(workflow)

    def get_hooks(self, workflow: Workflow) -> list[dict[str, str]]:
        return selectors.webhook_urls(workflow)

    @extend_schema_field(ScheduleTimesSerializer(many=True))
    def get_schedules(self, workflow: Workflow) -> list[dict[str, Any]]:
        return ScheduleTimesSerializer(selectors.schedule_times(workflow), many=True).data


class WorkflowSummarySerializer(WorkflowSerializer):
    class Meta(WorkflowSerializer.Meta):
        fields = [f for f in WorkflowSerializer.Meta.fields if f not in ("graph", "schedules")]


class WorkflowCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    workspace = serializers.CharField(max_length=50)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    graph = serializers.JSONField(required=False)


class WorkflowUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    graph = serializers.JSONField(required=False)
    settings = serializers.JSONField(required=False)
    revision = serializers.IntegerField(min_value=1, required=False)

    def validate_settings(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value


class ValidateSerializer(StrictSerializerMixin, serializers.Serializer):
    graph = serializers.JSONField(required=False)


class PublishSerializer(StrictSerializerMixin, serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class VersionSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="number", read_only=True)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = WorkflowVersion
        fields = [
            "version",
            "number",
            "note",
            "graph",
            "source_revision",
            "created_by",
            "created_at",
        ]


class IssueSerializer(serializers.Serializer):
    node_id = serializers.CharField(allow_null=True)
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = IssueSerializer(many=True)
    warnings = IssueSerializer(many=True)
