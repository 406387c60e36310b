"""The pure scheduler: from a graph and the states of steps and edges to the
next actions (contract section 1.1). No ORM, Celery or Channels here.

The engine calls :func:`start` when a run begins and :func:`after` whenever
steps end (in the transaction that records their end, under the run lock), and
applies the returned :class:`Plan`: record edge states, create steps, fail the
run. Both functions are deterministic and idempotent: a step whose end was
already applied resolves nothing again, and a step that exists is never
planned twice, so a duplicate call plans nothing.

Visits and loops (rule 7). A step is one visit of one node; an edge's state is
keyed by ``(edge, visit of its source)``. A run is a tree of *rounds*: the
first round holds one visit of every node; a *loop* edge taken in a round
starts a child round holding one new visit of its target and of everything
downstream of the target (its *region*). In a round, a node's input from a
node outside the round's region is that node's visit in the nearest enclosing
round (a constant from outside the loop). A node's visits are numbered 1, 2,
3, ... in the order of its rounds in a pre-order walk of the tree (children
in edge order), so the numbering, and with it the whole run, does not depend
on the order in which steps end: a step is created only once no round that
would come before its own can still appear (see :meth:`_LoopPlanner._blocked`).

A node in a later round runs only if an edge from that same round was taken
(*decisive* edges); inputs from enclosing rounds, or from nodes in fewer loops
than another input, ride along but never make a node run on their own, so
dead-path elimination works per round. ``max_visits`` bounds how many of a
node's visits run in the whole run (a skipped visit does not count); the first
visit beyond it fails with ``LoopLimitExceeded``, and such a failure never
takes a loop edge (it would loop for ever). Graphs without loop edges take a
short path with every visit 1.
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
        self.loop_edges: tuple[tuple[int, EdgeSpec], ...] = tuple(
            (index, e) for index, e in enumerate(self.edges) if e.loop
        )
        self.loop_targets: frozenset[str] = frozenset(e.target for _i, e in self.loop_edges)
        for edge in self.edges:
            self.outgoing[edge.source] += (edge,)
            if not edge.loop:
                self.incoming[edge.target] += (edge,)
        self.reentrant = self._reachable(self.loop_targets)
        self.sinks = frozenset(n for n, out in self.outgoing.items() if not out)
        self.order: tuple[str, ...] = self._topological_order()
        self.regions: dict[str | None, Region] = {None: Region(self, None)}
        for target in sorted(self.loop_targets):
            self.regions[target] = Region(self, target)
        self.reach = self._loop_reach()
        self.decisive = {node: self._decisive(node) for node in self.nodes}

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

    def _topological_order(self) -> tuple[str, ...]:
        """Kahn's order over ordinary edges, ties in document order (nodes on
        a cycle without a loop edge, which validation refuses, come last)."""
        waiting = {n: len(self.incoming[n]) for n in self.nodes}
        ready = deque(n for n in self.nodes if not waiting[n])
        order: list[str] = []
        while ready:
            node = ready.popleft()
            order.append(node)
            for edge in self.outgoing[node]:
                if not edge.loop:
                    waiting[edge.target] -= 1
                    if not waiting[edge.target]:
                        ready.append(edge.target)
        placed = set(order)
        return tuple(order) + tuple(n for n in self.nodes if n not in placed)

    def _loop_reach(self) -> dict[str, frozenset[str]]:
        """Per loop target: every node that a round started there, or a round
        nested in it, can hold."""
        reach = {target: self.regions[target].members for target in self.loop_targets}
        changed = True
        while changed:
            changed = False
            for target, nodes in reach.items():
                grown = nodes.union(
                    *(reach[loop.target] for _i, loop in self.loop_edges if loop.source in nodes)
                )
                if grown != nodes:
                    reach[target], changed = grown, True
        return reach

    def _decisive(self, node_id: str) -> frozenset[str]:
        """Incoming edges whose source sits in a maximal set of loops among
        the node's inputs: the ones that can make a later round's visit run."""
        loops = {
            e.id: frozenset(t for t in self.loop_targets if e.source in self.regions[t].members)
            for e in self.incoming[node_id]
        }
        return frozenset(
            edge
            for edge, mine in loops.items()
            if not any(mine < other for other in loops.values())
        )

    def has_error_route(self, node_id: str) -> bool:
        return any(edge.source_port == ERROR_PORT for edge in self.outgoing[node_id])

    def roots(self) -> list[str]:
        """Nodes without ordinary incoming edges (triggers, orphans)."""
        return [n for n in self.nodes if not self.incoming[n]]


class Region:
    """The nodes a round started at ``start`` holds (every node for the
    first round), in topological order, and the loop edges leaving them."""

    def __init__(self, topology: Topology, start: str | None) -> None:
        members = topology._reachable([start]) if start else frozenset(topology.nodes)
        self.members: frozenset[str] = members
        self.order: tuple[str, ...] = tuple(n for n in topology.order if n in members)
        self.loops: tuple[tuple[int, EdgeSpec], ...] = tuple(
            (index, e) for index, e in topology.loop_edges if e.source in members
        )


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
    _planner(topology, state, plan).run([(node, 1) for node in others])
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
    _planner(topology, working, plan).run(list(ended))
    return plan


def _planner(topology: Topology, state: State, plan: Plan) -> _Planner:
    return (
        _LoopPlanner(topology, state, plan)
        if topology.loop_edges
        else _Planner(topology, state, plan)
    )


class _Planner:
    """Graphs without loop edges: one round, every visit 1, and each end
    decides only the targets of its own edges."""

    def __init__(self, topology: Topology, state: State, plan: Plan) -> None:
        self.topology = topology
        self.state = state
        self.plan = plan
        self.work: deque[tuple[str, int]] = deque()
        #: steps this plan failed with LoopLimitExceeded: they take no loop edge
        self.loop_limited: set[tuple[str, int]] = set()

    def run(self, ended: list[tuple[str, int]]) -> None:
        self.work.extend(ended)
        while self.work and self.plan.failed is None:
            key = self.work.popleft()
            for edge in self._resolve(key):
                self._decide(edge.target)

    def _resolve(self, key: tuple[str, int]) -> list[EdgeSpec]:
        """Record the states of an ended step's edges; the edges recorded."""
        step = self.state.steps.get(key)
        if step is None or step.status not in ENDED:
            return []
        if step.status == FAILED and step.port is None:
            self.plan.failed = key
            return []
        recorded = []
        for edge in self.topology.outgoing[step.node_id]:
            if (edge.id, step.visit) in self.state.edges:
                continue  # this end was applied already
            taken = self._takes(step, edge) and not (edge.loop and key in self.loop_limited)
            value = TAKEN if taken else SKIPPED
            self.state.edges[(edge.id, step.visit)] = value
            self.plan.edges.append((edge.id, step.visit, value))
            recorded.append(edge)
        return recorded

    def _takes(self, step: StepView, edge: EdgeSpec) -> bool:
        if step.status == SKIPPED:
            return False
        if self.topology.nodes[step.node_id].disabled and step.status == SUCCEEDED:
            return edge.source_port != ERROR_PORT  # a disabled node passes through
        return edge.source_port == step.port

    def _decide(self, node_id: str) -> None:
        if (node_id, 1) in self.state.steps:
            return
        taken, pending = [], False
        for edge in self.topology.incoming[node_id]:
            value = self.state.edges.get((edge.id, 1))
            if value == TAKEN:
                taken.append((edge.source, 1))
            elif value is None:
                pending = True
        if taken and (not pending or self.topology.nodes[node_id].join == "any"):
            self._create(NewStep(node_id, 1, QUEUED, tuple(taken)))
        elif not pending:
            self._create(NewStep(node_id, 1, SKIPPED))

    def _create(self, step: NewStep) -> None:
        self.plan.steps.append(step)
        self.state.steps[(step.node_id, step.visit)] = StepView(
            step.node_id, step.visit, step.status, step.port
        )
        if step.status in ENDED:
            self.work.append((step.node_id, step.visit))


@dataclass(eq=False)
class _Round:
    """One round of the run: the first (``start`` None) or one started by a
    taken loop edge from visit ``source_visit`` of its source."""

    pre: int  # its place in the pre-order walk
    parent: _Round | None
    region: Region
    start: str | None = None
    loop: EdgeSpec | None = None
    source_visit: int = 0
    visits: dict[str, int] = field(default_factory=dict)
    children: list[tuple[int, _Round]] = field(default_factory=list)  # (loop edge index, round)
    last: int = 0  # pre of the last round of its subtree
    scopes: dict[str, _Round] = field(default_factory=dict)

    def scope(self, node_id: str) -> _Round:
        """The round whose visit of ``node_id`` this round sees."""
        found = self.scopes.get(node_id)
        if found is None:
            if node_id in self.region.members or self.parent is None:
                found = self
            else:
                found = self.parent.scope(node_id)
            self.scopes[node_id] = found
        return found

    def insertion(self, index: int) -> int:
        """Where a child started by the loop edge at ``index`` would go in
        the pre-order walk."""
        for key, child in self.children:
            if key > index:
                return child.pre
        return self.last + 1


class _Rounds:
    """The tree of rounds as the state records it: rounds follow from taken
    loop edge states, visit numbers from a pre-order walk."""

    def __init__(self, topology: Topology, state: State) -> None:
        self.rounds: list[_Round] = []
        self.open: list[_Round] = []  # rounds with a node not yet decided
        #: loop edges whose state in a round is not known yet: rounds may appear there
        self.unresolved: list[tuple[_Round, int, EdgeSpec]] = []
        counts: dict[str, int] = {}
        todo: list[tuple[_Round | None, int, EdgeSpec | None, int]] = [(None, -1, None, 0)]
        while todo:  # an explicit stack: a long loop makes a deep tree
            parent, index, loop, source_visit = todo.pop()
            start = loop.target if loop else None
            region = topology.regions[start]
            current = _Round(len(self.rounds), parent, region, start, loop, source_visit)
            self.rounds.append(current)
            if parent is not None:
                parent.children.append((index, current))
            is_open = False
            for node in region.order:
                visit = counts[node] = counts.get(node, 0) + 1
                current.visits[node] = visit
                is_open = is_open or (node, visit) not in state.steps
            if is_open:
                self.open.append(current)
            started = []
            for index_, edge in region.loops:
                value = state.edges.get((edge.id, current.visits[edge.source]))
                if value == TAKEN:
                    started.append((current, index_, edge, current.visits[edge.source]))
                elif value is None:
                    self.unresolved.append((current, index_, edge))
            todo.extend(reversed(started))
        for current in reversed(self.rounds):
            current.last = max(current.last, current.pre)
            if current.parent is not None:
                current.parent.last = max(current.parent.last, current.last)


class _LoopPlanner(_Planner):
    """Graphs with loop edges: decides every open round's undecided nodes
    until nothing more can be decided, rebuilding the tree of rounds
    whenever a loop edge is taken."""

    def run(self, ended: list[tuple[str, int]]) -> None:
        self.work.extend(ended)
        rounds: _Rounds | None = None
        ended_run = any(v.status == FAILED and v.port is None for v in self.state.steps.values())
        while self.plan.failed is None:
            if self._drain():
                rounds = None  # a loop edge was taken: a new round
            if self.plan.failed is not None or ended_run:
                return  # an unrouted failure ended the run: nothing more is planned
            if rounds is None:
                rounds = _Rounds(self.topology, self.state)
            created, stale = self._sweep(rounds)
            if stale:
                rounds = None
            elif not created:
                return

    def _drain(self) -> bool:
        """Resolve the queued ends; True if one of them took a loop edge."""
        started = False
        while self.work and self.plan.failed is None:
            key = self.work.popleft()
            for edge in self._resolve(key):
                started = started or (edge.loop and self.state.edges[(edge.id, key[1])] == TAKEN)
        return started

    def _sweep(self, rounds: _Rounds) -> tuple[bool, bool]:
        """One pass over the open rounds, in order, resolving what it skips or
        fails at once: (created a step, a loop edge was taken)."""
        created = False
        for current in rounds.open:
            for node_id in current.region.order:
                if (node_id, current.visits[node_id]) in self.state.steps:
                    continue
                if self._decide_in(rounds, current, node_id):
                    created = True
                    if self._drain() or self.plan.failed is not None:
                        return True, True
        return created, False

    def _decide_in(self, rounds: _Rounds, current: _Round, node_id: str) -> bool:
        if self._blocked(rounds, current, node_id):
            return False
        visit = current.visits[node_id]
        if node_id == current.start and current.loop is not None:
            return self._runnable(node_id, visit, ((current.loop.source, current.source_visit),))
        taken: list[tuple[str, int]] = []
        pending = decisive_taken = decisive_pending = False
        decisive = self.topology.decisive[node_id]
        for edge in self.topology.incoming[node_id]:
            scope = current.scope(edge.source)
            source_visit = scope.visits[edge.source]
            value = self.state.edges.get((edge.id, source_visit))
            counts = scope is current and edge.id in decisive
            if value == TAKEN:
                taken.append((edge.source, source_visit))
                decisive_taken = decisive_taken or counts
            elif value is None:
                pending = True
                decisive_pending = decisive_pending or counts
        any_join = self.topology.nodes[node_id].join == "any"
        if decisive_taken and (any_join or not pending):
            return self._runnable(node_id, visit, tuple(taken))
        if not decisive_taken and not decisive_pending:
            self._create(NewStep(node_id, visit, SKIPPED))
            return True
        return False

    def _blocked(self, rounds: _Rounds, current: _Round, node_id: str) -> bool:
        """Whether a round that would come before ``current`` and hold a
        visit of ``node_id`` may still appear (a loop edge there not yet
        resolved): the visit's number is not final until none can."""
        for place, index, loop in rounds.unresolved:
            if node_id not in self.topology.reach[loop.target]:
                continue
            if (loop.id, place.visits[loop.source]) in self.state.edges:
                continue
            if place.insertion(index) <= current.pre:
                return True
        return False

    def _runnable(self, node_id: str, visit: int, inputs: tuple[tuple[str, int], ...]) -> bool:
        """Queue the visit, or fail it if earlier visits already used up
        ``max_visits``; wait while undecided earlier visits leave it open."""
        limit = self.topology.nodes[node_id].max_visits
        if visit > limit:
            earlier = [self.state.steps.get((node_id, v)) for v in range(1, visit)]
            ran = sum(1 for step in earlier if step is not None and step.status != SKIPPED)
            undecided = sum(1 for step in earlier if step is None)
            if ran < limit <= ran + undecided:
                return False
            if ran >= limit:
                self._fail_loop_limit(node_id, visit, inputs)
                return True
        self._create(NewStep(node_id, visit, QUEUED, inputs))
        return True

    def _fail_loop_limit(
        self, node_id: str, visit: int, inputs: tuple[tuple[str, int], ...]
    ) -> None:
        limit = self.topology.nodes[node_id].max_visits
        error = {
            "type": LOOP_LIMIT,
            "message": f"{node_id} would run more than max_visits={limit} times.",
            "attempts": 0,
        }
        port = ERROR_PORT if self.topology.has_error_route(node_id) else None
        self.loop_limited.add((node_id, visit))
        self._create(NewStep(node_id, visit, FAILED, inputs, port=port, error=error))


def visible_visits(topology: Topology, state: State, node_id: str, visit: int) -> dict[str, int]:
    """For the step ``(node_id, visit)``: which visit of every other node its
    ``nodes.<id>.output`` should read. A node's visit in the step's own round
    (or the nearest enclosing round that holds one) if it ended with an
    output, else its latest such visit before that one: in a loop body, a
    node further down the body reads as it was at the end of the previous
    round. Nodes with no such visit are left out."""
    with_output = {
        key for key, step in state.steps.items() if step.status in (SUCCEEDED, FAILED) and step.port
    }
    latest: dict[str, list[int]] = {}
    for other, other_visit in sorted(with_output):
        latest.setdefault(other, []).append(other_visit)
    if not topology.loop_edges:
        return {other: 1 for other in latest if other != node_id}
    rounds = _Rounds(topology, state)
    home = next((r for r in rounds.rounds if r.visits.get(node_id) == visit), rounds.rounds[0])
    seen: dict[str, int] = {}
    for other, visits in latest.items():
        if other == node_id:
            continue
        bound = home.scope(other).visits[other]
        earlier = [v for v in visits if v <= bound]
        if earlier:
            seen[other] = earlier[-1]
    return seen


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
