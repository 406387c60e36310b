"""Trigger nodes: how a run starts (contract section 1.1, rule 1).

A trigger's output is the run's input payload, which the runtime stores when
it starts the run (``ctx.expression_context["trigger"]``). So every trigger's
``run`` just returns it; what differs is how the runtime builds that payload
(a person or script, an HTTP call, the clock, another workflow's end).

Every trigger's config is valid when empty, so a trigger dropped on the
canvas (or ``{"type": "trigger.manual", "config": {}}``) is ready to run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import Field, field_validator

from builder.nodes.base import NodeConfig, NodeContext, NodeType, Result
from builder.nodes.data import check_json_schema, invalid, schema_errors
from builder.nodes.flow import WorkflowId
from builder.nodes.registry import registry

CRON_SHORTCUTS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


class Trigger(NodeType):
    """The shared behaviour of triggers: no error port, output = run input."""

    category = "trigger"
    pure = True
    is_trigger = True

    def run(self, ctx: NodeContext, config: Any, input: Any) -> Result:
        return Result(ctx.expression_context.get("trigger"))


# -- trigger.manual -----------------------------------------------------------


class ManualConfig(NodeConfig):
    input_schema: dict[str, Any] | None = Field(
        default=None,
        title="Input schema",
        description=(
            "Optional JSON Schema the run input must match, e.g. "
            '{"type": "object", "required": ["message"]}; leave empty to accept any input.'
        ),
    )

    @field_validator("input_schema")
    @classmethod
    def _is_json_schema(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if schema is None else check_json_schema(schema)


@registry.register
class Manual(Trigger):
    key = "trigger.manual"
    label = "Manual start"
    description = "Start the workflow by hand, from the app or the API, with input you provide."
    Config = ManualConfig
    output_schema = {
        "description": "The run input, as given when the run was started.",
        "type": "object",
        "properties": {},
    }

    def check_input(self, config: ManualConfig | Mapping[str, Any], payload: Any) -> list[str]:
        """Why ``payload`` may not start a run (``"<JSON path>: <message>"``
        each), or an empty list. The runtime calls it before a run starts.
        ``config`` is the node's config, parsed or raw (a raw one must be
        valid); a ``$ref`` the schema cannot resolve raises NodeError."""
        parsed = config if isinstance(config, ManualConfig) else self.parse_config(config)
        assert isinstance(parsed, ManualConfig)
        if parsed.input_schema is None:
            return []
        return schema_errors(parsed.input_schema, payload)


# -- trigger.webhook ----------------------------------------------------------


class WebhookConfig(NodeConfig):
    mode: Literal["async", "sync"] = Field(
        default="async",
        title="Response",
        description=(
            "async: answer 202 with the run id at once; "
            "sync: wait for the run and answer with its output."
        ),
    )
    signing_credential: str | None = Field(
        default=None,
        min_length=1,
        title="Signing credential",
        description="Optional credential (id or name) whose secret signs incoming calls; unsigned calls are refused.",
    )


@registry.register
class Webhook(Trigger):
    key = "trigger.webhook"
    label = "Webhook"
    description = "Start the workflow when another system sends an HTTP request to this workflow's web address."
    Config = WebhookConfig
    output_schema = {
        "type": "object",
        "description": "The HTTP request that started the run.",
        "properties": {
            "body": {"description": "The request body: parsed JSON, or text."},
            "headers": {"type": "object", "description": "Request headers, names in lower case."},
            "query": {"type": "object", "description": "Query-string parameters."},
            "method": {"type": "string", "description": "The HTTP method, e.g. POST."},
        },
    }


# -- trigger.schedule ---------------------------------------------------------


class ScheduleConfig(NodeConfig):
    cron: str = Field(
        default="0 9 * * 1-5",
        title="Schedule (cron)",
        description=(
            "When to run, as a five-field cron expression (minute hour day month weekday), "
            'e.g. "0 9 * * 1-5" for 9:00 on weekdays, or a shortcut such as @daily.'
        ),
    )
    timezone: str = Field(
        default="UTC",
        title="Time zone",
        description="The time zone the schedule is read in, e.g. Europe/Paris.",
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        title="Payload",
        description="Fixed data added to every scheduled run's input, next to scheduled_at.",
    )
    missed: Literal["skip", "run_once"] = Field(
        default="skip",
        title="Missed runs",
        description=(
            "What to do with times missed while Baton was down: skip them, or run once "
            "for all of them when it is back."
        ),
    )

    @field_validator("cron")
    @classmethod
    def _is_cron(cls, cron: str) -> str:
        cron = " ".join(cron.split())
        if cron.startswith("@"):
            if cron.lower() not in CRON_SHORTCUTS:
                raise invalid(f"unknown shortcut; use one of {', '.join(CRON_SHORTCUTS)}")
            return cron.lower()
        if len(cron.split(" ")) != 5:
            raise invalid("must have five fields: minute hour day-of-month month day-of-week")
        if not croniter.is_valid(cron):
            raise invalid(f"{cron!r} is not a valid cron expression")
        try:
            croniter(cron, datetime.now(UTC)).get_next(datetime)
        except CroniterError:
            raise invalid(f"{cron!r} never matches a real date") from None
        return cron

    @field_validator("timezone")
    @classmethod
    def _is_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise invalid(
                f"unknown time zone {name!r}; use an IANA name such as Europe/Paris"
            ) from None
        return name

    @field_validator("payload")
    @classmethod
    def _keeps_scheduled_at(cls, payload: dict[str, Any]) -> dict[str, Any]:
        if "scheduled_at" in payload:
            raise invalid("scheduled_at is set by the scheduler; choose another key")
        return payload


@registry.register
class Schedule(Trigger):
    key = "trigger.schedule"
    label = "Schedule"
    description = "Start the workflow automatically at set times, such as every weekday at 9:00."
    Config = ScheduleConfig
    output_schema = {
        "type": "object",
        "description": "When the run was due, plus the configured payload's fields.",
        "properties": {
            "scheduled_at": {
                "type": "string",
                "format": "date-time",
                "description": "The moment this run was scheduled for (ISO 8601, with offset).",
            },
        },
        "additionalProperties": True,
    }


# -- trigger.event ------------------------------------------------------------


class EventConfig(NodeConfig):
    workflow: WorkflowId | None = Field(
        default=None,
        title="Workflow",
        description="The id of the workflow to watch. Until one is chosen, this trigger never fires.",
    )
    on: Literal["succeeded", "failed", "finished"] = Field(
        default="succeeded",
        title="When its run",
        description="succeeded, failed, or finished (any end, whatever its status).",
    )


@registry.register
class Event(Trigger):
    key = "trigger.event"
    label = "After another workflow"
    description = "Start the workflow when a run of another workflow succeeds, fails or finishes."
    Config = EventConfig
    output_schema = {
        "type": "object",
        "description": "The run of the watched workflow that just ended.",
        "properties": {
            "run_id": {"type": "string", "description": "The id of that run."},
            "status": {
                "type": "string",
                "enum": ["succeeded", "failed", "cancelled"],
                "description": "How that run ended.",
            },
            "output": {"description": "That run's output (an object keyed by node id)."},
        },
    }
