"""The shape every node type has, and the narrow context node code may use.

A node type is a class registered in :mod:`builder.nodes.registry`. It
declares a stable ``key`` and ``version``, a pydantic ``Config`` model (the
JSON Schema served to the canvas is generated from it, never written twice),
its output ``ports`` and ``output_schema``, and implements :meth:`run`.

Node code never imports models or the engine: it gets a :class:`NodeContext`.
This module imports nothing from Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError


class NodeConfig(BaseModel):
    """Base of every config model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class EmptyConfig(NodeConfig):
    pass


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}


@dataclass(frozen=True)
class Result:
    """A node's normal end: the port it ends on and its output."""

    output: Any
    port: str = "out"
    usage: Usage | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class Wait:
    """The step waits without holding a worker: for a timer (``until``, an
    aware datetime) or for a person (``reason="approval"``). The engine stores
    the wait as a row and resumes the node through :meth:`NodeType.resume`."""

    reason: str
    until: Any = None
    state: Mapping[str, Any] = field(default_factory=dict)


class NodeError(Exception):
    """A node's failure. ``retryable`` failures are retried by the step's
    retry policy; others fail at once."""

    def __init__(self, message: str, *, type: str = "NodeError", retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.type = type
        self.retryable = retryable


class NodeContext(Protocol):
    """What a running node may see and do. The engine provides it."""

    run_id: str
    node_id: str
    visit: int
    attempt: int
    idempotency_key: str  # "run:node:visit"
    workspace_id: Any
    expression_context: Mapping[str, Any]  # trigger, nodes, input, run (contract section 2)

    def evaluate(self, expression: str) -> Any: ...

    def render(self, value: Any) -> Any: ...


class NodeType:
    key: ClassVar[str]
    version: ClassVar[int] = 1
    category: ClassVar[str] = "data"
    label: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Config: ClassVar[type[NodeConfig]] = EmptyConfig
    ports: ClassVar[tuple[str, ...]] = ("out",)
    output_schema: ClassVar[dict[str, Any]] = {}
    #: config fields that hold a bare expression (no braces), e.g. ``condition``
    expression_fields: ClassVar[tuple[str, ...]] = ()
    #: config fields left unrendered by the engine (the node renders them itself)
    raw_fields: ClassVar[tuple[str, ...]] = ()
    is_trigger: ClassVar[bool] = False
    #: True for nodes that look at ``nodes.<id>.output`` of the nodes their
    #: input is keyed by (to tell the engine's object of several inputs from
    #: one input that is an object): the engine loads those outputs too
    reads_sources: ClassVar[bool] = False
    #: True for nodes whose run has effects outside Baton (HTTP, email, LLM)
    side_effects: ClassVar[bool] = False
    #: True for nodes that compute from their input and config alone, in
    #: microseconds, touching nothing outside the database: the runtime may
    #: run such a step inside the transaction that claims it (one commit for
    #: its start and end instead of two)
    pure: ClassVar[bool] = False

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        """The output ports for this config (switch and classify derive them
        from their config). Every non-trigger node also has ``error``."""
        return list(self.ports)

    def config_schema(self) -> dict[str, Any]:
        return self.Config.model_json_schema()

    def parse_config(self, config: Mapping[str, Any]) -> NodeConfig:
        return self.Config.model_validate(dict(config))

    def config_errors(self, config: Any) -> list[tuple[str, str]]:
        """(field path, message) pairs. A value that is still a template
        (holds ``{{``) is checked after rendering, at run time."""
        if not isinstance(config, Mapping):
            return [("config", "must be an object")]
        try:
            self.Config.model_validate(dict(config))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                if isinstance(err.get("input"), str) and "{{" in err["input"]:
                    continue
                path = ".".join(str(p) for p in err["loc"]) or "config"
                problems.append((f"config.{path}", err["msg"]))
            return problems
        return []

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "version": self.version,
            "category": self.category,
            "label": self.label,
            "description": self.description,
            "config_schema": self.config_schema(),
            "ports": list(self.ports),
            "dynamic_ports": type(self).ports_for is not NodeType.ports_for,
            "error_port": not self.is_trigger,
            "output_schema": self.output_schema,
            "expression_fields": list(self.expression_fields),
            "is_trigger": self.is_trigger,
        }

    def run(self, ctx: NodeContext, config: Any, input: Any) -> Result | Wait:
        raise NotImplementedError

    def resume(
        self, ctx: NodeContext, config: Any, input: Any, state: Mapping[str, Any]
    ) -> Result | Wait:
        """Called when a wait ends (timer due, person decided)."""
        raise NotImplementedError
