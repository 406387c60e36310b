"""Read paths for workflows and versions, always scoped to the caller."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from accounts import permissions
from builder.models import Workflow, WorkflowVersion

SORTS = {
    "name": "name",
    "-name": "-name",
    "updated": "updated_at",
    "-updated": "-updated_at",
    "created": "created_at",
    "-created": "-created_at",
}


def workflows_for(user: Any, workspace_slug: str | None = None) -> QuerySet[Workflow]:
    queryset = permissions.visible(user, Workflow.objects.alive()).select_related(
        "workspace", "published_version"
    )
    if workspace_slug is not None:
        queryset = queryset.filter(workspace__slug=workspace_slug)
    return queryset


def search_workflows(
    queryset: QuerySet[Workflow], query: str = "", sort: str = "-updated"
) -> QuerySet[Workflow]:
    if query:
        queryset = queryset.filter(Q(name__icontains=query) | Q(description__icontains=query))
    return queryset.order_by(SORTS.get(sort, "-updated_at"), "name")


def workflow_for(user: Any, workflow_id: Any) -> Workflow:
    """The workflow if the caller may see it; NotVisible (404) otherwise."""
    workflow = workflows_for(user).filter(pk=workflow_id).first()
    if workflow is None:
        raise permissions.NotVisible
    return workflow


def versions_of(workflow: Workflow) -> QuerySet[WorkflowVersion]:
    return workflow.versions.select_related("created_by").order_by("-number")


def webhook_urls(workflow: Workflow) -> list[dict[str, str]]:
    """The webhook URLs of the published version's webhook triggers."""
    from builder import hooks

    return hooks.urls_for(workflow)
