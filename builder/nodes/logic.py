"""Logic nodes: choose a path (``logic.if``, ``logic.switch``) and bring
paths together (``logic.merge``).

If/else paths re-join without a merge node thanks to dead-path elimination
(contract section 1.1, rule 5); ``logic.merge`` is for shaping what several
paths produced into one value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from builder.expressions import to_text
from builder.nodes.base import NodeConfig, NodeContext, NodeType, Result
from builder.nodes.data import invalid
from builder.nodes.registry import registry

PASS_THROUGH = {"description": "Its input, unchanged.", "properties": {}}

#: Port names a switch case may not take: the fallback and the failure port.
RESERVED_PORTS = ("default", "error")

CaseName = Annotated[str, StringConstraints(min_length=1, max_length=100)]


# -- logic.if -----------------------------------------------------------------


class IfConfig(NodeConfig):
    condition: str = Field(
        min_length=1,
        title="Condition",
        description=(
            "An expression without braces, e.g. nodes.mood.output.label == 'negative'. "
            "A true result takes the true path, anything else the false path."
        ),
    )


@registry.register
class If(NodeType):
    key = "logic.if"
    category = "logic"
    pure = True
    label = "If / else"
    description = "Send the data down one of two paths depending on a yes-or-no condition."
    Config = IfConfig
    ports = ("true", "false")
    output_schema = PASS_THROUGH
    expression_fields = ("condition",)

    def run(self, ctx: NodeContext, config: IfConfig, input: Any) -> Result:
        # Truthiness of JSON data: false, null, 0, "" and empty lists and
        # objects are false, like the expression language's and/or/not.
        return Result(input, port="true" if ctx.evaluate(config.condition) else "false")


# -- logic.switch -------------------------------------------------------------


class SwitchConfig(NodeConfig):
    value: str = Field(
        min_length=1,
        title="Value",
        description="An expression without braces whose result picks the path, e.g. trigger.country.",
    )
    cases: list[CaseName] = Field(
        default_factory=list,
        max_length=50,
        title="Cases",
        description=(
            "The values to look for; each gets its own path, and any other value takes the default path. "
            'Compared as text: 3 matches "3", true matches "true".'
        ),
    )

    @field_validator("cases")
    @classmethod
    def _distinct_port_names(cls, cases: list[str]) -> list[str]:
        seen: set[str] = set()
        for case in cases:
            if case in RESERVED_PORTS:
                raise invalid(f"{case!r} cannot be a case: it is the name of another path")
            if case in seen:
                raise invalid(f"{case!r} is listed twice")
            seen.add(case)
        return cases


@registry.register
class Switch(NodeType):
    key = "logic.switch"
    category = "logic"
    pure = True
    label = "Switch"
    description = "Send the data down one of several paths depending on a value, such as a country or a ticket type."
    Config = SwitchConfig
    ports = ("default",)
    output_schema = PASS_THROUGH
    expression_fields = ("value",)
    # Cases are port names, so they must read the same when the graph is
    # validated and when it runs: they are never rendered as templates.
    raw_fields = ("cases",)

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        cases = config.get("cases") if isinstance(config, Mapping) else None
        names = [case for case in cases if isinstance(case, str)] if isinstance(cases, list) else []
        return [*dict.fromkeys(names), "default"]

    def run(self, ctx: NodeContext, config: SwitchConfig, input: Any) -> Result:
        value = ctx.evaluate(config.value)
        # A scalar matches as it reads inside a template (true -> "true",
        # 3 -> "3"), or as str() spells it; lists and objects match nothing
        # but their str(), which no sensible case equals.
        candidates = {str(value)}
        if value is None or isinstance(value, str | int | float):
            candidates.add(to_text(value))
        port = next((case for case in config.cases if case in candidates), "default")
        return Result(input, port=port)


# -- logic.merge --------------------------------------------------------------


class MergeConfig(NodeConfig):
    mode: Literal["object", "list"] = Field(
        default="object",
        title="Combine as",
        description=(
            "object: one object keyed by the id of each step that arrived; "
            "list: a list of their outputs, ordered by step id."
        ),
    )


@registry.register
class Merge(NodeType):
    key = "logic.merge"
    category = "logic"
    pure = True
    reads_sources = True
    label = "Merge"
    description = "Combine the results of several paths into one value once they have finished."
    Config = MergeConfig
    output_schema = {
        "description": (
            "object mode: an object keyed by source step id, e.g. input.<id> for each path; "
            "list mode: a list of the outputs."
        ),
        "type": ["object", "array"],
        "properties": {},
    }

    def run(self, ctx: NodeContext, config: MergeConfig, input: Any) -> Result:
        """With several taken incoming edges the engine hands over an object
        keyed by source node id. With a single one (one path taken, or join
        ``any``) it hands over that output as is: ``object`` mode then passes
        it through unchanged, and ``list`` mode wraps it as a one-item list.
        ``list`` mode orders by source node id, so the order never depends
        on which path finished first."""
        if config.mode == "object":
            return Result(input)
        keyed = _keyed_inputs(ctx, input)
        if keyed is None:
            return Result([input])
        return Result([keyed[source] for source in sorted(keyed)])


def _keyed_inputs(ctx: NodeContext, input: Any) -> Mapping[str, Any] | None:
    """``input`` when it is the engine's object of several inputs: two or
    more keys, each the id of a finished node whose output it holds."""
    if not isinstance(input, Mapping) or len(input) < 2:
        return None
    finished = ctx.expression_context.get("nodes") or {}
    for source, value in input.items():
        node = finished.get(source)
        if not isinstance(node, Mapping) or node.get("output") != value:
            return None
    return input
