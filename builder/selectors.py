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


def schedule_times(workflow: Workflow) -> list[Any]:
    """The published version's schedule triggers: objects with ``node_id``,
    ``cron``, ``timezone``, ``next_fire_at`` and ``last_fired_at``."""
    from builder import hooks

    return hooks.schedules_for(workflow)


def with_run_stats(queryset: QuerySet[Workflow]) -> QuerySet[Workflow]:
    """Annotate each workflow with its last run's status, its runs in the last
    24 hours, and the tokens and cost of all its runs."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast, Coalesce
    from django.utils import timezone

    from runtime.models import Run

    since = timezone.now() - timezone.timedelta(hours=24)
    last = Run.objects.filter(workflow=OuterRef("pk")).order_by("-created_at").values("status")[:1]
    totals = (
        Run.objects.filter(workflow=OuterRef("pk"))
        .values("workflow")
        .annotate(
            input_tokens=Sum(Cast(KT("usage__input_tokens"), IntegerField())),
            output_tokens=Sum(Cast(KT("usage__output_tokens"), IntegerField())),
            cost=Sum("cost_usd"),
        )
    )
    return queryset.annotate(
        last_run_status=Subquery(last),
        runs_24h=Count("runs", filter=Q(runs__created_at__gte=since), distinct=True),
        input_tokens=Coalesce(Subquery(totals.values("input_tokens")), 0),
        output_tokens=Coalesce(Subquery(totals.values("output_tokens")), 0),
        cost_usd=Coalesce(Subquery(totals.values("cost")), 0.0),
    )


def run_stats(workflow: Workflow) -> dict[str, Any]:
    return stats_of(with_run_stats(Workflow.objects.filter(pk=workflow.pk)).get())


def stats_of(row: Workflow) -> dict[str, Any]:
    return {
        "last_run_status": row.last_run_status,
        "runs_24h": row.runs_24h,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cost_usd": round(float(row.cost_usd), 8),
    }
