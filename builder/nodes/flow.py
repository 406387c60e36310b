"""Flow nodes: wait (``flow.delay``), stop (``flow.fail``), and run other
workflows (``flow.subworkflow``, ``flow.map``).

``flow.subworkflow`` and ``flow.map`` start child runs (each child's
``parent_step`` is the step) and wait for them with ``Wait(reason="children")``
without holding a worker; :mod:`triggers.children` starts, watches and
collects them, and resumes the step when a child ends. A failed child fails
the step (docs/triggers.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from builder.nodes.base import NodeConfig, NodeContext, NodeError, NodeType, Result, Wait
from builder.nodes.data import invalid
from builder.nodes.registry import registry

MAX_DELAY_S = 30 * 24 * 3600


def _workflow_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid("must be a workflow id (a UUID such as 3f2b1c9e-...)") from None


#: A workflow named by its id, normalised to the canonical UUID text.
WorkflowId = Annotated[
    str, AfterValidator(_workflow_id), Field(json_schema_extra={"format": "uuid"})
]


# -- flow.delay ---------------------------------------------------------------


class DelayConfig(NodeConfig):
    seconds: float = Field(
        default=60,
        gt=0,
        le=MAX_DELAY_S,
        title="Wait (seconds)",
        description="How long to wait before continuing, in seconds (at most 30 days = 2592000).",
    )


@registry.register
class Delay(NodeType):
    key = "flow.delay"
    category = "flow"
    pure = True
    label = "Delay"
    description = "Pause this path of the workflow for a while, then continue with the same data."
    Config = DelayConfig
    output_schema = {"description": "Its input, unchanged.", "properties": {}}

    def run(self, ctx: NodeContext, config: DelayConfig, input: Any) -> Wait:
        # A durable timer: the engine stores the wait as a row and resumes the
        # step when it is due, so no worker sleeps.
        until = datetime.now(UTC) + timedelta(seconds=config.seconds)
        return Wait(reason="timer", until=until, state={"until": until.isoformat()})

    def resume(
        self, ctx: NodeContext, config: DelayConfig, input: Any, state: Mapping[str, Any]
    ) -> Result:
        return Result(input)


# -- flow.fail ----------------------------------------------------------------


class FailConfig(NodeConfig):
    message: str = Field(
        default="The workflow was stopped.",
        min_length=1,
        max_length=2000,
        title="Error message",
        description="Why the workflow stops here; shown on the failed run. May hold templates.",
    )


@registry.register
class Fail(NodeType):
    key = "flow.fail"
    category = "flow"
    pure = True
    label = "Fail"
    description = "Stop the run as failed with a message of your choice, for example when required data is missing."
    Config = FailConfig
    ports = ()
    output_schema = {
        "description": "This step never produces output: it always fails.",
        "properties": {},
    }

    def run(self, ctx: NodeContext, config: FailConfig, input: Any) -> Result:
        raise NodeError(config.message, type="WorkflowFailed")


# -- flow.subworkflow ---------------------------------------------------------


class SubworkflowConfig(NodeConfig):
    workflow: WorkflowId = Field(
        title="Workflow",
        description="The id of the workflow to run; its published version runs.",
    )
    input: Any = Field(
        default_factory=dict,
        title="Input",
        description="The child run's input, e.g. {{ input }} to pass this step's input on.",
    )


@registry.register
class Subworkflow(NodeType):
    key = "flow.subworkflow"
    category = "flow"
    label = "Run workflow"
    description = "Run another workflow as one step and continue with its result."
    Config = SubworkflowConfig
    output_schema = {
        "description": "The child run's output: an object with the output of each of its final steps, keyed by node id.",
        "type": "object",
        "properties": {},
    }

    def run(self, ctx: NodeContext, config: SubworkflowConfig, input: Any) -> Result | Wait:
        from triggers import children

        return children.run_subworkflow(ctx, config.workflow, config.input, {})

    def resume(
        self, ctx: NodeContext, config: SubworkflowConfig, input: Any, state: Mapping[str, Any]
    ) -> Result | Wait:
        from triggers import children

        return children.run_subworkflow(ctx, config.workflow, config.input, state)


# -- flow.map -----------------------------------------------------------------


class MapConfig(NodeConfig):
    items: list[Any] = Field(
        title="Items",
        description="The list to go through, usually a template such as {{ trigger.orders }}.",
    )
    workflow: WorkflowId = Field(
        title="Workflow",
        description="The id of the workflow run once per item; each run gets the item as its input.",
    )
    concurrency: int = Field(
        default=5,
        ge=1,
        le=50,
        title="Parallel runs",
        description="How many items are processed at the same time (1 to 50).",
    )


@registry.register
class Map(NodeType):
    key = "flow.map"
    category = "flow"
    label = "For each item"
    description = (
        "Run a workflow once for every item of a list and collect the results in the same order."
    )
    Config = MapConfig
    output_schema = {
        "description": "The child runs' outputs, in item order.",
        "type": "array",
        "items": {"type": "object"},
    }

    def run(self, ctx: NodeContext, config: MapConfig, input: Any) -> Result | Wait:
        from triggers import children

        return children.run_map(ctx, config.workflow, config.items, config.concurrency, {})

    def resume(
        self, ctx: NodeContext, config: MapConfig, input: Any, state: Mapping[str, Any]
    ) -> Result | Wait:
        from triggers import children

        return children.run_map(ctx, config.workflow, config.items, config.concurrency, state)
