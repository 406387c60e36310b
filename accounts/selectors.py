"""Read paths for accounts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts import permissions
from accounts.models import Membership, Workspace


def workspaces_with_roles(user: Any) -> list[tuple[Workspace, list[str]]]:
    memberships = Membership.objects.filter(user_id=user.pk).select_related("workspace")
    return [(m.workspace, list(m.roles)) for m in memberships.order_by("workspace__name")]


def current_workspace(request: Any) -> Workspace | None:
    """The workspace the user last chose (session), else their first one."""
    workspaces = permissions.workspaces_for(request.user)
    slug = request.session.get("workspace") if hasattr(request, "session") else None
    chosen = workspaces.filter(slug=slug).first() if slug else None
    return chosen or workspaces.order_by("name").first()


def members_of(workspace: Workspace) -> QuerySet[Membership]:
    return workspace.memberships.select_related("user").order_by("user__username")
