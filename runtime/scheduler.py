"""The pure scheduler: from a graph and the states of steps and edges to the
next actions (contract section 1.1). No ORM, Celery or Channels here.

The engine calls :func:`start` when a run begins and :func:`after` whenever
steps end (in the transaction that records their end, under the run lock), and
applies the returned :class:`Plan`: record edge states, create steps, fail the
run. Both functions are deterministic and idempotent: a step whose end was
already applied resolves nothing again, and a step that exists is never
planned twice, so a duplicate call plans nothing.

Visits and loops (rule 7). A step is one visit of one node. An edge's state is
keyed by ``(edge, visit of its source)``; a normal edge from visit ``v`` feeds
visit ``v`` of its target, so the body of a loop advances in lockstep. A
*loop* edge taken from visit ``v`` starts visit ``v + 1`` of its target on its
own (a loop target's later visits ignore its ordinary incoming edges, and its
first visit ignores its loop edges). A node that no loop edge can reach again
(not *re-entrant*) runs at most once, so its edges count for every visit of
the nodes they feed. ``max_visits`` bounds how many of a node's visits run (a
skipped visit does not count); one more fails with ``LoopLimitExceeded``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TAKEN = "taken"
SKIPPED = "skipped"
ERROR_PORT = "error"

# Step statuses, as in runtime.models.StepStatus (kept as plain strings here).
PENDING = "pending"
QUEUED = "queued"
RUNNING = "running"
WAITING = "waiting"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELLED = "cancelled"

ENDED = frozenset({SUCCEEDED, FAILED, SKIPPED})
BUSY = frozenset({PENDING, QUEUED, RUNNING})
LOOP_LIMIT = "LoopLimitExceeded"


@dataclass(frozen=True)
class NodeSpec:
    id: str
    join: str = "all"
    max_visits: int = 1
    disabled: bool = False


@dataclass(frozen=True)
class EdgeSpec:
    id: str
    source: str
    target: str
    source_port: str = "out"
    loop: bool = False


class Topology:
    """The parts of a graph that scheduling needs, with lookups precomputed."""

    def __init__(self, nodes: Iterable[NodeSpec], edges: Iterable[EdgeSpec]) -> None:
        self.nodes: dict[str, NodeSpec] = {node.id: node for node in nodes}
        self.edges: tuple[EdgeSpec, ...] = tuple(edges)
        self.outgoing: dict[str, tuple[EdgeSpec, ...]] = {n: () for n in self.nodes}
        self.incoming: dict[str, tuple[EdgeSpec, ...]] = {n: () for n in self.nodes}
        self.loop_targets: frozenset[str] = frozenset(e.target for e in self.edges if e.loop)
        for edge in self.edges:
            self.outgoing[edge.source] += (edge,)
            if not edge.loop:
                self.incoming[edge.target] += (edge,)
        self.reentrant = self._reachable(self.loop_targets)
        self.sinks = frozenset(n for n, out in self.outgoing.items() if not out)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Topology:
        """Read a graph document (contract section 1), applying its defaults."""
        nodes = [
            NodeSpec(
                id=node["id"],
                join=node.get("join") or "all",
                max_visits=int(node.get("max_visits") or 1),
                disabled=bool(node.get("disabled", False)),
            )
            for node in document.get("nodes", [])
        ]
        edges = [
            EdgeSpec(
                id=edge["id"],
                source=edge["source"],
                target=edge["target"],
                source_port=edge.get("source_port") or "out",
                loop=bool(edge.get("loop", False)),
            )
            for edge in document.get("edges", [])
        ]
        return cls(nodes, edges)

    def _reachable(self, starts: Iterable[str]) -> frozenset[str]:
        seen: set[str] = set()
        todo = list(starts)
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(e.target for e in self.outgoing[node] if not e.loop)
        return frozenset(seen)

    def has_error_route(self, node_id: str) -> bool:
        return any(edge.source_port == ERROR_PORT for edge in self.outgoing[node_id])

    def roots(self) -> list[str]:
        """Nodes without ordinary incoming edges (triggers, orphans)."""
        return [n for n in self.nodes if not self.incoming[n]]


@dataclass(frozen=True)
class StepView:
    """What the scheduler knows of a step: its status and the port it ended on."""

    node_id: str
    visit: int
    status: str
    port: str | None = None


@dataclass(frozen=True)
class NewStep:
    """A step to create. ``inputs`` are the (node, visit) steps whose outputs
    reach it through taken edges, in edge order."""

    node_id: str
    visit: int
    status: str  # queued, skipped or failed
    inputs: tuple[tuple[str, int], ...] = ()
    port: str | None = None
    error: dict[str, Any] | None = None


@dataclass
class Plan:
    edges: list[tuple[str, int, str]] = field(default_factory=list)
    steps: list[NewStep] = field(default_factory=list)
    #: the step whose unrouted failure fails the run
    failed: tuple[str, int] | None = None


@dataclass
class State:
    steps: dict[tuple[str, int], StepView] = field(default_factory=dict)
    edges: dict[tuple[str, int], str] = field(default_factory=dict)

    @classmethod
    def of(cls, steps: Iterable[StepView], edges: Iterable[tuple[str, int, str]] = ()) -> State:
        return cls(
            {(s.node_id, s.visit): s for s in steps},
            {(edge_id, visit): value for edge_id, visit, value in edges},
        )


def start(topology: Topology, trigger: str) -> Plan:
    """The first plan of a run: the trigger queued; every other root (another
    trigger, an orphan node) skipped, with its paths eliminated."""
    plan = Plan(steps=[NewStep(trigger, 1, QUEUED)])
    state = State({(trigger, 1): StepView(trigger, 1, QUEUED)})
    others = [n for n in topology.roots() if n != trigger]
    for node in others:
        state.steps[(node, 1)] = StepView(node, 1, SKIPPED)
        plan.steps.append(NewStep(node, 1, SKIPPED))
    _Planner(topology, state, plan).run([(node, 1) for node in others])
    return plan


def start_with_trigger_ended(topology: Topology, trigger: str) -> Plan:
    """Like :func:`start`, with the trigger's step already succeeded on
    ``out`` (a trigger's output is the run input): the plan creates it, skips
    the other roots and queues the trigger's successors."""
    roots = [node for node in topology.roots() if node != trigger]
    state = State({(trigger, 1): StepView(trigger, 1, SUCCEEDED, "out")})
    for node in roots:
        state.steps[(node, 1)] = StepView(node, 1, SKIPPED)
    follow = after(topology, state, [(trigger, 1)] + [(node, 1) for node in roots])
    first = [NewStep(trigger, 1, SUCCEEDED, port="out")]
    skipped = [NewStep(node, 1, SKIPPED) for node in roots]
    return Plan(edges=follow.edges, steps=first + skipped + follow.steps, failed=follow.failed)


def after(topology: Topology, state: State, ended: Iterable[tuple[str, int]]) -> Plan:
    """What follows the end of the ``ended`` steps, whose final status and
    port ``state`` already holds. ``state`` is not modified."""
    plan = Plan()
    working = State(dict(state.steps), dict(state.edges))
    _Planner(topology, working, plan).run(list(ended))
    return plan


class _Planner:
    def __init__(self, topology: Topology, state: State, plan: Plan) -> None:
        self.topology = topology
        self.state = state
        self.plan = plan
        self.work: deque[tuple[str, int]] = deque()

    def run(self, ended: list[tuple[str, int]]) -> None:
        self.work.extend(ended)
        while self.work and self.plan.failed is None:
            self._resolve(*self.work.popleft())

    def _resolve(self, node_id: str, visit: int) -> None:
        step = self.state.steps.get((node_id, visit))
        if step is None or step.status not in ENDED:
            return
        if step.status == FAILED and step.port is None:
            self.plan.failed = (node_id, visit)
            return
        for edge in self.topology.outgoing[node_id]:
            key = (edge.id, visit)
            if key in self.state.edges:
                continue  # this end was applied already
            value = TAKEN if self._takes(step, edge) else SKIPPED
            self.state.edges[key] = value
            self.plan.edges.append((edge.id, visit, value))
            if edge.loop:
                if value == TAKEN:
                    self._decide_loop_visit(edge, visit)
            else:
                self._decide(edge.target, visit)

    def _takes(self, step: StepView, edge: EdgeSpec) -> bool:
        if step.status == SKIPPED:
            return False
        if self.topology.nodes[step.node_id].disabled and step.status == SUCCEEDED:
            return edge.source_port != ERROR_PORT  # a disabled node passes through
        return edge.source_port == step.port

    def _edge_state(self, edge: EdgeSpec, visit: int) -> tuple[str | None, int]:
        source_visit = visit if edge.source in self.topology.reentrant else 1
        return self.state.edges.get((edge.id, source_visit)), source_visit

    def _decide(self, node_id: str, visit: int) -> None:
        if (node_id, visit) in self.state.steps:
            return
        if visit > 1 and node_id in self.topology.loop_targets:
            return  # later visits of a loop target start from its loop edges only
        taken, pending = [], False
        for edge in self.topology.incoming[node_id]:
            value, source_visit = self._edge_state(edge, visit)
            if value == TAKEN:
                taken.append((edge.source, source_visit))
            elif value is None:
                pending = True
        if self.topology.nodes[node_id].join == "any":
            if taken:
                self._create_runnable(node_id, visit, tuple(taken))
            elif not pending:
                self._create(NewStep(node_id, visit, SKIPPED))
        elif not pending:
            if taken:
                self._create_runnable(node_id, visit, tuple(taken))
            else:
                self._create(NewStep(node_id, visit, SKIPPED))

    def _decide_loop_visit(self, edge: EdgeSpec, visit: int) -> None:
        if (edge.target, visit + 1) not in self.state.steps:
            self._create_runnable(edge.target, visit + 1, ((edge.source, visit),))

    def _create_runnable(
        self, node_id: str, visit: int, inputs: tuple[tuple[str, int], ...]
    ) -> None:
        node = self.topology.nodes[node_id]
        runs = sum(
            1
            for (other, _v), step in self.state.steps.items()
            if other == node_id and step.status != SKIPPED
        )
        if runs < node.max_visits:
            self._create(NewStep(node_id, visit, QUEUED, inputs))
            return
        error = {
            "type": LOOP_LIMIT,
            "message": f"{node_id} would run more than max_visits={node.max_visits} times.",
            "attempts": 0,
        }
        port = ERROR_PORT if self.topology.has_error_route(node_id) else None
        self._create(NewStep(node_id, visit, FAILED, inputs, port=port, error=error))

    def _create(self, step: NewStep) -> None:
        self.plan.steps.append(step)
        self.state.steps[(step.node_id, step.visit)] = StepView(
            step.node_id, step.visit, step.status, step.port
        )
        if step.status in ENDED:
            self.work.append((step.node_id, step.visit))


def outcome(state: State) -> str:
    """The run status the steps imply: ``failed`` (an unrouted failure),
    ``running`` (work queued or running), ``waiting`` (only waits left) or
    ``succeeded``. Cancellation is decided by the engine, not here."""
    statuses = [step.status for step in state.steps.values()]
    if any(s.status == FAILED and s.port is None for s in state.steps.values()):
        return FAILED
    if any(status in BUSY for status in statuses):
        return RUNNING
    if WAITING in statuses:
        return WAITING
    return SUCCEEDED


def output_nodes(topology: Topology, state: State) -> dict[str, int]:
    """The run output's members (rule 8): every sink node that succeeded,
    mapped to its latest succeeded visit."""
    latest: dict[str, int] = {}
    for (node_id, visit), step in state.steps.items():
        if node_id in topology.sinks and step.status == SUCCEEDED:
            latest[node_id] = max(visit, latest.get(node_id, 0))
    return latest
