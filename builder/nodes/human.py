"""``human.approval``: a person reviews, may edit, and approves or rejects.

Only the declaration lives here for now (config, ports, output); the
approval task, its notifications and its decision API arrive with the
approvals work, so this type has no ``run`` yet.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from builder.nodes.base import NodeConfig, NodeType
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
                "description": "Who decided: the approving or rejecting people's usernames."
            },
            "comment": {"type": "string", "description": "The reviewer's comment."},
            "data": {
                "type": "object",
                "description": "The editable fields, with the reviewer's edits applied.",
            },
            "changes": {
                "type": "object",
                "description": "Only the fields the reviewer changed, with their new values.",
            },
        },
    }
