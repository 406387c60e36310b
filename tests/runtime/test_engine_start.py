"""Starting runs: versions, validation, input, rights; nothing half-created."""

from __future__ import annotations

import pytest

from accounts.permissions import NotAllowed, NotVisible
from builder.services import create_version
from runtime import services
from runtime.exceptions import RunRejected
from runtime.models import Run, RunEvent, Step
from tests.conftest import make_user
from tests.runtime.conftest import flow

T = {"id": "t", "type": "trigger.manual"}
SHAPE = {"id": "shape", "type": "data.transform", "config": {"output": {"v": "{{ trigger.v }}"}}}


def workflow_of(user, **trigger_config):
    return flow(user, [{**T, "config": trigger_config}, dict(SHAPE)], [("t", "shape")])


def nothing_created() -> bool:
    return not (Run.objects.exists() or Step.objects.exists() or RunEvent.objects.exists())


def test_a_run_pins_its_version_whatever_is_published_later(runner) -> None:
    workflow = workflow_of(runner)
    first = create_version(runner, workflow)
    workflow.graph["nodes"][1]["config"]["output"] = {"v": "changed"}
    workflow.save()
    create_version(runner, workflow)
    run = services.start_run(runner, workflow, input={"v": 7}, version=1)
    run.refresh_from_db()
    assert (run.version_id, run.version_number, run.is_draft) == (first.pk, 1, False)
    assert run.output == {"shape": {"v": 7}}
    latest = services.start_run(runner, workflow, input={"v": 7})
    latest.refresh_from_db()
    assert latest.version_number == 2 and latest.output == {"shape": {"v": "changed"}}
    by_text = services.start_run(runner, workflow, input={"v": 7}, version="1")
    assert by_text.version_number == 1


def test_an_unpublished_workflow_is_refused(runner) -> None:
    with pytest.raises(RunRejected) as caught:
        services.start_run(runner, workflow_of(runner), input={})
    assert caught.value.status == 400 and "published" in caught.value.detail
    assert nothing_created()


def test_a_missing_version_is_404(runner) -> None:
    workflow = workflow_of(runner)
    create_version(runner, workflow)
    with pytest.raises(RunRejected) as caught:
        services.start_run(runner, workflow, input={}, version=9)
    assert caught.value.status == 404
    with pytest.raises(RunRejected) as caught:
        services.start_run(runner, workflow, input={}, version="latest")
    assert caught.value.status == 400
    assert nothing_created()


def test_an_invalid_graph_is_refused_with_its_errors(runner) -> None:
    workflow = flow(runner, [T, {"id": "x", "type": "no.such.type"}], [("t", "x")])
    with pytest.raises(RunRejected) as caught:
        services.start_run(runner, workflow, input={}, version="draft")
    assert caught.value.status == 400
    assert any(error.get("node_id") == "x" for error in caught.value.errors)
    assert nothing_created()


def test_input_must_match_the_trigger_schema(runner) -> None:
    schema = {"type": "object", "required": ["v"], "properties": {"v": {"type": "integer"}}}
    workflow = workflow_of(runner, input_schema=schema)
    with pytest.raises(RunRejected) as caught:
        services.start_run(runner, workflow, input={"v": "seven"}, version="draft")
    assert caught.value.status == 400
    assert caught.value.errors and caught.value.errors[0]["field"] == "input"
    assert nothing_created()
    run = services.start_run(runner, workflow, input={"v": 7}, version="draft")
    run.refresh_from_db()
    assert run.status == "succeeded"


def test_rights_are_checked_by_the_permission_module(runner, outsider) -> None:
    workflow = workflow_of(runner)
    viewer = make_user(workspace=workflow.workspace, roles=["viewer"])
    with pytest.raises(NotAllowed):
        services.start_run(viewer, workflow, input={}, version="draft")
    with pytest.raises(NotVisible):
        services.start_run(outsider, workflow, input={}, version="draft")
    assert nothing_created()
    run = services.start_run(None, workflow, input={"v": 1}, version="draft", trigger_kind="manual")
    assert run.started_by is None
    with pytest.raises(NotAllowed):
        services.cancel_run(viewer, run)
    with pytest.raises(NotAllowed):
        services.rerun(viewer, run, "shape")


def test_rerun_refuses_an_unknown_node_or_missing_upstream(runner) -> None:
    nodes = [T, {"id": "boom", "type": "flow.fail", "config": {}}, dict(SHAPE)]
    workflow = flow(runner, nodes, [("t", "boom"), ("t", "shape")])
    run = services.start_run(runner, workflow, input={}, version="draft")
    with pytest.raises(RunRejected):
        services.rerun(runner, run, "nope")
    assert Run.objects.count() == 1


def test_a_workflow_of_only_a_trigger_succeeds_at_start_with_its_input(runner) -> None:
    workflow = flow(runner, [{**T, "config": {}}], [])
    run = services.start_run(runner, workflow, input={"v": 3}, version="draft")
    run.refresh_from_db()
    assert (run.status, run.output) == ("succeeded", {"t": {"v": 3}})
    assert [e.status for e in RunEvent.objects.filter(run=run, kind="run")] == [
        "queued",
        "succeeded",
    ]
