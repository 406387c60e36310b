"""Shapes of the runs API (contract section 4). Read shapes are plain
serializers over the models; request bodies refuse unknown fields."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.api import StrictSerializerMixin
from runtime import selectors
from runtime.models import Run, Step


@extend_schema_field(OpenApiTypes.STR)
class VersionField(serializers.Field):
    """A version number, ``"published"`` or ``"draft"`` (a digit string counts as a number)."""

    default_error_messages = {
        "invalid": 'Must be a version number, "published" or "draft".',
    }

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) and data >= 1:
            return data
        if isinstance(data, str):
            if data in ("published", "draft"):
                return data
            if data.isdigit() and int(data) >= 1:
                return int(data)
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


class StartRunSerializer(StrictSerializerMixin, serializers.Serializer):
    input = serializers.JSONField(required=False, default=dict)
    version = VersionField(required=False, default="published")


class RerunSerializer(StrictSerializerMixin, serializers.Serializer):
    from_node = serializers.CharField(max_length=64)


class ReusedFromSerializer(serializers.ModelSerializer):
    run = serializers.UUIDField(source="run_id")

    class Meta:
        model = Step
        fields = ["id", "run", "node_id", "visit"]


class StepSerializer(serializers.ModelSerializer):
    duration_ms = serializers.SerializerMethodField()
    reused_from = ReusedFromSerializer(allow_null=True)
    idempotency_key = serializers.CharField()

    class Meta:
        model = Step
        fields = [
            "id",
            "node_id",
            "node_type",
            "visit",
            "status",
            "port",
            "attempts",
            "input",
            "output",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "due_at",
            "usage",
            "cost_usd",
            "reused_from",
            "idempotency_key",
        ]

    def get_duration_ms(self, step: Step) -> int | None:
        return selectors.duration_ms(step.started_at, step.finished_at)


class RunSerializer(serializers.ModelSerializer):
    """A run without its steps (the list shape)."""

    workspace = serializers.CharField(source="workspace.slug")
    workflow_name = serializers.CharField(source="workflow.name")
    version = serializers.SerializerMethodField()
    started_by = serializers.SerializerMethodField()
    duration_ms = serializers.SerializerMethodField()
    parent_run = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "workspace",
            "workflow",
            "workflow_name",
            "version",
            "is_draft",
            "status",
            "input",
            "output",
            "error",
            "trigger_kind",
            "trigger_node",
            "started_by",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "usage",
            "cost_usd",
            "rerun_of",
            "rerun_from_node",
            "parent_run",
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_version(self, run: Run) -> int | str | None:
        """The pinned version number, or ``"draft"`` for a run of the draft."""
        return "draft" if run.is_draft else run.version_number

    def get_started_by(self, run: Run) -> str | None:
        return run.started_by.get_username() if run.started_by else None

    def get_duration_ms(self, run: Run) -> int | None:
        return selectors.duration_ms(run.started_at, run.finished_at)

    @extend_schema_field(OpenApiTypes.UUID)
    def get_parent_run(self, run: Run) -> str | None:
        """The run whose sub-workflow step started this one."""
        return str(run.parent_step.run_id) if run.parent_step_id else None


class RunDetailSerializer(RunSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "graph", "steps"]

    @extend_schema_field(StepSerializer(many=True))
    def get_steps(self, run: Run) -> list[dict[str, Any]]:
        return StepSerializer(selectors.steps_of(run), many=True).data
