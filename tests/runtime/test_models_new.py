"""runtime.models.new builds the engine's instances without Model.__init__;
they must be the instances Model(**values) would build."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from runtime.models import Run, RunEvent, Step, new


def fields(instance: object) -> dict:
    return {k: v for k, v in vars(instance).items() if k != "_state"}


@pytest.mark.parametrize(
    ("model", "values"),
    [
        (
            RunEvent,
            {
                "run_id": uuid.uuid4(),
                "seq": 3,
                "kind": "step",
                "node_id": "a",
                "visit": 1,
                "status": "running",
                "payload": {"attempt": 1},
                "at": datetime.now(UTC),
            },
        ),
        (
            Step,
            {"pk": 7, "node_id": "a", "visit": 2, "attempts": 1, "input": {"x": 1}, "wait": None},
        ),
        (Step, {"run_id": uuid.uuid4(), "node_id": "b", "visit": 1, "status": "queued"}),
        (
            Run,
            {
                "id": uuid.uuid4(),
                "status": "running",
                "event_seq": 4,
                "workflow_id": 1,
                "workspace_id": 2,
                "usage": {"input_tokens": 3},
                "cost_usd": 0.5,
            },
        ),
    ],
)
def test_an_instance_is_the_one_the_model_builds(model, values) -> None:
    built, expected = new(model, **dict(values)), model(**dict(values))
    assert fields(built) == fields(expected)
    assert built._state.adding and built._state.db is None


def test_defaults_made_by_a_call_are_not_shared() -> None:
    first, second = new(RunEvent), new(RunEvent)
    assert first.payload == {} and first.payload is not second.payload
    assert new(Run).id != new(Run).id


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(TypeError, match="run"):
        new(Step, run=None)  # the attribute is run_id
