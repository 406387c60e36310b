"""Table-driven tests of every rule of contract section 1.1 on the pure scheduler."""

from __future__ import annotations

import pytest

from runtime import scheduler as s
from tests.runtime.scheduler_support import Simulation, topology


def ports(**chosen: str):
    """An outcome function: nodes end on the given port ("fail" fails), else "out"."""

    def decide(node: str, visit: int):
        port = chosen.get(node, "out")
        return ("fail", None) if port == "fail" else ("ok", port)

    return decide


CASES = [
    # (name, topology, outcome ports, expected statuses, run outcome)
    (
        "linear chain runs every node",
        topology("t a b", "t->a", "a->b"),
        {},
        {"t": "succeeded", "a": "succeeded", "b": "succeeded"},
        "succeeded",
    ),
    (
        "if/else re-joins without a special node (dead path elimination)",
        topology(
            "t if yes no join", "t->if", "if:true->yes", "if:false->no", "yes->join", "no->join"
        ),
        {"if": "true"},
        {"yes": "succeeded", "no": "skipped", "join": "succeeded"},
        "succeeded",
    ),
    (
        "a join whose inputs were all skipped is skipped, and so is what follows",
        topology(
            "t if a b join after",
            "t->if",
            "if:true->a",
            "if:true->b",
            "a->join",
            "b->join",
            "join->after",
        ),
        {"if": "false"},
        {"a": "skipped", "b": "skipped", "join": "skipped", "after": "skipped"},
        "succeeded",
    ),
    (
        "join any runs once although every input is taken",
        topology("t a b j", "t->a", "t->b", "a->j", "b->j", j={"join": "any"}),
        {},
        {"a": "succeeded", "b": "succeeded", "j": "succeeded"},
        "succeeded",
    ),
    (
        "join any is skipped only when every input is skipped",
        topology(
            "t if a b j", "t->if", "if:true->a", "if:true->b", "a->j", "b->j", j={"join": "any"}
        ),
        {"if": "false"},
        {"a": "skipped", "b": "skipped", "j": "skipped"},
        "succeeded",
    ),
    (
        "a failure with an error edge ends on the error port",
        topology("t a ok handler", "t->a", "a->ok", "a:error->handler"),
        {"a": "fail"},
        {"a": "failed", "ok": "skipped", "handler": "succeeded"},
        "succeeded",
    ),
    (
        "a failure without an error edge fails the run",
        topology("t a b", "t->a", "a->b"),
        {"a": "fail"},
        {"a": "failed", "b": None},
        "failed",
    ),
    (
        "a switch takes the matching port only",
        topology("t sw x y z", "t->sw", "sw:x->x", "sw:y->y", "sw:default->z"),
        {"sw": "y"},
        {"x": "skipped", "y": "succeeded", "z": "skipped"},
        "succeeded",
    ),
    (
        "a disabled node passes through on every non-error edge",
        topology("t if a b", "t->if", "if:true->a", "if:error->b", **{"if": {"disabled": True}}),
        {},
        {"if": "succeeded", "a": "succeeded", "b": "skipped"},
        "succeeded",
    ),
    (
        "other roots (a second trigger, an orphan) are skipped at start",
        topology("t hook orphan a", "t->a", "hook->a"),
        {},
        {"hook": "skipped", "orphan": "skipped", "a": "succeeded"},
        "succeeded",
    ),
]


@pytest.mark.parametrize(
    ("graph", "chosen", "expected", "run_outcome"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rules(graph, chosen, expected, run_outcome) -> None:
    sim = Simulation(graph).start().run(ports(**chosen))
    assert {node: sim.status(node) for node in expected} == expected
    assert sim.outcome == run_outcome


def test_fan_out_queues_every_branch_at_once() -> None:
    sim = Simulation(topology("t a b c j", "t->a", "t->b", "t->c", "a->j", "b->j", "c->j")).start()
    plan = sim.end(("t", 1), ("ok", "out"))
    assert sorted(step.node_id for step in plan.steps) == ["a", "b", "c"]
    assert {step.status for step in plan.steps} == {"queued"}


def test_join_all_waits_for_every_input_and_gets_them_in_edge_order() -> None:
    sim = Simulation(topology("t a b j", "t->a", "t->b", "a->j", "b->j")).start()
    sim.end(("t", 1), ("ok", "out"))
    assert sim.end(("b", 1), ("ok", "out")).steps == []
    plan = sim.end(("a", 1), ("ok", "out"))
    assert [(st.node_id, st.inputs) for st in plan.steps] == [("j", (("a", 1), ("b", 1)))]


def test_join_any_fires_on_the_first_taken_edge_only() -> None:
    sim = Simulation(topology("t a b j", "t->a", "t->b", "a->j", "b->j", j={"join": "any"})).start()
    sim.end(("t", 1), ("ok", "out"))
    first = sim.end(("b", 1), ("ok", "out"))
    assert [(st.node_id, st.inputs) for st in first.steps] == [("j", (("b", 1),))]
    assert sim.end(("a", 1), ("ok", "out")).steps == []


def test_applying_an_end_twice_plans_nothing() -> None:
    sim = Simulation(topology("t a b", "t->a", "t->b")).start()
    sim.end(("t", 1), ("ok", "out"))
    assert s.after(sim.topology, sim.state, [("t", 1)]) == s.Plan()


def test_error_port_output_edges_and_failed_run_stop_planning() -> None:
    sim = Simulation(topology("t a b c", "t->a", "t->b", "a->c")).start()
    sim.end(("t", 1), ("ok", "out"))
    plan = sim.end(("a", 1), ("fail", None))
    assert plan.failed == ("a", 1)
    assert plan.steps == []


LOOP = topology(
    "t body check done",
    "t->body",
    "body->check",
    "check:true~>body",
    "check:false->done",
    body={"max_visits": 5},
    check={"max_visits": 5},
)


def until_visit(n: int):
    """The loop's check says "again" (true) until its n-th visit."""

    def decide(node: str, visit: int):
        if node == "check":
            return ("ok", "true" if visit < n else "false")
        return ("ok", "out")

    return decide


def test_loop_runs_each_visit_as_its_own_step() -> None:
    sim = Simulation(LOOP).start().run(until_visit(3))
    assert [k for k in sim.created if k[0] == "body"] == [("body", 1), ("body", 2), ("body", 3)]
    assert sim.inputs[("body", 2)] == (("check", 1),)
    assert sim.inputs[("check", 2)] == (("body", 2),)
    assert sim.status("done", 1) == "skipped" and sim.status("done", 3) == "succeeded"
    assert sim.outcome == "succeeded"
    assert s.output_nodes(LOOP, sim.state) == {"done": 3}


def test_loop_beyond_max_visits_fails_with_loop_limit_exceeded() -> None:
    sim = Simulation(LOOP).start().run(until_visit(99))
    assert sim.failed == ("body", 6)
    assert sim.state.steps[("body", 6)].status == "failed"
    assert sim.outcome == "failed"


def test_loop_limit_is_routed_to_the_error_port_when_there_is_one() -> None:
    graph = topology(
        "t body check limit",
        "t->body",
        "body->check",
        "check:true~>body",
        "body:error->limit",
        body={"max_visits": 2},
        check={"max_visits": 2},
    )
    sim = Simulation(graph).start().run(until_visit(99))
    assert sim.status("body", 3) == "failed"
    assert sim.state.steps[("body", 3)].port == "error"
    assert sim.status("limit", 3) == "succeeded"
    assert sim.outcome == "succeeded"


def test_a_node_outside_the_loop_feeds_every_visit_of_the_body() -> None:
    graph = topology(
        "t config body step check",
        "t->config",
        "t->body",
        "body->step",
        "config->step",
        "step->check",
        "check:true~>body",
        body={"max_visits": 3},
        step={"max_visits": 3},
        check={"max_visits": 3},
    )
    sim = Simulation(graph).start().run(until_visit(3))
    assert sim.inputs[("step", 3)] == (("body", 3), ("config", 1))
    assert sim.outcome == "succeeded"


def test_waiting_step_makes_the_run_wait() -> None:
    sim = Simulation(topology("t a b", "t->a", "t->b")).start()
    sim.end(("t", 1), ("ok", "out"))
    sim.end(("a", 1), ("wait", None))
    assert s.outcome(sim.state) == "running"
    sim.end(("b", 1), ("ok", "out"))
    assert s.outcome(sim.state) == "waiting"


def test_output_is_every_succeeded_sink() -> None:
    graph = topology("t if a b", "t->if", "if:true->a", "if:false->b")
    sim = Simulation(graph).start().run(ports(**{"if": "false"}))
    assert s.output_nodes(graph, sim.state) == {"b": 1}


def test_topology_from_document_applies_defaults() -> None:
    graph = s.Topology.from_document(
        {
            "nodes": [{"id": "t"}, {"id": "a", "join": "any", "max_visits": 3, "disabled": True}],
            "edges": [
                {"id": "e", "source": "t", "target": "a"},
                {"id": "l", "source": "a", "target": "a", "loop": True},
            ],
        }
    )
    assert graph.nodes["a"] == s.NodeSpec("a", "any", 3, True)
    assert graph.edges[0].source_port == "out"
    assert graph.reentrant == {"a"} and graph.loop_targets == {"a"}


def test_a_run_can_start_with_its_trigger_ended() -> None:
    graph = topology("t hook a b", "t->a", "hook->a", "a->b")
    plan = s.start_with_trigger_ended(graph, "t")
    assert [(st.node_id, st.status) for st in plan.steps] == [
        ("t", "succeeded"),
        ("hook", "skipped"),
        ("a", "queued"),
    ]
    assert plan.steps[-1].inputs == (("t", 1),)
    assert sorted(plan.edges) == [("e0", 1, "taken"), ("e1", 1, "skipped")]
