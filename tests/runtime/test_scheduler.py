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


# -- nested, sequential and parallel loops ------------------------------------------


def nested(inner_limit: int = 50, outer_limit: int = 50, **more: dict):
    """An outer loop (o .. oc ~> o) around an inner one (i .. ic ~> i)."""
    inner = {"max_visits": inner_limit}
    return topology(
        "t o i ic oc done",
        "t->o",
        "o->i",
        "i->ic",
        "ic:true~>i",
        "ic:false->oc",
        "oc:true~>o",
        "oc:false->done",
        o={"max_visits": outer_limit},
        i=inner,
        ic=inner,
        oc=inner,
        done=inner,
        **more,
    )


def rounds(outer: int, inner: int):
    """The inner check says "again" until its inner-th visit of a round; the
    outer check until the outer-th round (its visits are the inner ends)."""

    def decide(node: str, visit: int):
        if node == "ic":
            return ("ok", "true" if visit % inner else "false")
        if node == "oc":
            return ("ok", "true" if visit < inner * outer else "false")
        return ("ok", "out")

    return decide


def visits(sim: Simulation, node: str) -> list[tuple[int, str]]:
    return sorted((v, step.status) for (n, v), step in sim.state.steps.items() if n == node)


@pytest.mark.parametrize(("outer", "inner"), [(1, 1), (1, 3), (2, 1), (2, 2), (3, 2), (2, 4)])
def test_nested_loop_numbers_every_node_s_visits_one_by_one(outer: int, inner: int) -> None:
    sim = Simulation(nested()).start().run(rounds(outer, inner))
    total = outer * inner
    ran, skipped = "succeeded", "skipped"
    assert visits(sim, "o") == [(v, ran) for v in range(1, outer + 1)]
    assert visits(sim, "i") == [(v, ran) for v in range(1, total + 1)]
    assert visits(sim, "ic") == [(v, ran) for v in range(1, total + 1)]
    # the steps after the inner loop's exit get a visit per inner round
    assert visits(sim, "oc") == [
        (v, ran if v % inner == 0 else skipped) for v in range(1, total + 1)
    ]
    assert visits(sim, "done") == [(v, ran if v == total else skipped) for v in range(1, total + 1)]
    assert sim.outcome == "succeeded"
    assert s.output_nodes(sim.topology, sim.state) == {"done": total}


@pytest.mark.parametrize(("outer", "inner"), [(2, 2), (3, 2), (2, 3)])
def test_nested_loop_feeds_each_visit_from_the_right_visit(outer: int, inner: int) -> None:
    sim = Simulation(nested()).start().run(rounds(outer, inner))
    for r in range(1, outer + 1):
        first = (r - 1) * inner + 1  # the inner loop's first visit in outer round r
        assert sim.inputs[("i", first)] == (("o", r),)
        if r > 1:
            assert sim.inputs[("o", r)] == (("oc", first - 1),)
        for v in range(first + 1, first + inner):
            assert sim.inputs[("i", v)] == (("ic", v - 1),)
        assert sim.inputs[("oc", first + inner - 1)] == (("ic", first + inner - 1),)


def test_nested_loop_edge_states_are_keyed_by_their_source_s_visit() -> None:
    sim = Simulation(nested()).start().run(rounds(3, 2))
    for (edge_id, visit), _value in sim.state.edges.items():
        edge = next(e for e in sim.topology.edges if e.id == edge_id)
        assert sim.state.steps[(edge.source, visit)].status in s.ENDED
    for (node, visit), step in sim.state.steps.items():
        for edge in sim.topology.outgoing[node]:
            assert ((edge.id, visit) in sim.state.edges) == (step.status in s.ENDED)


@pytest.mark.parametrize(
    ("outer", "inner", "inner_limit", "outer_limit", "failed"),
    [
        (2, 2, 3, 5, ("i", 4)),  # max_visits counts the inner visits of every outer round
        (2, 2, 4, 5, None),
        (3, 1, 5, 2, ("o", 3)),
        (3, 1, 5, 3, None),
    ],
)
def test_nested_loops_are_bounded_by_max_visits(
    outer: int, inner: int, inner_limit: int, outer_limit: int, failed
) -> None:
    sim = Simulation(nested(inner_limit, outer_limit)).start().run(rounds(outer, inner))
    assert sim.failed == failed
    if failed:
        assert sim.state.steps[failed].status == "failed"
        assert sim.outcome == "failed"
    else:
        assert sim.outcome == "succeeded"


@pytest.mark.parametrize("seed", range(12))
def test_nested_loop_visits_do_not_depend_on_the_order_steps_end(seed: int) -> None:
    import random

    graph = topology(
        "t o i side ic oc done",
        "t->o",
        "o->i",
        "o->side",
        "i->ic",
        "ic:true~>i",
        "ic:false->oc",
        "side->oc",
        "oc:true~>o",
        "oc:false->done",
        **{n: {"max_visits": 50} for n in ("o", "i", "side", "ic", "oc", "done")},
    )
    decide = rounds(3, 2)
    in_order = Simulation(graph).start().run(decide)
    chooser = random.Random(seed)
    shuffled = Simulation(graph).start()
    while queue := shuffled.queued():
        key = chooser.choice(queue)
        shuffled.end(key, decide(*key))
    assert shuffled.state.steps == in_order.state.steps
    assert shuffled.state.edges == in_order.state.edges


def test_a_join_after_the_inner_loop_with_an_outer_input_runs_once_per_outer_round() -> None:
    """``side`` runs once per outer round; ``oc`` joins it with the inner
    loop's exit and runs only in the round where the inner loop exits."""
    graph = topology(
        "t o i side ic oc done",
        "t->o",
        "o->i",
        "o->side",
        "i->ic",
        "ic:true~>i",
        "ic:false->oc",
        "side->oc",
        "oc:true~>o",
        "oc:false->done",
        **{n: {"max_visits": 50} for n in ("o", "i", "side", "ic", "oc", "done")},
    )
    sim = Simulation(graph).start().run(rounds(2, 3))
    assert visits(sim, "side") == [(1, "succeeded"), (2, "succeeded")]
    assert [v for v, status in visits(sim, "oc") if status == "succeeded"] == [3, 6]
    assert sim.inputs[("oc", 6)] == (("ic", 6), ("side", 2))
    assert sim.outcome == "succeeded"


def test_a_constant_from_outside_a_loop_that_ends_late_still_decides_every_round() -> None:
    graph = topology(
        "t config body check done",
        "t->config",
        "t->body",
        "body->check",
        "check:true~>body",
        "check:false->done",
        "config->done",
        **{n: {"max_visits": 5} for n in ("body", "check", "done")},
    )
    sim = Simulation(graph).start()
    sim.end(("t", 1), ("ok", "out"))
    decide = until_visit(3)
    while queue := [k for k in sim.queued() if k[0] != "config"]:
        sim.end(queue[0], decide(*queue[0]))
    assert visits(sim, "done") == [(1, "skipped"), (2, "skipped")]  # round 3 waits for config
    sim.end(("config", 1), ("ok", "out"))
    assert visits(sim, "done") == [(1, "skipped"), (2, "skipped"), (3, "queued")]
    sim.run(decide)
    assert sim.inputs[("done", 3)] == (("check", 3), ("config", 1))
    assert sim.outcome == "succeeded"


def test_sequential_loops_number_the_second_loop_from_one() -> None:
    graph = topology(
        "t a ca b cb done",
        "t->a",
        "a->ca",
        "ca:true~>a",
        "ca:false->b",
        "b->cb",
        "cb:true~>b",
        "cb:false->done",
        **{n: {"max_visits": 9} for n in ("a", "ca", "b", "cb", "done")},
    )

    def decide(node: str, visit: int):
        if node == "ca":
            return ("ok", "true" if visit < 3 else "false")
        if node == "cb":  # b's runs are its visits 3 and 4 (1 and 2 were skipped)
            return ("ok", "true" if visit < 4 else "false")
        return ("ok", "out")

    sim = Simulation(graph).start().run(decide)
    assert visits(sim, "a") == [(v, "succeeded") for v in (1, 2, 3)]
    assert visits(sim, "b") == [(1, "skipped"), (2, "skipped"), (3, "succeeded"), (4, "succeeded")]
    assert sim.inputs[("b", 4)] == (("cb", 3),)
    assert s.output_nodes(graph, sim.state) == {"done": 4}
    assert sim.outcome == "succeeded"


def test_parallel_loops_decide_every_visit_of_the_join_after_them() -> None:
    graph = topology(
        "t a ca b cb j",
        "t->a",
        "t->b",
        "a->ca",
        "ca:true~>a",
        "b->cb",
        "cb:true~>b",
        "ca:false->j",
        "cb:false->j",
        **{n: {"max_visits": 9} for n in ("a", "ca", "b", "cb", "j")},
    )

    def decide(node: str, visit: int):
        if node in ("ca", "cb"):
            return ("ok", "true" if visit < (3 if node == "ca" else 2) else "false")
        return ("ok", "out")

    finals = []
    for order in (0, -1):  # a's loop first, or b's
        sim = Simulation(graph).start()
        while queue := sim.queued():
            sim.end(queue[order], decide(*queue[order]))
        assert visits(sim, "a") == [(v, "succeeded") for v in (1, 2, 3)]
        assert visits(sim, "b") == [(v, "succeeded") for v in (1, 2)]
        # j has a visit in the first round and in each later round of either
        # loop, and runs in the round where that loop exits (a limitation:
        # a join after two parallel loops runs once per loop, see docs)
        assert visits(sim, "j") == [
            (1, "skipped"),
            (2, "skipped"),
            (3, "succeeded"),
            (4, "succeeded"),
        ]
        assert all(step.status in s.ENDED for step in sim.state.steps.values())
        assert sim.outcome == "succeeded"
        finals.append(sim.state.steps)
    assert finals[0] == finals[1]


def test_visible_visits_read_the_step_s_own_round_or_the_one_before() -> None:
    decide = rounds(2, 2)
    sim = Simulation(nested()).start()
    while ("i", 3) not in sim.queued():
        key = sim.queued()[0]
        sim.end(key, decide(*key))
    graph = sim.topology
    # the second outer round's first inner visit (i#3) sees o#2; ic and oc as
    # they ended in the round before (ic#2, oc#2); t from the first round
    assert s.visible_visits(graph, sim.state, "i", 3) == {"t": 1, "o": 2, "ic": 2, "oc": 2}
    sim.run(decide)
    # later, a visit of the first outer round still never sees the second's
    seen = s.visible_visits(graph, sim.state, "ic", 2)
    assert seen["o"] == 1 and seen["i"] == 2 and seen["oc"] == 2
    assert "done" not in s.visible_visits(graph, sim.state, "oc", 3)  # done ran at visit 4
    dag = Simulation(topology("t a b", "t->a", "a->b")).start().run()
    assert s.visible_visits(dag.topology, dag.state, "b", 1) == {"t": 1, "a": 1}
