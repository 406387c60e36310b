"""Per-run budgets: the AI step that would pass a cap fails with BudgetExceeded
(or takes its error port), and what it spent still counts."""

from __future__ import annotations

from typing import Any

import pytest

from integrations import services as integration_services
from runtime import services
from runtime.models import Run
from tests.runtime.conftest import flow

REPLY = "x" * 400  # about 100 estimated tokens per answer


@pytest.fixture
def scripted(runner: Any) -> Any:
    workspace = runner.memberships.first().workspace
    integration_services.create_credential(
        None, workspace, name="double", kind="scripted", config={"default": REPLY}
    )
    return runner


def llm(node_id: str) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "ai.llm",
        "config": {"credential": "double", "model": "m", "prompt": "Hi"},
    }


def run_with(user: Any, settings: dict, *, error_route: bool = False) -> Run:
    nodes = [{"id": "start", "type": "trigger.manual"}, llm("first"), llm("second")]
    edges = [("start", "first"), ("first", "second")]
    if error_route:
        nodes.append(
            {"id": "apologise", "type": "data.transform", "config": {"output": {"ok": False}}}
        )
        edges.append(("second", "apologise", "error"))
    workflow = flow(user, nodes, edges)
    workflow.settings = settings
    workflow.save(update_fields=["settings"])
    run = services.start_run(user, workflow, input={}, version="draft")
    return Run.objects.get(pk=run.pk)


def test_without_caps_both_steps_run(scripted: Any) -> None:
    run = run_with(scripted, {})
    assert run.status == "succeeded"
    assert run.usage["output_tokens"] >= 200


def test_the_step_that_passes_the_token_cap_fails_the_run(scripted: Any) -> None:
    run = run_with(scripted, {"max_tokens_per_run": 150})
    steps = {step.node_id: step for step in run.steps.all()}
    assert steps["first"].status == "succeeded"
    assert steps["second"].status == "failed"
    assert steps["second"].error["type"] == "BudgetExceeded"
    assert "max_tokens_per_run" in steps["second"].error["message"]
    assert run.status == "failed"
    # the tokens the failing step spent are still counted, on it and on the run
    assert steps["second"].usage["output_tokens"] > 0
    assert run.usage["output_tokens"] == sum(
        s.usage.get("output_tokens", 0) for s in steps.values()
    )


def test_a_budget_failure_takes_the_error_port(scripted: Any) -> None:
    run = run_with(scripted, {"max_tokens_per_run": 150}, error_route=True)
    steps = {step.node_id: step for step in run.steps.all()}
    assert steps["second"].port == "error"
    assert steps["apologise"].status == "succeeded"
    assert run.status == "succeeded"


def test_nothing_runs_after_the_cap_is_passed(scripted: Any) -> None:
    run = run_with(scripted, {"max_cost_usd_per_run": 0.0, "max_tokens_per_run": 50})
    steps = {step.node_id: step for step in run.steps.all()}
    assert steps["first"].error["type"] == "BudgetExceeded"
    assert "second" not in steps or steps["second"].status in ("skipped", "cancelled")
    assert run.status == "failed"
