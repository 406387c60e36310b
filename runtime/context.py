"""The :class:`builder.nodes.base.NodeContext` the engine hands to node code.

The expression context is plain JSON data (contract section 2): ``trigger``
(the run input), ``nodes.<id>.output`` (finished nodes, latest visit),
``input`` (the output carried by the taken incoming edge; with several, an
object keyed by source node id) and ``run`` (id, workflow_id, version,
started_at). Secrets are never part of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from builder import expressions

_STATIC_REFERENCE = re.compile(r"nodes\.[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class StepContext:
    run_id: str
    node_id: str
    visit: int
    attempt: int
    workspace_id: Any
    expression_context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """``run:node:visit``: the same for every attempt of one visit, so a
        side effect retried after a crash can be deduplicated downstream."""
        return f"{self.run_id}:{self.node_id}:{self.visit}"

    def evaluate(self, expression: str) -> Any:
        return expressions.evaluate(expression, self.expression_context)

    def render(self, value: Any) -> Any:
        return expressions.render(value, self.expression_context)


def expression_context(
    *, run: Mapping[str, Any], trigger: Any, nodes: Mapping[str, Any], input: Any
) -> dict[str, Any]:
    return {
        "trigger": trigger,
        "nodes": {node_id: {"output": output} for node_id, output in nodes.items()},
        "input": input,
        "run": dict(run),
    }


def referenced_nodes(config: Any, expression_fields: tuple[str, ...]) -> set[str] | None:
    """Node ids a config reads through ``nodes.<id>``, or None when it reads
    ``nodes`` in a way that cannot be resolved statically (then every
    finished node is loaded)."""
    found: set[str] = set()
    if isinstance(config, Mapping):
        for name in expression_fields:
            if isinstance(config.get(name), str):
                found |= expressions.referenced_nodes(config[name])
    found |= expressions.template_references(config)
    text = _STATIC_REFERENCE.sub("", repr(config))
    return None if "nodes" in text else found


def step_input(sources: list[tuple[str, Any]]) -> Any:
    """The input of a step from its taken incoming edges' (source, output):
    the one output as is, or an object keyed by source node id."""
    if len(sources) == 1:
        return sources[0][1]
    return {source: output for source, output in sources}
