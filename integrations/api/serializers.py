"""Credential shapes of contract section 4. The secret is write-only."""

from __future__ import annotations

from rest_framework import serializers

from config.api import StrictSerializerMixin
from integrations.models import Credential, CredentialKind

MAX_SECRET = 10_000


class CredentialSerializer(serializers.ModelSerializer):
    workspace = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    has_secret = serializers.BooleanField(read_only=True)
    is_test_double = serializers.BooleanField(
        read_only=True, help_text="True for scripted credentials: answers written in the config."
    )

    class Meta:
        model = Credential
        fields = [
            "id",
            "workspace",
            "name",
            "kind",
            "config",
            "has_secret",
            "disabled",
            "is_test_double",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CredentialCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    workspace = serializers.CharField(help_text="Workspace slug")
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=CredentialKind.choices)
    config = serializers.JSONField(required=False, default=dict)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        default="",
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_SECRET,
    )


class CredentialUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=CredentialKind.choices, required=False)
    config = serializers.JSONField(required=False)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_SECRET,
        help_text='A new secret; "" removes it; leave out to keep it.',
    )
    disabled = serializers.BooleanField(required=False, help_text="true is the kill switch.")


class CredentialChoiceSerializer(serializers.ModelSerializer):
    """What editors see to pick a credential for a node: never its config."""

    is_test_double = serializers.BooleanField(read_only=True)

    class Meta:
        model = Credential
        fields = ["id", "name", "kind", "disabled", "is_test_double"]
        read_only_fields = fields
