"""Helpers for the scheduler tests: compact graphs and a plan-applying simulator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from runtime import scheduler as s

Outcome = tuple[str, str | None]  # ("ok", port) | ("fail", None) | ("wait", None)


def topology(nodes: str, *edges: str, **options: dict) -> s.Topology:
    """``topology("a b c", "a->b", "b:true->c", "c~>b")``: ``:port`` names the
    source port, ``~>`` marks a loop edge. ``options`` maps node ids to NodeSpec
    fields."""
    specs = [s.NodeSpec(n, **options.get(n, {})) for n in nodes.split()]
    parsed = []
    for index, text in enumerate(edges):
        loop = "~>" in text
        source, target = text.split("~>" if loop else "->")
        source, _, port = source.partition(":")
        parsed.append(s.EdgeSpec(f"e{index}", source, target, port or "out", loop))
    return s.Topology(specs, parsed)


@dataclass
class Simulation:
    """Applies plans to an in-memory state, as the engine does to rows."""

    topology: s.Topology
    state: s.State = field(default_factory=s.State)
    created: list[tuple[str, int]] = field(default_factory=list)
    inputs: dict[tuple[str, int], tuple[tuple[str, int], ...]] = field(default_factory=dict)
    failed: tuple[str, int] | None = None
    #: steps planned as LoopLimitExceeded failures (they never ran)
    limited: set[tuple[str, int]] = field(default_factory=set)

    def apply(self, plan: s.Plan) -> None:
        for edge_id, visit, value in plan.edges:
            assert (edge_id, visit) not in self.state.edges, f"edge {edge_id}#{visit} twice"
            self.state.edges[(edge_id, visit)] = value
        for step in plan.steps:
            key = (step.node_id, step.visit)
            assert key not in self.state.steps, f"step {key} planned twice"
            self.state.steps[key] = s.StepView(step.node_id, step.visit, step.status, step.port)
            self.created.append(key)
            self.inputs[key] = step.inputs
            if step.error and step.error.get("type") == s.LOOP_LIMIT:
                self.limited.add(key)
        if plan.failed and self.failed is None:
            self.failed = plan.failed

    def start(self, trigger: str = "t") -> Simulation:
        self.apply(s.start(self.topology, trigger))
        return self

    def queued(self) -> list[tuple[str, int]]:
        return [k for k, v in self.state.steps.items() if v.status == s.QUEUED]

    def end(self, key: tuple[str, int], outcome: Outcome) -> s.Plan:
        kind, port = outcome
        if kind == "ok":
            view = s.StepView(*key, s.SUCCEEDED, port)
        elif kind == "wait":
            view = s.StepView(*key, s.WAITING)
        else:
            route = s.ERROR_PORT if self.topology.has_error_route(key[0]) else None
            view = s.StepView(*key, s.FAILED, route)
        self.state.steps[key] = view
        plan = s.after(self.topology, self.state, [key])
        self.apply(plan)
        return plan

    def run(self, decide: Callable[[str, int], Outcome] | None = None) -> Simulation:
        decide = decide or (lambda node, visit: ("ok", "out"))
        while self.failed is None and (queue := self.queued()):
            self.end(queue[0], decide(*queue[0]))
        return self

    def status(self, node: str, visit: int = 1) -> str | None:
        step = self.state.steps.get((node, visit))
        return step.status if step else None

    @property
    def outcome(self) -> str:
        return s.FAILED if self.failed else s.outcome(self.state)
