from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.models import Membership, PublishRequest
from config.api import StrictSerializerMixin


class TokenRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="API token")


class WorkspaceSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    require_publish_review = serializers.BooleanField()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()


class MemberSerializer(serializers.ModelSerializer):
    user = UserRefSerializer()

    class Meta:
        model = Membership
        fields = ["user", "roles", "created_at"]


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class UserOrUsernameField(serializers.Field):
    """A user named by id (number) or by username (text)."""

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)) or data == "":
            raise serializers.ValidationError("Give a user id or a username.")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class MemberAddSerializer(StrictSerializerMixin, serializers.Serializer):
    user = UserOrUsernameField()
    roles = serializers.JSONField()


class MemberUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    roles = serializers.JSONField()


@extend_schema_serializer(component_name="PublishReview")
class PublishRequestSerializer(serializers.ModelSerializer):
    # A plain string (pending, approved, rejected, superseded), not an enum: the
    # schema already has other "status" enums and their names would collide.
    status = serializers.CharField(read_only=True)
    workspace = serializers.CharField(source="workspace.slug")
    workflow_name = serializers.CharField(source="workflow.name")
    requested_by = UserRefSerializer(allow_null=True)
    decided_by = UserRefSerializer(allow_null=True)
    version = serializers.IntegerField(source="version.number", allow_null=True, default=None)

    class Meta:
        model = PublishRequest
        fields = [
            "id",
            "workspace",
            "workflow",
            "workflow_name",
            "requested_by",
            "note",
            "source_revision",
            "status",
            "decided_by",
            "decided_at",
            "comment",
            "version",
            "created_at",
        ]


@extend_schema_serializer(component_name="PublishReviewDetail")
class PublishRequestDetailSerializer(PublishRequestSerializer):
    class Meta(PublishRequestSerializer.Meta):
        fields = [*PublishRequestSerializer.Meta.fields, "graph"]


class DecisionSerializer(StrictSerializerMixin, serializers.Serializer):
    decision = serializers.ChoiceField(["approve", "reject"])
    comment = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    roles = serializers.ListField(child=serializers.CharField())
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class InvitationCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    email = serializers.EmailField(required=False, default="", allow_blank=True)
    roles = serializers.JSONField()
    days = serializers.IntegerField(required=False, default=7)


class OutboundAllowSerializer(serializers.Serializer):
    """A workspace's outbound allow-list, entries in canonical spelling."""

    workspace = serializers.CharField(source="slug")
    entries = serializers.ListField(child=serializers.CharField(), source="outbound_allow")


@extend_schema_field({"type": "array", "items": {"type": "string"}, "maxItems": 100})
class AllowEntriesField(serializers.JSONField):
    """Taken as sent: the service checks the entries one by one (integrations.outbound
    owns their grammar), so that every error names its entry and its position."""


class OutboundAllowUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """The whole new list: host, host:port, *.domain, [v6]:port or CIDR entries."""

    entries = AllowEntriesField()
