"""Django admin for staff. Audit events, tokens and publish requests are read-only
here: the audit log is append-only, and tokens and reviews change through
their services, which record what they do."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import (
    ApiToken,
    AuditEvent,
    Invitation,
    Membership,
    PublishRequest,
    User,
    Workspace,
)

admin.site.register(User, UserAdmin)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    # The outbound allow-list changes only through its service, which
    # validates the entries and records the change in the audit log.
    readonly_fields = ("outbound_allow",)


admin.site.register(Membership)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "chain",
        "seq",
        "actor_name",
        "action",
        "object_repr",
        "ip_address",
    ]
    list_filter = ["action"]
    search_fields = ["actor_name", "action", "object_id"]


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "user",
        "prefix",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    exclude = ["key_hash"]


@admin.register(PublishRequest)
class PublishRequestAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "requested_by", "status", "decided_by", "created_at"]
    list_filter = ["status"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = [
        "workspace",
        "email",
        "created_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    exclude = ["token_hash"]
