"""What validation reports: one Issue per problem, the Validation result that
collects them, and GraphInvalid, raised by parse() on an invalid document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from builder.graph.document import Graph

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    node_id: str | None
    field: str
    message: str
    severity: Severity = "error"
    code: str = "invalid"
    edge_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"node_id": self.node_id, "field": self.field, "message": self.message}
        found["code"] = self.code
        if self.edge_id is not None:
            found["edge_id"] = self.edge_id
        return found


@dataclass(frozen=True)
class Validation:
    valid: bool
    errors: list[Issue]
    warnings: list[Issue]
    graph: Graph | None
    """The parsed graph, when valid (warnings allowed)."""


class GraphInvalid(Exception):
    def __init__(self, errors: list[Issue]) -> None:
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        first = errors[0].message if errors else "invalid graph"
        super().__init__(f"invalid workflow graph: {first}{more}")
