"""Small factories for runs and steps as the engine would have recorded them.

Read-path tests (history, detail, pages) build the rows they read directly;
write paths (start, cancel, re-run) go through the real services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.conftest import make_workflow


def publish(workflow, user=None) -> Any:
    from builder.models import WorkflowVersion

    number = workflow.versions.count() + 1
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        number=number,
        graph=workflow.graph,
        source_revision=workflow.revision,
        created_by=user,
    )
    workflow.published_version = version
    workflow.save(update_fields=["published_version"])
    return version


def make_run(
    workflow=None, *, status: str = "succeeded", user=None, input: Any = None, **fields: Any
):
    from runtime.models import Run

    workflow = workflow or make_workflow()
    now = timezone.now()
    finished = status in ("succeeded", "failed", "cancelled")
    defaults: dict[str, Any] = {
        "workspace_id": workflow.workspace_id,
        "workflow": workflow,
        "graph": workflow.graph,
        "status": status,
        "input": {"name": "Ada"} if input is None else input,
        "started_by": user,
        "trigger_node": "start",
        "is_draft": True,
        "started_at": now - timedelta(milliseconds=1500) if status != "queued" else None,
        "finished_at": now if finished else None,
    }
    defaults.update(fields)
    return Run.objects.create(**defaults)


def make_step(run, node_id: str, *, status: str = "succeeded", visit: int = 1, **fields: Any):
    from runtime.models import Step

    now = timezone.now()
    finished = status in ("succeeded", "failed", "skipped", "cancelled")
    defaults: dict[str, Any] = {
        "run": run,
        "node_id": node_id,
        "visit": visit,
        "status": status,
        "attempts": 1 if status != "pending" else 0,
        "input": {"from": "upstream"},
        "started_at": now - timedelta(milliseconds=40)
        if status not in ("pending", "queued")
        else None,
        "finished_at": now if finished else None,
    }
    defaults.update(fields)
    return Step.objects.create(**defaults)


def finished_run(workflow, user=None, **fields: Any):
    """A succeeded run of ``simple_graph``: both steps recorded."""
    run = make_run(workflow, user=user, output={"shape": {"greeting": "Hi Ada"}}, **fields)
    make_step(run, "start", node_type="trigger.manual", output={"name": "Ada"})
    make_step(run, "shape", node_type="data.transform", output={"greeting": "Hi Ada"})
    return run
