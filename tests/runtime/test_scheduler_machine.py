"""A Hypothesis state machine: random graphs with random outcomes, steps ended
in random order with duplicate deliveries, checked against small reference
interpreters that run the graph sequentially in topological order: one for
DAGs, one that plays loops (nested, sequential, parallel, overlapping) round
by round."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from runtime import scheduler as s
from tests.runtime.scheduler_support import Outcome, Simulation

NODE_PORTS = [("out",), ("true", "false"), ("a", "b", "default")]


@st.composite
def dags(draw):
    """A random DAG: node 0 is the trigger; edges go from lower to higher index."""
    count = draw(st.integers(2, 9))
    names = ["t"] + [f"n{i}" for i in range(1, count)]
    ports = {"t": ("out",)} | {n: draw(st.sampled_from(NODE_PORTS)) for n in names[1:]}
    nodes = [s.NodeSpec("t")]
    edges: list[s.EdgeSpec] = []
    for index, name in enumerate(names[1:], start=1):
        nodes.append(s.NodeSpec(name, join=draw(st.sampled_from(["all", "all", "any"]))))
        sources = draw(
            st.sets(st.integers(0, index - 1), min_size=0 if index > 1 else 1, max_size=3)
        )
        for source in sorted(sources):
            source_name = names[source]
            port_choices = list(ports[source_name]) + ([] if source == 0 else ["error"])
            port = draw(st.sampled_from(port_choices))
            edges.append(s.EdgeSpec(f"e{len(edges)}", source_name, name, port))
    outcomes: dict[str, Outcome] = {"t": ("ok", "out")}
    for name in names[1:]:
        fails = draw(st.integers(0, 9)) == 0
        outcomes[name] = ("fail", None) if fails else ("ok", draw(st.sampled_from(ports[name])))
    return s.Topology(nodes, edges), outcomes


def reference(topology: s.Topology, outcomes: dict[str, Outcome]) -> tuple[str, set[str]]:
    """Run a DAG sequentially in index order: the run status and succeeded sinks."""
    status: dict[str, str] = {}
    port: dict[str, str | None] = {}
    edge_state: dict[str, bool] = {}
    for name in topology.nodes:  # insertion order is a topological order here
        incoming = topology.incoming[name]
        taken = [edge_state[e.id] for e in incoming]
        runs = name == "t" or any(taken)
        if not runs:
            status[name], port[name] = "skipped", None
        else:
            kind, chosen = outcomes[name]
            if kind == "fail" and not topology.has_error_route(name):
                return "failed", set()
            status[name] = "succeeded" if kind == "ok" else "failed"
            port[name] = chosen if kind == "ok" else "error"
        for edge in topology.outgoing[name]:
            edge_state[edge.id] = status[name] != "skipped" and edge.source_port == port[name]
    return "succeeded", {n for n in topology.sinks if status[n] == "succeeded"}


Table = dict[str, tuple[Outcome, ...]]


def from_table(table: Table):
    """Outcomes by visit: a node's n-th visit ends as its table says, cycling."""
    return lambda node, visit: table[node][(visit - 1) % len(table[node])]


@st.composite
def outcome_tables(draw, ports: dict[str, tuple[str, ...]], checks: dict[str, int]) -> Table:
    """Per node a short cycle of outcomes; ``checks`` (loop sources) get a
    longer one, mostly on the looping port, so loops go round a few times."""
    table: Table = {"t": (("ok", "out"),)}
    for name, node_ports in ports.items():
        if name == "t":
            continue
        length = draw(st.integers(1, 4 if name in checks else 2))
        cycle = []
        for _ in range(length):
            if draw(st.integers(0, 14)) == 0:
                cycle.append(("fail", None))
            else:
                cycle.append(("ok", draw(st.sampled_from(node_ports))))
        table[name] = tuple(cycle)
    return table


@st.composite
def nested_loops(draw):
    """t -> pre -> o -> [a] -> i -> [b] -> ic; ic:true ~> i; ic:false -> [c] ->
    oc; oc:true ~> o; oc:false -> done: a loop inside a loop, with optional
    nodes in each body, an optional side branch of the outer body joining the
    outer check, and an optional constant from before both loops feeding the
    first node after the inner loop."""
    a, b, c, side, constant = (draw(st.booleans()) for _ in range(5))
    outer_body = ["o", *(["a"] * a), "i"]
    inner_body = ["i", *(["b"] * b), "ic"]
    after_inner = [*(["c"] * c), "oc"]
    names = ["t", "pre", *outer_body[:-1], *inner_body, *after_inner[:-1]]
    names += [*(["side"] * side), "oc", "done"]
    edges: list[s.EdgeSpec] = []

    def link(source: str, target: str, port: str = "out", loop: bool = False) -> None:
        edges.append(s.EdgeSpec(f"e{len(edges)}", source, target, port, loop))

    for source, target in [("t", "pre"), ("pre", "o"), *itertools.pairwise(outer_body)]:
        link(source, target)
    for source, target in itertools.pairwise(inner_body):
        link(source, target)
    link("ic", after_inner[0], "false")
    for source, target in itertools.pairwise(after_inner):
        link(source, target)
    link("ic", "i", "true", loop=True)
    link("oc", "o", "true", loop=True)
    link("oc", "done", "false")
    if side:
        link("o", "side")
        link("side", "oc")
    if constant:
        link("pre", after_inner[0])
    ports = {n: ("true", "false") if n in ("ic", "oc") else ("out",) for n in names}
    nodes = [
        s.NodeSpec(
            n, join=draw(st.sampled_from(["all", "any"])), max_visits=draw(st.integers(1, 12))
        )
        for n in names
    ]
    return s.Topology(nodes, edges), draw(outcome_tables(ports, {"ic": 1, "oc": 1}))


@st.composite
def random_loops(draw):
    """A random DAG (as :func:`dags`) with one to three loop edges from a
    node back to itself or an earlier one: nested, overlapping, sequential
    and parallel loops all come up."""
    topology, _outcomes = draw(dags())
    names = list(topology.nodes)
    ports = {n: _ports(topology, n) for n in names}
    edges = list(topology.edges)
    checks: dict[str, int] = {}
    for index in range(draw(st.integers(1, 3))):
        source = names[draw(st.integers(1, len(names) - 1))]
        target = names[draw(st.integers(1, names.index(source)))]
        port = draw(st.sampled_from(ports[source]))
        edges.append(s.EdgeSpec(f"l{index}", source, target, port, loop=True))
        checks[source] = 1
    nodes = [
        s.NodeSpec(n.id, join=n.join, max_visits=draw(st.integers(1, 4)))
        for n in topology.nodes.values()
    ]
    return s.Topology(nodes, edges), draw(outcome_tables(ports, checks))


def _ports(topology: s.Topology, node: str) -> tuple[str, ...]:
    """The ports a generated node ends on: those its edges leave from, and out."""
    return tuple(sorted({e.source_port for e in topology.outgoing[node]} - {"error"} | {"out"}))


def reference_rounds(topology: s.Topology, outcome) -> tuple[str, dict]:
    """Contract 1.1 with loops, played sequentially: a round runs every node
    of its region in document order (generated graphs list nodes in
    topological order), then each loop edge it took (in edge order) starts a
    child round over everything downstream of the edge's target. A node's
    n-th visit is its n-th round in that order. Inputs from outside a round
    come from the enclosing round; only edges from the round itself, from
    nodes in a maximal set of loops among the node's inputs, can make it run.
    Returns ``("failed", {})`` or ``("succeeded", {(node, visit): (status,
    port)})``."""
    order = list(topology.nodes)
    outgoing = {n: [e for e in topology.edges if e.source == n and not e.loop] for n in order}
    incoming = {n: [e for e in topology.edges if e.target == n and not e.loop] for n in order}
    loop_edges = [e for e in topology.edges if e.loop]

    def downstream(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo += [e.target for e in outgoing[node]]
        return seen

    regions = {e.target: downstream(e.target) for e in loop_edges}
    loops_of = {n: {h for h, members in regions.items() if n in members} for n in order}
    visits: dict[str, int] = dict.fromkeys(order, 0)
    runs: dict[str, int] = dict.fromkeys(order, 0)
    steps: dict[tuple[str, int], tuple[str, str | None]] = {}

    class RunFailed(Exception):
        pass

    def takes(ended: tuple[str, str | None], edge: s.EdgeSpec) -> bool:
        return ended[0] != "skipped" and ended[1] == edge.source_port

    def play(region: set[str], start: str | None, enclosing: list[dict]) -> None:
        mine: dict[str, tuple[str, str | None]] = {}
        scopes = [(region, mine), *enclosing]
        limited = set()

        def seen_from(node: str) -> tuple[dict, tuple[str, str | None]]:
            for members, ended in scopes:
                if node in members:
                    return ended, ended[node]
            raise AssertionError(node)

        for node in order:
            if node not in region:
                continue
            visits[node] += 1
            if node == start:
                runs_now = True
            elif not incoming[node]:
                runs_now = node == "t" and start is None
            else:
                runs_now = False
                for edge in incoming[node]:
                    where, ended = seen_from(edge.source)
                    decisive = where is mine and not any(
                        loops_of[edge.source] < loops_of[other.source] for other in incoming[node]
                    )
                    runs_now = runs_now or (decisive and takes(ended, edge))
            if not runs_now:
                mine[node] = ("skipped", None)
            else:
                runs[node] += 1
                routed = any(e.source_port == "error" for e in topology.outgoing[node])
                if runs[node] > topology.nodes[node].max_visits:
                    kind, port = "fail", None
                    limited.add(node)
                else:
                    kind, port = outcome(node, visits[node])
                if kind == "fail" and not routed:
                    raise RunFailed
                mine[node] = ("succeeded", port) if kind == "ok" else ("failed", "error")
            steps[(node, visits[node])] = mine[node]
        for edge in loop_edges:
            if (
                edge.source in region
                and edge.source not in limited
                and takes(mine[edge.source], edge)
            ):
                play(regions[edge.target], edge.target, [(region, mine), *enclosing])

    try:
        play(set(order), None, [])
    except RunFailed:
        return "failed", {}
    return "succeeded", steps


class SchedulerMachine(RuleBasedStateMachine):
    @initialize(data=st.data())
    def build(self, data) -> None:
        kind = data.draw(st.sampled_from(["dag", "nested", "loops"]), label="graph kind")
        if kind == "dag":
            self.topology, outcomes = data.draw(dags())
            self.decide = lambda node, visit: outcomes[node]
            status, sinks = reference(self.topology, outcomes)
            self.expected, self.expected_steps = status, None
            self.expected_sinks = sinks
        else:
            strategy = nested_loops() if kind == "nested" else random_loops()
            self.topology, table = data.draw(strategy)
            self.decide = from_table(table)
            self.expected, self.expected_steps = reference_rounds(self.topology, self.decide)
        self.sim = Simulation(self.topology).start()

    @precondition(lambda self: self.sim.failed is None and self.sim.queued())
    @rule(choice=st.integers(0, 1000))
    def end_a_queued_step(self, choice: int) -> None:
        queue = self.sim.queued()
        key = queue[choice % len(queue)]
        self.sim.end(key, self.decide(*key))  # Simulation.apply asserts nothing is planned twice

    @precondition(lambda self: any(v.status in s.ENDED for v in self.sim.state.steps.values()))
    @rule(choice=st.integers(0, 1000))
    def deliver_an_end_twice(self, choice: int) -> None:
        ended = [k for k, v in self.sim.state.steps.items() if v.status in s.ENDED]
        plan = s.after(self.topology, self.sim.state, [ended[choice % len(ended)]])
        assert plan.steps == [] and plan.edges == []

    @invariant()
    def steps_are_unique_and_visits_bounded(self) -> None:
        if not hasattr(self, "sim"):
            return
        assert len(self.sim.created) == len(set(self.sim.created))
        for node in self.topology.nodes.values():
            ran = [
                key
                for key, step in self.sim.state.steps.items()
                if key[0] == node.id and step.status != s.SKIPPED and key not in self.sim.limited
            ]
            assert len(ran) <= node.max_visits  # the visits beyond failed with LoopLimitExceeded

    def teardown(self) -> None:
        if not hasattr(self, "sim"):
            return
        self.sim.run(self.decide)
        assert self.sim.outcome == self.expected
        if self.expected == "failed":
            return
        assert all(v.status in s.ENDED for v in self.sim.state.steps.values()), "a step is pending"
        if self.expected_steps is None:
            assert set(s.output_nodes(self.topology, self.sim.state)) == self.expected_sinks
            decided = {node for node, _visit in self.sim.state.steps}
            assert decided == set(self.topology.nodes), "a node was never decided"
            return
        # every visit of every node, in the reference's numbering (1, 2, 3, ... per node)
        got = {key: (step.status, step.port) for key, step in self.sim.state.steps.items()}
        assert got == self.expected_steps


SchedulerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSchedulerMachine = SchedulerMachine.TestCase
