"""Navigation context: what the signed-in user may reach, decided by the permission module."""

from __future__ import annotations

from typing import Any

from accounts import permissions, selectors


def navigation(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    workspace = selectors.current_workspace(request)
    rights = permissions.rights_in(user, workspace) if workspace else frozenset()
    return {
        "current_workspace": workspace,
        "user_workspaces": permissions.workspaces_for(user).order_by("name"),
        "rights": {action.value: action in rights for action in permissions.Action},
    }
