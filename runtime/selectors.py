"""Read paths for runs, steps and run events, always scoped to the caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from accounts import permissions
from runtime.models import Run, RunEvent, RunStatus, Step


class BadFilter(ValueError):
    """A list filter names something that cannot exist (400, not an empty list)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def runs_for(user: Any) -> QuerySet[Run]:
    """Every run the caller may see, newest first."""
    queryset = permissions.visible(user, Run.objects.all())
    return queryset.select_related("workflow", "started_by", "workspace").order_by(
        "-created_at", "-id"
    )


def parse_statuses(raw: str | Iterable[str] | None) -> list[str]:
    """``"failed"``, ``"failed,cancelled"`` or a list of them; unknown names raise BadFilter."""
    if not raw:
        return []
    names = raw.split(",") if isinstance(raw, str) else list(raw)
    statuses = [name.strip() for name in names if name.strip()]
    unknown = sorted(set(statuses) - set(RunStatus.values))
    if unknown:
        raise BadFilter("status", f"Unknown run status: {', '.join(unknown)}.")
    return statuses


def filter_runs(
    queryset: QuerySet[Run], *, workflow: Any = None, statuses: list[str] | None = None
) -> QuerySet[Run]:
    if workflow:
        queryset = queryset.filter(workflow_id=_uuid(workflow, "workflow"))
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return queryset


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadFilter(field, "Must be a workflow id.") from None


def run_for(user: Any, run_id: Any) -> Run:
    """The run if the caller may see it; NotVisible (404) otherwise."""
    run = runs_for(user).select_related("rerun_of", "parent_step").filter(pk=run_id).first()
    if run is None:
        raise permissions.NotVisible
    return run


def steps_of(run: Run) -> QuerySet[Step]:
    """A run's steps in the order they were created (the order they became ready)."""
    return run.steps.select_related("reused_from").order_by("id")


def events_of(run: Run, since: int = 0) -> QuerySet[RunEvent]:
    """Events after ``since`` (contract section 5: a reconnecting client's catch-up)."""
    return run.events.filter(seq__gt=since).order_by("seq")


def duration_ms(started_at: Any, finished_at: Any) -> int | None:
    if started_at is None or finished_at is None:
        return None
    return round((finished_at - started_at).total_seconds() * 1000)


def node_names(run: Run) -> dict[str, str]:
    """Node id -> display name from the run's graph snapshot (the name it had then)."""
    nodes = (run.graph or {}).get("nodes", [])
    return {
        node["id"]: node.get("name") or node["id"]
        for node in nodes
        if isinstance(node, dict) and "id" in node
    }


def rerunnable_nodes(run: Run) -> list[str]:
    """Nodes a re-run may start from: every node of the snapshot but its triggers."""
    nodes = (run.graph or {}).get("nodes", [])
    return [
        node["id"]
        for node in nodes
        if isinstance(node, dict) and not str(node.get("type", "")).startswith("trigger.")
    ]


def finished_run(run_id: Any) -> dict[str, Any] | None:
    """``{status, output, error}`` of run ``run_id`` once it has finished,
    else None. Unscoped: for a caller that started the run itself (a sync
    webhook waiting for its answer)."""
    from runtime.engine import sql

    return sql.finished_run(run_id)
