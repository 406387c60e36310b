"""Starting, re-running and cancelling a run are recorded in the audit log."""

from __future__ import annotations

from typing import Any

from accounts.models import AuditEvent
from runtime import services
from tests.runtime.conftest import flow


def test_start_rerun_and_cancel_are_audited(runner: Any) -> None:
    workflow = flow(
        runner,
        [
            {"id": "start", "type": "trigger.manual"},
            {"id": "wait", "type": "flow.delay", "config": {"seconds": 600}},
        ],
        [("start", "wait")],
    )
    run = services.start_run(runner, workflow, input={"x": 1}, version="draft")
    services.cancel_run(runner, run)
    again = services.rerun(runner, run, "wait")
    actions = list(
        AuditEvent.objects.filter(workspace_id=workflow.workspace_id)
        .order_by("id")
        .values_list("action", "actor_id")
    )
    assert ("run.started", runner.pk) in actions
    assert ("run.cancelled", runner.pk) in actions
    rerun_event = AuditEvent.objects.filter(action="run.started").order_by("-id").first()
    assert rerun_event.summary["rerun_of"] == str(run.pk) and again.pk != run.pk
