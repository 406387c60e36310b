"""Read paths for accounts, always scoped to the caller."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from accounts import permissions
from accounts.models import ApiToken, AuditEvent, Invitation, Membership, PublishRequest, Workspace


def workspaces_with_roles(user: Any) -> list[tuple[Workspace, list[str]]]:
    memberships = Membership.objects.filter(user_id=user.pk).select_related("workspace")
    return [(m.workspace, list(m.roles)) for m in memberships.order_by("workspace__name")]


def current_workspace(request: Any) -> Workspace | None:
    """The workspace the user last chose (session), else their first one."""
    workspaces = permissions.workspaces_for(request.user)
    slug = request.session.get("workspace") if hasattr(request, "session") else None
    chosen = workspaces.filter(slug=slug).first() if slug else None
    return chosen or workspaces.order_by("name").first()


def workspace_for(user: Any, slug: str) -> Workspace:
    """A workspace the caller belongs to; NotVisible (404) otherwise."""
    workspace = permissions.workspaces_for(user).filter(slug=slug).first()
    if workspace is None:
        raise permissions.NotVisible
    return workspace


def members_of(workspace: Workspace) -> QuerySet[Membership]:
    return workspace.memberships.select_related("user").order_by("user__username")


def member_of(workspace: Workspace, user_id: Any) -> Membership:
    membership = members_of(workspace).filter(user_id=user_id).first()
    if membership is None:
        raise permissions.NotVisible
    return membership


def open_invitations(workspace: Workspace) -> QuerySet[Invitation]:
    return workspace.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("created_by")


def invitation_in(workspace: Workspace, invitation_id: Any) -> Invitation:
    invitation = workspace.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise permissions.NotVisible
    return invitation


def tokens_of(user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at")


def token_of(user: Any, token_id: Any) -> ApiToken:
    token = tokens_of(user).filter(pk=token_id).first()
    if token is None:
        raise permissions.NotVisible
    return token


# -- publish requests ----------------------------------------------------------


def publish_requests_for(user: Any, workspace: Workspace | None = None) -> QuerySet[PublishRequest]:
    """Every member sees the requests of their workspaces (like workflows); deciding
    needs REVIEW_PUBLISH, checked by the service."""
    queryset = permissions.visible(user, PublishRequest.objects.all()).select_related(
        "workspace", "workflow", "requested_by", "decided_by", "version"
    )
    if workspace is not None:
        queryset = queryset.filter(workspace=workspace)
    return queryset


def publish_request_for(user: Any, request_id: Any) -> PublishRequest:
    publish_request = publish_requests_for(user).filter(pk=request_id).first()
    if publish_request is None:
        raise permissions.NotVisible
    return publish_request


def pending_publish_requests(user: Any, workspace: Workspace) -> QuerySet[PublishRequest]:
    return publish_requests_for(user, workspace).filter(status=PublishRequest.Status.PENDING)


# -- audit log ---------------------------------------------------------------


def _day_bound(day: date | None, end: bool) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


def audit_events(
    workspace: Workspace,
    *,
    actor: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    queryset = AuditEvent.objects.filter(workspace_id=workspace.pk)
    if actor:
        queryset = queryset.filter(actor_name__iexact=actor)
    if action:
        queryset = queryset.filter(action__startswith=action)
    if since:
        queryset = queryset.filter(created_at__gte=_day_bound(since, end=False))
    if until:
        queryset = queryset.filter(created_at__lte=_day_bound(until, end=True))
    return queryset.order_by("-created_at", "-id")


def audit_actions(workspace: Workspace) -> list[str]:
    return list(
        AuditEvent.objects.filter(workspace_id=workspace.pk)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
