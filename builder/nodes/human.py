"""``human.approval``: a person reviews, may edit, and approves or rejects.

The node never touches models: it talks to an :class:`ApprovalDesk`, which
the ``approvals`` app installs when Django starts (``approvals.desk``). The
desk turns an :class:`ApprovalRequest` into a task row; the step then waits
(``Wait(reason="approval")``), holding no worker, until a decision or the
time limit resumes it. Because the task is a row, a restart loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from builder.nodes.base import NodeConfig, NodeContext, NodeError, NodeType, Result, Wait
from builder.nodes.data import check_json_schema, invalid
from builder.nodes.registry import registry

MAX_WAIT_S = 365 * 24 * 3600


class People(BaseModel):
    """Who may act: members holding one of ``roles``, or the named ``users``."""

    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(
        default_factory=list,
        title="Roles",
        description="Workspace roles whose members may decide, e.g. approver.",
    )
    users: list[str] = Field(
        default_factory=list,
        title="People",
        description="Usernames of people who may decide.",
    )

    @field_validator("roles", "users")
    @classmethod
    def _no_blank_names(cls, names: list[str]) -> list[str]:
        if any(not name.strip() for name in names):
            raise invalid("names may not be empty")
        return list(dict.fromkeys(names))

    @model_validator(mode="after")
    def _someone(self) -> People:
        if not self.roles and not self.users:
            raise invalid("name at least one role or user")
        return self


class ApprovalConfig(NodeConfig):
    title: str = Field(
        default="Please review",
        min_length=1,
        max_length=200,
        title="Title",
        description="What the reviewer sees in their task list. May hold templates.",
    )
    instructions: str = Field(
        default="",
        max_length=10000,
        title="Instructions",
        description="What to check and how to decide (Markdown). May hold templates.",
    )
    data: Any = Field(
        default=None,
        title="Data to show",
        description="What the reviewer sees, e.g. {{ nodes.draft.output }}.",
    )
    fields: dict[str, Any] = Field(
        default_factory=dict,
        title="Editable fields",
        description=(
            "A JSON Schema of the fields the reviewer may edit, e.g. "
            '{"type": "object", "properties": {"reply": {"type": "string", '
            '"default": "{{ nodes.draft.output.text }}"}}}; defaults may hold templates.'
        ),
    )
    assignees: People = Field(
        default_factory=lambda: People(roles=["approver"]),
        title="Who decides",
        description="The roles and people who may approve or reject.",
    )
    required_approvals: int = Field(
        default=1,
        ge=1,
        le=20,
        title="Approvals needed",
        description="How many different people must approve; a single rejection rejects.",
    )
    allow_self_approval: bool = Field(
        default=False,
        title="Allow self-approval",
        description="Whether the person who started the run may approve it.",
    )
    timeout_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_WAIT_S,
        title="Time limit (seconds)",
        description="After this long without a decision the step ends on the timeout path; empty waits forever.",
    )
    escalate_after_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_WAIT_S,
        title="Escalate after (seconds)",
        description="After this long without a decision, the people in Escalate to may decide as well.",
    )
    escalate_to: People | None = Field(
        default=None,
        validate_default=True,
        title="Escalate to",
        description="The roles and people added when the task escalates.",
    )
    auto_approve_if: str | None = Field(
        default=None,
        min_length=1,
        title="Approve automatically if",
        description="An expression without braces; when true the step approves at once, e.g. input.amount < 100.",
    )

    @field_validator("fields")
    @classmethod
    def _is_json_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        return check_json_schema(schema) if schema else schema

    @field_validator("escalate_after_s")
    @classmethod
    def _before_timeout(cls, seconds: float | None, info: ValidationInfo) -> float | None:
        timeout = info.data.get("timeout_s")
        if seconds is not None and timeout is not None and seconds >= timeout:
            raise invalid(
                "must be shorter than timeout_s, or the task times out before it escalates"
            )
        return seconds

    @field_validator("escalate_to")
    @classmethod
    def _with_escalate_after(cls, people: People | None, info: ValidationInfo) -> People | None:
        if "escalate_after_s" not in info.data:
            return people  # escalate_after_s is itself invalid and reported
        if (people is None) != (info.data["escalate_after_s"] is None):
            raise invalid("escalate_to and escalate_after_s go together: set both or neither")
        return people


@registry.register
class Approval(NodeType):
    key = "human.approval"
    category = "human"
    label = "Approval"
    description = "Pause the workflow until a person reviews the data, optionally edits it, and approves or rejects."
    Config = ApprovalConfig
    ports = ("approved", "rejected", "timeout")
    expression_fields = ("auto_approve_if",)
    output_schema = {
        "type": "object",
        "description": "The decision and the data as the reviewer left it.",
        "properties": {
            "decision": {
                "type": "string",
                "enum": ["approved", "rejected", "timeout"],
                "description": "How the step ended.",
            },
            "decided_by": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Who decided: the approving or rejecting people's usernames (empty for a timeout, and for an automatic approval, whose output also holds automatic: true).",
            },
            "comment": {"type": "string", "description": "The reviewer's comment."},
            "data": {
                "type": "object",
                "description": "The editable fields, with the reviewer's edits applied.",
            },
            "changes": {
                "type": "object",
                "description": "Only the fields the reviewer changed: {field: {from, to}}.",
            },
        },
    }

    def run(self, ctx: NodeContext, config: ApprovalConfig, input: Any) -> Result | Wait:
        # The engine has rendered every template in the config (the field
        # defaults included) except auto_approve_if, a bare expression.
        request = approval_request(config)
        if config.auto_approve_if and ctx.evaluate(config.auto_approve_if):
            return Result(desk().approve_automatically(ctx, request), port="approved")
        ticket = desk().open(ctx, request)
        return Wait(reason="approval", until=ticket.due_at, state={"task": ticket.task_id})

    def resume(
        self, ctx: NodeContext, config: ApprovalConfig, input: Any, state: Mapping[str, Any]
    ) -> Result | Wait:
        """Woken by a decision or by the time limit: the task row says which."""
        task_id = str(state.get("task") or "")
        ending = desk().conclude(task_id)
        if isinstance(ending, Ticket):  # still open: woken early, wait again
            return Wait(reason="approval", until=ending.due_at, state={"task": task_id})
        port, output = ending
        return Result(output, port=port)


@dataclass(frozen=True)
class ApprovalRequest:
    """What a reviewer is asked, rendered from the config at run time."""

    title: str
    instructions: str
    data: Any
    #: the JSON Schema of the editable fields, defaults rendered
    fields: dict[str, Any]
    #: the proposed values: each field's rendered default
    proposal: dict[str, Any]
    roles: list[str]
    users: list[str]
    required_approvals: int
    allow_self_approval: bool
    timeout_s: float | None
    escalate_after_s: float | None
    escalate_roles: list[str]
    escalate_users: list[str]


@dataclass(frozen=True)
class Ticket:
    """An open task: its id and when the step must wake without a decision."""

    task_id: str
    due_at: Any = None


class ApprovalDesk(Protocol):
    def open(self, ctx: NodeContext, request: ApprovalRequest) -> Ticket:
        """Create the task for this step visit (the same one on a retry)."""
        ...

    def approve_automatically(self, ctx: NodeContext, request: ApprovalRequest) -> dict[str, Any]:
        """Record an automatic approval; return the step's output."""
        ...

    def conclude(self, task_id: str) -> tuple[str, dict[str, Any]] | Ticket:
        """(port, output) once decided or timed out; the open Ticket otherwise."""
        ...


_desk: ApprovalDesk | None = None


def install_desk(new_desk: ApprovalDesk | None) -> None:
    global _desk
    _desk = new_desk


def desk() -> ApprovalDesk:
    if _desk is None:
        raise NodeError("Approval steps need the approvals app.", type="NotSupported")
    return _desk


def proposal_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The proposed values of the editable fields: each property's default."""
    properties = fields.get("properties") if isinstance(fields, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    return {
        name: spec["default"]
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and "default" in spec
    }


def approval_request(config: ApprovalConfig) -> ApprovalRequest:
    escalate = config.escalate_to
    return ApprovalRequest(
        title=config.title,
        instructions=config.instructions,
        data=config.data,
        fields=dict(config.fields),
        proposal=proposal_of(config.fields),
        roles=list(config.assignees.roles),
        users=list(config.assignees.users),
        required_approvals=config.required_approvals,
        allow_self_approval=config.allow_self_approval,
        timeout_s=config.timeout_s,
        escalate_after_s=config.escalate_after_s,
        escalate_roles=list(escalate.roles) if escalate else [],
        escalate_users=list(escalate.users) if escalate else [],
    )
