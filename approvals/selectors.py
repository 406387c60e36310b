"""Read paths of approvals, always scoped to the caller.

Who may decide a task is answered by ``accounts.permissions.may_decide_task``
(never a role check here); the pending tasks of the caller's workspaces are
loaded and filtered through it. An inbox holds tens of tasks, not thousands;
``MAX_PENDING`` bounds the work per request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts import permissions
from approvals.models import ApprovalTask, TaskStatus

MAX_PENDING = 500
STATUS_FILTERS = {
    "pending": [TaskStatus.PENDING],
    "decided": [TaskStatus.APPROVED, TaskStatus.REJECTED],
    "closed": [
        TaskStatus.APPROVED,
        TaskStatus.REJECTED,
        TaskStatus.TIMED_OUT,
        TaskStatus.CANCELLED,
    ],
    **{status.value: [status] for status in TaskStatus},
}


class BadFilter(ValueError):
    pass


@dataclass(frozen=True)
class InboxFilter:
    status: str = "pending"
    workflow: str = ""
    query: str = ""
    workspace_id: int | None = None


def visible_tasks(user: Any) -> QuerySet[ApprovalTask]:
    return permissions.visible(user, ApprovalTask.objects.all()).select_related(
        "run", "run__workflow", "started_by"
    )


def task_for(user: Any, task_id: Any) -> ApprovalTask:
    """A task in one of the caller's workspaces; NotVisible (404) otherwise."""
    task = visible_tasks(user).filter(pk=task_id).first() if _is_uuid(str(task_id)) else None
    if task is None:
        raise permissions.NotVisible
    return task


def tasks_for(user: Any, wanted: InboxFilter) -> list[ApprovalTask]:
    """Tasks the caller may decide (pending), or has seen decided (other
    statuses: those in their workspaces they were assigned to or decided)."""
    statuses = STATUS_FILTERS.get(wanted.status)
    if statuses is None:
        raise BadFilter(f"Unknown status {wanted.status!r}.")
    tasks = visible_tasks(user).filter(status__in=statuses)
    if wanted.workspace_id is not None:
        tasks = tasks.filter(workspace_id=wanted.workspace_id)
    if wanted.workflow:
        tasks = (
            tasks.filter(run__workflow_id=wanted.workflow)
            if _is_uuid(wanted.workflow)
            else tasks.none()
        )
    if wanted.query:
        tasks = tasks.filter(title__icontains=wanted.query)
    if statuses == [TaskStatus.PENDING]:
        # not those this person approved already: they wait for other people
        tasks = tasks.exclude(decisions__user_id=user.pk).order_by("-created_at")[:MAX_PENDING]
        return [task for task in tasks if permissions.may_decide_task(user, task)]
    tasks = tasks.order_by("-created_at")[:MAX_PENDING]
    return [task for task in tasks if _involved(user, task)]


def _involved(user: Any, task: ApprovalTask) -> bool:
    return (
        permissions.is_task_assignee(user, task) or task.decisions.filter(user_id=user.pk).exists()
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def pending_count(user: Any, workspace_id: int | None = None) -> int:
    return len(tasks_for(user, InboxFilter(workspace_id=workspace_id)))


def decisions_of(task: ApprovalTask) -> QuerySet:
    return task.decisions.order_by("created_at", "id")
