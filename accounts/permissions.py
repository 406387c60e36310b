"""The one place that answers "may this user do this to this object".

Roles and their rights are contract section 6. DRF permission classes, page
decorators, template helpers and WebSocket consumers all call this module;
no other code looks at a role.

Visibility rule: an object in a workspace the caller is not a member of
answers 404 (``NotVisible``), never 403, so ids cannot be probed. A member
lacking the right gets 403 (``NotAllowed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Membership, Role, Workspace


class Action(StrEnum):
    VIEW = "view"  # workflows, versions, runs and their data
    RUN = "run"  # start and cancel runs
    EDIT = "edit"  # create and edit drafts, submit for publishing
    PUBLISH = "publish"  # make a version live without review
    REVIEW_PUBLISH = "review_publish"  # decide publish requests
    APPROVE = "approve"  # decide approval tasks assigned to them or their role
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CREDENTIALS = "manage_credentials"
    MANAGE_SETTINGS = "manage_settings"
    VIEW_AUDIT = "view_audit"


RIGHTS: dict[str, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.RUNNER: frozenset({Action.VIEW, Action.RUN}),
    Role.EDITOR: frozenset({Action.VIEW, Action.RUN, Action.EDIT}),
    Role.APPROVER: frozenset({Action.VIEW, Action.APPROVE, Action.REVIEW_PUBLISH}),
    Role.ADMIN: frozenset(Action),
}
ROLE_NAMES = frozenset(role.value for role in Role)


class NotVisible(Http404):
    pass


class NotAllowed(PermissionDenied):
    pass


def _cache(user: Any) -> dict[int, frozenset[str]]:
    cache = getattr(user, "_baton_roles", None)
    if cache is None:
        cache = {
            m.workspace_id: frozenset(m.roles)
            for m in Membership.objects.filter(user_id=user.pk).only("workspace_id", "roles")
        }
        user._baton_roles = cache
    return cache


def forget(user: Any) -> None:
    """Drop cached roles (after a membership change, or on a long-lived socket)."""
    if hasattr(user, "_baton_roles"):
        del user._baton_roles


def roles_in(user: Any, workspace: Workspace | int) -> frozenset[str]:
    if user is None or not user.is_authenticated or not user.is_active:
        return frozenset()
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return _cache(user).get(workspace_id, frozenset())


def rights_in(user: Any, workspace: Workspace | int) -> frozenset[Action]:
    rights: set[Action] = set()
    for role in roles_in(user, workspace):
        rights |= RIGHTS.get(role, frozenset())
    return frozenset(rights)


def is_member(user: Any, workspace: Workspace | int) -> bool:
    return bool(roles_in(user, workspace))


def workspace_of(obj: Any) -> Workspace | int:
    """The workspace an object belongs to (a workspace is its own)."""
    if isinstance(obj, Workspace):
        return obj
    for attr in ("workspace_id", "workflow", "run"):
        value = getattr(obj, attr, None)
        if value is None:
            continue
        return value if attr == "workspace_id" else workspace_of(value)
    raise TypeError(f"{type(obj).__name__} has no workspace")


def can(user: Any, action: Action | str, obj: Any) -> bool:
    return Action(action) in rights_in(user, workspace_of(obj))


def check(user: Any, action: Action | str, obj: Any) -> None:
    """Raise NotVisible for non-members and NotAllowed for members without the right."""
    workspace = workspace_of(obj)
    if not is_member(user, workspace):
        raise NotVisible
    if Action(action) not in rights_in(user, workspace):
        raise NotAllowed


def may_decide_own(user: Any, author_id: int | None) -> bool:
    """Nobody reviews their own publish request or approves their own run's step."""
    return author_id is None or user.pk != author_id


def needs_review(user: Any, workspace: Workspace) -> bool:
    """Whether publishing by this user goes through a publish request.

    Admins hold PUBLISH and publish directly (contract section 6: "admin may
    publish"); everyone else who may edit submits a request while the
    workspace requires review.
    """
    return workspace.require_publish_review and not can(user, Action.PUBLISH, workspace)


def workspaces_for(user: Any) -> QuerySet[Workspace]:
    if user is None or not user.is_authenticated:
        return Workspace.objects.none()
    return Workspace.objects.filter(memberships__user_id=user.pk).distinct()


def visible(user: Any, queryset: QuerySet, workspace_field: str = "workspace") -> QuerySet:
    """Scope any queryset to the caller's workspaces."""
    if user is None or not user.is_authenticated:
        return queryset.none()
    ids = list(_cache(user))
    return queryset.filter(**{f"{workspace_field}__in": ids})


def valid_roles(names: Iterable[str]) -> list[str]:
    """The given role names, in canonical order; unknown names raise ValueError."""
    names = list(names)
    unknown = sorted(set(names) - ROLE_NAMES)
    if unknown:
        raise ValueError(f"Unknown role: {', '.join(unknown)}")
    return [role.value for role in Role if role.value in names]


def page_requires(action: Action | str, lookup: Any) -> Any:
    """Decorator for page views: ``lookup(request, **kwargs)`` returns the object."""

    def decorator(view: Any) -> Any:
        @wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            obj = lookup(request, **kwargs)
            check(request.user, action, obj)
            return view(request, obj, *args, **kwargs)

        return wrapper

    return decorator


# -- approval tasks (added by the approvals app, issue 7) ------------------------
# A task (approvals.models.ApprovalTask) names who may decide it: roles and
# usernames, widened by escalation (``current_roles()``, ``current_users()``).


def is_task_assignee(user: Any, task: Any) -> bool:
    """Named on the task, holding one of its roles, or a workspace admin."""
    roles = roles_in(user, task.workspace_id)
    if not roles:
        return False
    return (
        user.get_username() in task.current_users()
        or bool(roles & set(task.current_roles()))
        or Role.ADMIN in roles
    )


def task_refusal(user: Any, task: Any) -> str | None:
    """Why ``user`` may not decide ``task`` (in words for the reviewer), or None."""
    if Action.APPROVE not in rights_in(user, task.workspace_id):
        return "Your role in this workspace does not let you decide approvals."
    if not is_task_assignee(user, task):
        return "This approval is assigned to other people."
    if not task.allow_self_approval and not may_decide_own(user, task.started_by_id):
        return "You started this run, so someone else has to decide this approval."
    return None


def check_decide_task(user: Any, task: Any) -> None:
    """NotVisible for non-members, NotAllowed (with the reason) otherwise."""
    if not is_member(user, task.workspace_id):
        raise NotVisible
    reason = task_refusal(user, task)
    if reason is not None:
        raise NotAllowed(reason)


def may_decide_task(user: Any, task: Any) -> bool:
    return is_member(user, task.workspace_id) and task_refusal(user, task) is None
