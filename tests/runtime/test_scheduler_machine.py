"""A Hypothesis state machine: random graphs with random outcomes, steps ended
in random order with duplicate deliveries, checked against a small reference
interpreter that runs the graph sequentially in topological order."""

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


@st.composite
def loops(draw):
    """t -> pre -> head -> ... -> check; check:true ~> head; check:false -> done,
    with an optional parallel branch inside the body that re-joins before check."""
    length = draw(st.integers(1, 3))
    limit = draw(st.integers(1, 4))
    rounds = draw(st.integers(1, 5))
    body = [f"b{i}" for i in range(length)]
    names = ["t", "pre", *body, "check", "done"]
    chain = ["t", "pre", *body, "check"]
    edges = [s.EdgeSpec(f"c{i}", a, b) for i, (a, b) in enumerate(itertools.pairwise(chain))]
    edges += [
        s.EdgeSpec("again", "check", "b0", "true", loop=True),
        s.EdgeSpec("exit", "check", "done", "false"),
    ]
    if draw(st.booleans()):
        names.insert(-2, "side")
        edges += [s.EdgeSpec("s1", "b0", "side"), s.EdgeSpec("s2", "side", "check")]
    looped = set(body) | {"check", "side"}
    nodes = [s.NodeSpec(n, max_visits=limit if n in looped else 1) for n in names]
    return s.Topology(nodes, edges), rounds, limit


class SchedulerMachine(RuleBasedStateMachine):
    @initialize(data=st.data())
    def build(self, data) -> None:
        if data.draw(st.booleans(), label="loop graph"):
            self.topology, rounds, limit = data.draw(loops())
            self.decide = lambda node, visit: (
                ("ok", "true" if visit < rounds else "false") if node == "check" else ("ok", "out")
            )
            self.expected = ("succeeded", {"done"}) if rounds <= limit else ("failed", set())
        else:
            self.topology, outcomes = data.draw(dags())
            self.decide = lambda node, visit: outcomes[node]
            self.expected = reference(self.topology, outcomes)
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
            runs = [
                k
                for k, v in self.sim.state.steps.items()
                if k[0] == node.id and v.status != s.SKIPPED
            ]
            assert (
                len(runs) <= node.max_visits + 1
            )  # the extra one is the LoopLimitExceeded failure

    def teardown(self) -> None:
        if not hasattr(self, "sim"):
            return
        self.sim.run(self.decide)
        status, sinks = self.expected
        assert self.sim.outcome == status
        if status == "succeeded":
            assert set(s.output_nodes(self.topology, self.sim.state)) == sinks
            decided = {node for node, _visit in self.sim.state.steps}
            assert decided == set(self.topology.nodes), "a node was never decided"
            assert all(v.status in s.ENDED for v in self.sim.state.steps.values())


SchedulerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSchedulerMachine = SchedulerMachine.TestCase
