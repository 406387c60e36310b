"""Approval fixtures: a workflow whose draft waits for a reviewer, run by the
real engine (tasks executed eagerly when the dispatching transaction commits,
exactly as a worker would pick them up)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_user, make_workflow, make_workspace
from tests.runtime.conftest import Clock, engine  # noqa: F401  (fixture)

DRAFT = "Dear {{ trigger.name }}, thank you for writing."


def approval_graph(**review: Any) -> dict[str, Any]:
    """start -> draft -> review -> sent (approved) | dropped (rejected) | late (timeout)."""
    config = {
        "title": "Reply to {{ trigger.name }}",
        "instructions": "Check the **tone** of the reply.",
        "data": {"customer": "{{ trigger.name }}", "message": "{{ trigger.message }}"},
        "fields": {
            "type": "object",
            "properties": {
                "reply": {
                    "type": "string",
                    "title": "Reply",
                    "default": "{{ nodes.draft.output.text }}",
                },
                "priority": {"type": "string", "enum": ["low", "high"], "default": "low"},
            },
            "required": ["reply"],
        },
        "assignees": {"roles": ["approver"]},
        **review,
    }
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "trigger.manual", "config": {}},
            {"id": "draft", "type": "data.transform", "config": {"output": {"text": DRAFT}}},
            {"id": "review", "type": "human.approval", "config": config},
            {
                "id": "sent",
                "type": "data.transform",
                "config": {
                    "output": {
                        "reply": "{{ nodes.review.output.data.reply }}",
                        "by": "{{ nodes.review.output.decided_by }}",
                    }
                },
            },
            {
                "id": "dropped",
                "type": "data.transform",
                "config": {"output": {"why": "{{ nodes.review.output.comment }}"}},
            },
            {"id": "late", "type": "data.transform", "config": {"output": {"late": True}}},
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "draft"},
            {"id": "e2", "source": "draft", "target": "review"},
            {"id": "e3", "source": "review", "source_port": "approved", "target": "sent"},
            {"id": "e4", "source": "review", "source_port": "rejected", "target": "dropped"},
            {"id": "e5", "source": "review", "source_port": "timeout", "target": "late"},
        ],
    }


class Team:
    """A workspace with a starter (runner), two approvers, a viewer and an admin."""

    def __init__(self) -> None:
        self.workspace = make_workspace("acme")
        self.starter = make_user("sam", workspace=self.workspace, roles=["runner", "approver"])
        self.ann = make_user("ann", workspace=self.workspace, roles=["approver"])
        self.bob = make_user("bob", workspace=self.workspace, roles=["approver"])
        self.vera = make_user("vera", workspace=self.workspace, roles=["viewer"])
        self.boss = make_user("boss", workspace=self.workspace, roles=["editor"])
        for person in (self.starter, self.ann, self.bob, self.vera, self.boss):
            person.email = f"{person.username}@example.com"
            person.save(update_fields=["email"])

    def start(self, input: dict | None = None, **review: Any) -> Any:
        from runtime import services

        workflow = make_workflow(self.workspace, graph=approval_graph(**review), user=self.starter)
        run = services.start_run(
            self.starter,
            workflow,
            input=input or {"name": "Ada", "message": "Where is my order?"},
            version="draft",
        )
        run.refresh_from_db()
        return run


@pytest.fixture
def team(engine: Any) -> Team:  # noqa: F811
    return Team()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def task_of(run: Any) -> Any:
    from approvals.models import ApprovalTask

    return ApprovalTask.objects.get(run=run, node_id="review")


def reload(run: Any) -> Any:
    run.refresh_from_db()
    return run
