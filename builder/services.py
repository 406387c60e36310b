"""Write paths for workflows: create, edit the draft, delete, publish.

Every write checks rights through accounts.permissions and validates the graph
through builder.graph. A draft may hold a graph with semantic problems (no
trigger yet, a half-filled config): the canvas saves as you build and shows the
problems. A graph whose *structure* is broken is refused and nothing changes.
Publishing and running refuse any error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import audit, permissions
from accounts.models import Workspace
from accounts.permissions import Action
from builder import graph as graph_doc
from builder import hooks
from builder.exceptions import GraphRejected, GraphTooLarge, StaleRevision
from builder.models import Workflow, WorkflowVersion
from builder.nodes import registry


def validate(document: Any) -> graph_doc.Validation:
    return graph_doc.validate(document, registry)


def _issues(issues: list[graph_doc.Issue]) -> list[dict[str, Any]]:
    return [issue.as_dict() for issue in issues]


def check_size(document: Any) -> None:
    size = len(json.dumps(document, separators=(",", ":")).encode())
    if size > graph_doc.MAX_DOCUMENT_BYTES:
        raise GraphTooLarge(
            f"The graph is {size:,} bytes; the limit is {graph_doc.MAX_DOCUMENT_BYTES:,}.",
            [{"field": "graph", "message": "too large"}],
        )


# Problems a draft may hold while someone is still building it; every other
# error means the document itself is malformed and is refused.
DRAFT_TOLERATED = frozenset(
    {
        "unknown_type",
        "invalid_config",
        "invalid_template",
        "invalid_expression",
        "unknown_reference",
        "unknown_port",
        "no_trigger",
        "cycle",
        "invalid_loop",
        "edge_into_trigger",
        "duplicate_edge",
        "reference_not_upstream",
    }
)


def is_structural(issue: graph_doc.Issue) -> bool:
    return issue.code not in DRAFT_TOLERATED


def check_storable(document: Any) -> graph_doc.Validation:
    """Refuse documents a draft cannot hold; return the full validation."""
    check_size(document)
    result = validate(document)
    structural = [issue for issue in result.errors if is_structural(issue)]
    if structural:
        raise GraphRejected(
            "The graph document is malformed.",
            [
                {**issue.as_dict(), "field": f"graph.{issue.field}".rstrip(".")}
                for issue in structural
            ],
        )
    return result


@dataclass(frozen=True)
class Saved:
    workflow: Workflow
    validation: graph_doc.Validation


def create_workflow(
    user: Any, workspace: Workspace, *, name: str, description: str = "", graph: Any = None
) -> Saved:
    permissions.check(user, Action.EDIT, workspace)
    document = graph if graph is not None else {"version": 1, "nodes": [], "edges": []}
    result = check_storable(document)
    with transaction.atomic():
        workflow = Workflow.objects.create(
            workspace=workspace,
            name=name,
            description=description,
            graph=document,
            created_by=user,
            updated_by=user,
        )
        audit.record(user, workspace, "workflow.created", obj=workflow, summary={"name": name})
    return Saved(workflow, result)


def update_workflow(
    user: Any, workflow: Workflow, *, revision: int | None, **changes: Any
) -> Saved:
    """Edit the draft with optimistic concurrency: ``revision`` must be current."""
    permissions.check(user, Action.EDIT, workflow)
    result = check_storable(changes["graph"]) if "graph" in changes else validate(workflow.graph)
    if revision is None and "graph" in changes:
        raise GraphRejected(
            "revision is required with graph.",
            [{"field": "revision", "message": "This field is required."}],
        )
    with transaction.atomic():
        queryset = Workflow.objects.alive().filter(pk=workflow.pk)
        if revision is not None:
            queryset = queryset.filter(revision=revision)
        updated = queryset.update(
            **changes, revision=F("revision") + 1, updated_by=user, updated_at=timezone.now()
        )
        if not updated:
            current = Workflow.objects.get(pk=workflow.pk)
            raise StaleRevision(
                f"The draft was changed since revision {revision}; the current revision is {current.revision}.",
                revision=current.revision,
                current_revision=current.revision,
            )
        audit.record(
            user,
            workflow.workspace_id,
            "workflow.updated",
            obj=workflow,
            summary={"fields": sorted(changes), "revision": revision},
        )
    workflow.refresh_from_db()
    transaction.on_commit(lambda: hooks.draft_saved(workflow, user))
    return Saved(workflow, result)


def delete_workflow(user: Any, workflow: Workflow) -> None:
    permissions.check(user, Action.EDIT, workflow)
    with transaction.atomic():
        Workflow.objects.filter(pk=workflow.pk).update(deleted_at=timezone.now())
        audit.record(
            user,
            workflow.workspace_id,
            "workflow.deleted",
            obj=workflow,
            summary={"name": workflow.name},
        )


def require_valid(document: Any) -> graph_doc.Validation:
    result = validate(document)
    if not result.valid:
        raise GraphRejected("The workflow has errors; fix them first.", _issues(result.errors))
    return result


@dataclass(frozen=True)
class Published:
    version: WorkflowVersion | None
    publish_request: Any = None

    @property
    def status(self) -> str:
        return "published" if self.version is not None else "pending"


def publish(user: Any, workflow: Workflow, note: str = "") -> Published:
    """Publish the draft as a new version, or, where the workspace requires
    review and the user is not an admin, create a publish request instead."""
    from accounts import services as account_services

    permissions.check(user, Action.EDIT, workflow)
    require_valid(workflow.graph)
    if permissions.needs_review(user, workflow.workspace):
        return Published(None, account_services.submit_publish_request(user, workflow, note))
    with transaction.atomic():
        version = create_version(user, workflow, note)
        audit.record(
            user,
            workflow.workspace_id,
            "workflow.published",
            obj=workflow,
            summary={"version": version.number, "note": note},
        )
    return Published(version)


@transaction.atomic
def create_version(
    user: Any, workflow: Workflow, note: str = "", graph: Any = None, revision: int | None = None
) -> WorkflowVersion:
    """Snapshot a graph as the next version and make it the published one."""
    locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
    last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
    version = WorkflowVersion.objects.create(
        workflow=locked,
        number=last + 1,
        graph=locked.graph if graph is None else graph,
        source_revision=locked.revision if revision is None else revision,
        note=note,
        created_by=user,
    )
    Workflow.objects.filter(pk=locked.pk).update(published_version=version)
    workflow.published_version = version
    hooks.published(workflow, version)
    return version


def starter_graph() -> dict[str, Any]:
    """What "New workflow" opens with: a manual trigger, ready to connect."""
    return {
        "version": 1,
        "nodes": [
            {
                "id": "start",
                "type": "trigger.manual",
                "name": "Start",
                "config": {},
                "position": {"x": 0, "y": 0},
            },
        ],
        "edges": [],
    }
