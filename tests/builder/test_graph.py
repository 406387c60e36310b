"""The workflow graph document (contract section 1): validation and structure.

No database. The catalog is a small fake built here, so these tests do not
depend on the real node types.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Collection, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import Field

from builder.graph import (
    MAX_DOCUMENT_BYTES,
    MAX_EDGES,
    MAX_NODES,
    NODE_KEYS,
    Edge,
    Graph,
    GraphCycleError,
    GraphInvalid,
    Issue,
    Node,
    RetryPolicy,
    parse,
    validate,
)
from builder.nodes.base import NodeConfig, NodeType
from builder.nodes.registry import Registry

# --------------------------------------------------------------------------
# A fake catalog

catalog = Registry()


class ManualConfig(NodeConfig):
    input_schema: dict[str, Any] | None = None


@catalog.register
class Manual(NodeType):
    key = "trigger.manual"
    is_trigger = True
    Config = ManualConfig


@catalog.register
class Webhook(NodeType):
    key = "trigger.webhook"
    is_trigger = True


class IfConfig(NodeConfig):
    condition: str


@catalog.register
class If(NodeType):
    key = "logic.if"
    Config = IfConfig
    ports = ("true", "false")
    expression_fields = ("condition",)


class SwitchConfig(NodeConfig):
    value: str
    cases: list[str]


@catalog.register
class Switch(NodeType):
    key = "logic.switch"
    Config = SwitchConfig
    expression_fields = ("value",)

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        return [*config["cases"], "default"]


class SentimentConfig(NodeConfig):
    text: str


@catalog.register
class Sentiment(NodeType):
    key = "ai.sentiment"
    Config = SentimentConfig


class LlmConfig(NodeConfig):
    credential: str
    model: str
    prompt: str
    temperature: float = Field(default=0.7, ge=0, le=2)


@catalog.register
class Llm(NodeType):
    key = "ai.llm"
    Config = LlmConfig


class ApprovalConfig(NodeConfig):
    title: str
    assignees: dict[str, list[str]]
    auto_approve_if: str | None = None


@catalog.register
class Approval(NodeType):
    key = "human.approval"
    Config = ApprovalConfig
    ports = ("approved", "rejected", "timeout")
    expression_fields = ("auto_approve_if",)


class TransformConfig(NodeConfig):
    output: Any = None


@catalog.register
class Transform(NodeType):
    key = "data.transform"
    Config = TransformConfig


@catalog.register
class PassV1(NodeType):
    key = "data.pass"
    version = 1


@catalog.register
class PassV2(NodeType):
    key = "data.pass"
    version = 2


@catalog.register
class Fail(NodeType):
    key = "flow.fail"
    ports = ()


@catalog.register
class Broken(NodeType):
    """A node type whose own checks raise: validation must survive it."""

    key = "test.broken"

    def config_errors(self, config: Any) -> list[tuple[str, str]]:
        raise RuntimeError("boom")

    def ports_for(self, config: Mapping[str, Any]) -> list[str]:
        raise RuntimeError("boom")


# --------------------------------------------------------------------------
# Documents

CONTRACT_EXAMPLE: dict[str, Any] = {
    "version": 1,
    "nodes": [
        {
            "id": "start",
            "type": "trigger.manual",
            "name": "Ticket in",
            "config": {},
            "position": {"x": 0, "y": 0},
        },
        {"id": "mood", "type": "ai.sentiment", "config": {"text": "{{ trigger.message }}"}},
        {
            "id": "is_negative",
            "type": "logic.if",
            "config": {"condition": "nodes.mood.output.label == 'negative'"},
        },
        {
            "id": "draft",
            "type": "ai.llm",
            "config": {
                "credential": "openai-main",
                "model": "gpt-4o-mini",
                "prompt": "Reply kindly to: {{ trigger.message }}",
            },
            "retry": {"max_attempts": 3, "backoff_s": 1, "backoff_factor": 2},
            "timeout_s": 60,
        },
        {
            "id": "review",
            "type": "human.approval",
            "config": {"title": "Angry customer", "assignees": {"roles": ["approver"]}},
        },
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "mood"},
        {"id": "e2", "source": "mood", "target": "is_negative"},
        {"id": "e3", "source": "is_negative", "source_port": "true", "target": "review"},
        {"id": "e4", "source": "is_negative", "source_port": "false", "target": "draft"},
        {"id": "e5", "source": "draft", "source_port": "error", "target": "review"},
    ],
}


def node(node_id: str, type_: str = "data.pass", **fields: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, **fields}


def edge(edge_id: str, source: str, target: str, **fields: Any) -> dict[str, Any]:
    return {"id": edge_id, "source": source, "target": target, **fields}


def document(nodes: list[Any], edges: list[Any]) -> dict[str, Any]:
    return {"version": 1, "nodes": nodes, "edges": edges}


def chain(
    *extra_nodes: dict[str, Any], extra_edges: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """start -> a -> b, plus whatever a case adds."""
    return document(
        [node("start", "trigger.manual"), node("a"), node("b"), *extra_nodes],
        [edge("e1", "start", "a"), edge("e2", "a", "b"), *extra_edges],
    )


def with_node(**fields: Any) -> dict[str, Any]:
    """The chain with node ``a`` changed."""
    doc = chain()
    doc["nodes"][1] = {**doc["nodes"][1], **fields}
    return doc


def with_edge(**fields: Any) -> dict[str, Any]:
    """The chain with edge ``e2`` changed."""
    doc = chain()
    doc["edges"][1] = {**doc["edges"][1], **fields}
    return doc


def llm(node_id: str, **config: Any) -> dict[str, Any]:
    base = {"credential": "c", "model": "m", "prompt": "Hi"}
    return node(node_id, "ai.llm", config={**base, **config})


def keys(issues: list[Issue]) -> set[tuple[str | None, str, str]]:
    return {(issue.node_id, issue.field, issue.code) for issue in issues}


# --------------------------------------------------------------------------
# Valid documents

VALID: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("contract example", CONTRACT_EXAMPLE, ("start", "mood", "is_negative", "draft", "review")),
    ("trigger alone", document([node("start", "trigger.manual")], []), ("start",)),
    ("chain", chain(), ("start", "a", "b")),
    (
        "nulls mean defaults",
        document(
            [
                node(
                    "start",
                    "trigger.manual",
                    config=None,
                    retry=None,
                    timeout_s=None,
                    join=None,
                    max_visits=None,
                    disabled=None,
                    name=None,
                    notes=None,
                    position=None,
                    type_version=None,
                ),
                node("a", retry={"max_attempts": None, "backoff_s": None}),
            ],
            [edge("e1", "start", "a", source_port=None, loop=None)],
        ),
        ("start", "a"),
    ),
    (
        "loop back to an upstream node",
        chain(extra_edges=(edge("back", "b", "a", loop=True),)),
        ("start", "a", "b"),
    ),
    (
        "self loop",
        chain(extra_edges=(edge("again", "b", "b", loop=True),)),
        ("start", "a", "b"),
    ),
    (
        "switch ports come from its config",
        document(
            [
                node("start", "trigger.manual"),
                node(
                    "route",
                    "logic.switch",
                    config={"value": "trigger.kind", "cases": ["bug", "idea"]},
                ),
                node("bug"),
                node("other"),
            ],
            [
                edge("e1", "start", "route"),
                edge("e2", "route", "bug", source_port="bug"),
                edge("e3", "route", "other", source_port="default"),
                edge("e4", "route", "other", source_port="error"),
            ],
        ),
        ("start", "route", "bug", "other"),
    ),
    (
        "two triggers and a join any",
        document(
            [
                node("manual", "trigger.manual"),
                node("hook", "trigger.webhook"),
                node("work", join="any", max_visits=3, disabled=True),
            ],
            [edge("e1", "manual", "work"), edge("e2", "hook", "work")],
        ),
        ("manual", "hook", "work"),
    ),
    (
        "ties keep document order",
        document(
            [node("start", "trigger.manual"), node("z"), node("y"), node("x")],
            [edge("e1", "start", "z"), edge("e2", "start", "y"), edge("e3", "start", "x")],
        ),
        ("start", "z", "y", "x"),
    ),
    (
        "edges may come before the nodes they join in order",
        document(
            [node("end"), node("start", "trigger.manual")],
            [edge("e.1:x-y_z", "start", "end")],
        ),
        ("start", "end"),
    ),
    (
        "ids at their limits",
        document(
            [node("_" + "a" * 63, "trigger.manual"), node("B9")],
            [edge("e" * 64, "_" + "a" * 63, "B9")],
        ),
        ("_" + "a" * 63, "B9"),
    ),
    (
        "references to upstream nodes and own output in a loop",
        document(
            [
                node("start", "trigger.manual"),
                llm("draft", prompt="{{ nodes.check.output }} {{ nodes.draft.output.text }}"),
                node(
                    "check", "logic.if", config={"condition": "len(nodes.draft.output.text) > 10"}
                ),
            ],
            [
                edge("e1", "start", "draft"),
                edge("e2", "draft", "check"),
                edge("e3", "check", "draft", source_port="false", loop=True),
            ],
        ),
        ("start", "draft", "check"),
    ),
]


@pytest.mark.parametrize(
    ("doc", "order"), [(d, o) for _, d, o in VALID], ids=[n for n, _, _ in VALID]
)
def test_valid_documents(doc: dict[str, Any], order: tuple[str, ...]) -> None:
    result = validate(copy.deepcopy(doc), catalog)
    assert result.errors == []
    assert result.warnings == []
    assert result.valid
    assert result.graph is not None
    assert result.graph.topological_order() == order


def test_the_contract_example_parses_into_its_dataclasses() -> None:
    graph = parse(CONTRACT_EXAMPLE, catalog)
    assert list(graph.nodes) == ["start", "mood", "is_negative", "draft", "review"]
    draft = graph.nodes["draft"]
    assert draft.retry == RetryPolicy(max_attempts=3, backoff_s=1.0, backoff_factor=2.0)
    assert draft.timeout_s == 60.0
    assert draft.join == "all"
    assert draft.max_visits == 1
    assert draft.type_version == 1
    assert draft.config["model"] == "gpt-4o-mini"
    start = graph.nodes["start"]
    assert start.name == "Ticket in"
    assert start.position == {"x": 0.0, "y": 0.0}
    assert graph.trigger_ids == ("start",)
    assert [n.id for n in graph.triggers()] == ["start"]
    assert graph.edge("e5") == Edge("e5", "draft", "review", "error", False)
    assert [e.id for e in graph.outgoing("is_negative")] == ["e3", "e4"]
    assert [e.id for e in graph.incoming("review")] == ["e3", "e5"]
    assert graph.outgoing("review") == ()
    with pytest.raises(KeyError):
        graph.edge("nope")


def test_type_version_defaults_to_the_newest() -> None:
    doc = document([node("start", "trigger.manual"), node("p"), node("q", type_version=1)], [])
    doc["edges"] = [edge("e1", "start", "p"), edge("e2", "start", "q")]
    graph = parse(doc, catalog)
    assert graph.nodes["p"].type_version == 2
    assert graph.nodes["q"].type_version == 1


# --------------------------------------------------------------------------
# Invalid documents: each names the exact node and field

LONG_ID = "a" * 65

INVALID: list[tuple[str, Any, set[tuple[str | None, str, str]]]] = [
    ("not an object", [], {(None, "", "invalid")}),
    ("a string", "graph", {(None, "", "invalid")}),
    ("null", None, {(None, "", "invalid")}),
    ("wrong version", {**chain(), "version": 2}, {(None, "version", "invalid")}),
    ("boolean version", {**chain(), "version": True}, {(None, "version", "invalid")}),
    (
        "no version",
        {"nodes": chain()["nodes"], "edges": chain()["edges"]},
        {(None, "version", "invalid")},
    ),
    ("unknown top-level key", {**chain(), "viewport": {}}, {(None, "viewport", "invalid")}),
    ("nodes not a list", {"version": 1, "nodes": {}, "edges": []}, {(None, "nodes", "invalid")}),
    (
        "edges missing",
        {"version": 1, "nodes": [node("start", "trigger.manual")]},
        {(None, "edges", "invalid")},
    ),
    (
        "too many nodes",
        {"version": 1, "nodes": [1] * (MAX_NODES + 1), "edges": []},
        {(None, "nodes", "too_large")},
    ),
    (
        "too many edges",
        {"version": 1, "nodes": [node("start", "trigger.manual")], "edges": [1] * (MAX_EDGES + 1)},
        {(None, "edges", "too_large")},
    ),
    ("empty graph", document([], []), {(None, "nodes", "no_trigger")}),
    ("no trigger", document([node("a")], []), {(None, "nodes", "no_trigger")}),
    ("node not an object", chain(5), {(None, "nodes[3]", "invalid")}),
    ("node without id", chain({"type": "data.pass"}), {(None, "nodes[3].id", "invalid_id")}),
    (
        "node with empty id",
        chain({"id": "", "type": "data.pass"}),
        {(None, "nodes[3].id", "invalid_id")},
    ),
    (
        "node with numeric id",
        chain({"id": 7, "type": "data.pass"}),
        {(None, "nodes[3].id", "invalid_id")},
    ),
    ("id with a space", chain(node("bad id")), {("bad id", "id", "invalid_id")}),
    ("id starting with a digit", chain(node("1a")), {("1a", "id", "invalid_id")}),
    ("id with a dash", chain(node("a-b")), {("a-b", "id", "invalid_id")}),
    ("id too long", chain(node(LONG_ID)), {(LONG_ID, "id", "invalid_id")}),
    ("id with a newline", chain(node("ab\n")), {("ab\n", "id", "invalid_id")}),
    ("duplicate node id", chain(node("a")), {("a", "id", "duplicate_id")}),
    ("unknown node key", with_node(colour="red"), {("a", "colour", "invalid")}),
    ("node without type", with_node(type=None), {("a", "type", "unknown_type")}),
    ("unknown type", with_node(type="data.nope"), {("a", "type", "unknown_type")}),
    ("unknown type version", with_node(type_version=3), {("a", "type_version", "unknown_type")}),
    ("type version as text", with_node(type_version="2"), {("a", "type_version", "invalid")}),
    ("type version zero", with_node(type_version=0), {("a", "type_version", "invalid")}),
    ("config not an object", with_node(config=[1]), {("a", "config", "invalid")}),
    ("config with unknown key", with_node(config={"x": 1}), {("a", "config.x", "invalid_config")}),
    (
        "config missing a field",
        chain(node("llm", "ai.llm", config={"credential": "c", "model": "m"})),
        {("llm", "config.prompt", "invalid_config")},
    ),
    (
        "config with a bad value",
        chain(llm("llm", temperature=3)),
        {("llm", "config.temperature", "invalid_config")},
    ),
    (
        "config of a wrong type",
        chain(llm("llm", model=5)),
        {("llm", "config.model", "invalid_config")},
    ),
    (
        "condition does not parse",
        chain(node("check", "logic.if", config={"condition": "x =="})),
        {("check", "config.condition", "invalid_expression")},
    ),
    (
        "condition written as a template",
        chain(node("check", "logic.if", config={"condition": "{{ trigger.ok }}"})),
        {("check", "config.condition", "invalid_expression")},
    ),
    (
        "empty condition",
        chain(node("check", "logic.if", config={"condition": ""})),
        {("check", "config.condition", "invalid_expression")},
    ),
    (
        "condition trying an escape",
        chain(node("check", "logic.if", config={"condition": "trigger.__class__"})),
        {("check", "config.condition", "invalid_expression")},
    ),
    (
        "optional expression field",
        chain(
            node(
                "review",
                "human.approval",
                config={"title": "t", "assignees": {}, "auto_approve_if": "len(x)"},
            )
        ),
        {("review", "config.auto_approve_if", "invalid_expression")},
    ),
    (
        "template does not parse",
        chain(llm("llm", prompt="Hi {{ trigger. }}")),
        {("llm", "config.prompt", "invalid_template")},
    ),
    (
        "template not closed",
        chain(llm("llm", prompt="Hi {{ trigger.x")),
        {("llm", "config.prompt", "invalid_template")},
    ),
    (
        "nested template does not parse",
        chain(node("t", "data.transform", config={"output": {"a": ["ok", "{{ 1 + }}"]}})),
        {("t", "config.output.a[1]", "invalid_template")},
    ),
    (
        "template in an unknown type's config",
        with_node(type="data.nope", config={"x": "{{ ( }}"}),
        {("a", "type", "unknown_type"), ("a", "config.x", "invalid_template")},
    ),
    (
        "reference to a missing node",
        chain(llm("llm", prompt="{{ nodes.ghost.output.text }}")),
        {("llm", "config.prompt", "unknown_reference")},
    ),
    (
        "condition refers to a missing node",
        chain(node("check", "logic.if", config={"condition": "nodes['ghost'].output"})),
        {("check", "config.condition", "unknown_reference")},
    ),
    ("retry not an object", with_node(retry=3), {("a", "retry", "invalid")}),
    ("retry unknown key", with_node(retry={"attempts": 3}), {("a", "retry.attempts", "invalid")}),
    (
        "zero attempts",
        with_node(retry={"max_attempts": 0}),
        {("a", "retry.max_attempts", "invalid")},
    ),
    (
        "too many attempts",
        with_node(retry={"max_attempts": 21}),
        {("a", "retry.max_attempts", "invalid")},
    ),
    (
        "boolean attempts",
        with_node(retry={"max_attempts": True}),
        {("a", "retry.max_attempts", "invalid")},
    ),
    (
        "fractional attempts",
        with_node(retry={"max_attempts": 2.5}),
        {("a", "retry.max_attempts", "invalid")},
    ),
    ("negative backoff", with_node(retry={"backoff_s": -1}), {("a", "retry.backoff_s", "invalid")}),
    ("long backoff", with_node(retry={"backoff_s": 3601}), {("a", "retry.backoff_s", "invalid")}),
    (
        "small factor",
        with_node(retry={"backoff_factor": 0.5}),
        {("a", "retry.backoff_factor", "invalid")},
    ),
    (
        "large factor",
        with_node(retry={"backoff_factor": 11}),
        {("a", "retry.backoff_factor", "invalid")},
    ),
    (
        "text factor",
        with_node(retry={"backoff_factor": "2"}),
        {("a", "retry.backoff_factor", "invalid")},
    ),
    ("zero timeout", with_node(timeout_s=0), {("a", "timeout_s", "invalid")}),
    ("negative timeout", with_node(timeout_s=-5), {("a", "timeout_s", "invalid")}),
    ("timeout over 7 days", with_node(timeout_s=7 * 86400 + 1), {("a", "timeout_s", "invalid")}),
    ("timeout as text", with_node(timeout_s="60"), {("a", "timeout_s", "invalid")}),
    ("infinite timeout", with_node(timeout_s=float("inf")), {("a", "timeout_s", "invalid")}),
    ("nan timeout", with_node(timeout_s=float("nan")), {("a", "timeout_s", "invalid")}),
    ("bad join", with_node(join="some"), {("a", "join", "invalid")}),
    ("zero visits", with_node(max_visits=0), {("a", "max_visits", "invalid")}),
    ("too many visits", with_node(max_visits=1001), {("a", "max_visits", "invalid")}),
    ("fractional visits", with_node(max_visits=1.5), {("a", "max_visits", "invalid")}),
    ("disabled as text", with_node(disabled="yes"), {("a", "disabled", "invalid")}),
    ("disabled as number", with_node(disabled=1), {("a", "disabled", "invalid")}),
    ("name not text", with_node(name=5), {("a", "name", "invalid")}),
    ("name too long", with_node(name="n" * 201), {("a", "name", "invalid")}),
    ("notes too long", with_node(notes="n" * 10_001), {("a", "notes", "invalid")}),
    ("position without y", with_node(position={"x": 1}), {("a", "position", "invalid")}),
    ("position as text", with_node(position={"x": "1", "y": 2}), {("a", "position", "invalid")}),
    (
        "position extra key",
        with_node(position={"x": 1, "y": 2, "z": 3}),
        {("a", "position", "invalid")},
    ),
    ("position a list", with_node(position=[1, 2]), {("a", "position", "invalid")}),
    ("edge not an object", chain(extra_edges=("e3",)), {(None, "edges[2]", "invalid")}),
    ("edge without id", with_edge(id=None), {(None, "edges[1].id", "invalid_id")}),
    ("edge id with a space", with_edge(id="e 2"), {(None, "edges[1].id", "invalid_id")}),
    ("edge id too long", with_edge(id="e" * 65), {(None, "edges[1].id", "invalid_id")}),
    ("duplicate edge id", with_edge(id="e1"), {(None, "edges[1].id", "duplicate_id")}),
    ("edge unknown key", with_edge(label="x"), {(None, "edges[1].label", "invalid")}),
    (
        "edge from a missing node",
        with_edge(source="ghost"),
        {(None, "edges[1].source", "missing_node")},
    ),
    (
        "edge to a missing node",
        with_edge(target="ghost"),
        {(None, "edges[1].target", "missing_node")},
    ),
    ("edge without source", with_edge(source=None), {(None, "edges[1].source", "missing_node")}),
    ("edge target a number", with_edge(target=3), {(None, "edges[1].target", "missing_node")}),
    ("port not text", with_edge(source_port=1), {(None, "edges[1].source_port", "invalid")}),
    (
        "port the type lacks",
        with_edge(source_port="true"),
        {(None, "edges[1].source_port", "unknown_port")},
    ),
    (
        "error port of a trigger",
        chain(extra_edges=(edge("e3", "start", "b", source_port="error"),)),
        {(None, "edges[2].source_port", "unknown_port")},
    ),
    (
        "port of an if",
        chain(
            node("check", "logic.if", config={"condition": "true"}),
            extra_edges=(edge("e3", "b", "check"), edge("e4", "check", "a", source_port="out")),
        ),
        {(None, "edges[3].source_port", "unknown_port"), ("a", "edges[3]", "cycle")},
    ),
    (
        "switch case that is not configured",
        chain(
            node("route", "logic.switch", config={"value": "1", "cases": ["x"]}),
            extra_edges=(
                edge("e3", "b", "route"),
                edge("e4", "route", "a", source_port="y", loop=True),
            ),
        ),
        {(None, "edges[3].source_port", "unknown_port")},
    ),
    (
        "a type with no ports but error",
        chain(
            node("stop", "flow.fail"),
            node("c"),
            extra_edges=(edge("e3", "b", "stop"), edge("e4", "stop", "c")),
        ),
        {(None, "edges[3].source_port", "unknown_port")},
    ),
    ("loop as text", with_edge(loop="yes"), {(None, "edges[1].loop", "invalid")}),
    (
        "edge into a trigger",
        chain(extra_edges=(edge("e3", "b", "start", loop=True),)),
        {(None, "edges[2].target", "edge_into_trigger")},
    ),
    (
        "duplicate edge",
        chain(extra_edges=(edge("e3", "a", "b"),)),
        {(None, "edges[2]", "duplicate_edge")},
    ),
    (
        "cycle without a loop edge",
        chain(node("c"), extra_edges=(edge("e3", "b", "c"), edge("e4", "c", "a"))),
        {("a", "edges[3]", "cycle")},
    ),
    (
        "self edge without loop",
        chain(extra_edges=(edge("e3", "b", "b"),)),
        {("b", "edges[2]", "cycle")},
    ),
    (
        "two separate cycles",
        chain(
            node("c"),
            node("d"),
            extra_edges=(
                edge("e3", "b", "a"),
                edge("e4", "b", "c"),
                edge("e5", "c", "d"),
                edge("e6", "d", "c"),
            ),
        ),
        {("a", "edges[2]", "cycle"), ("c", "edges[5]", "cycle")},
    ),
    (
        "loop edge that goes forward",
        chain(node("c"), extra_edges=(edge("e3", "a", "c", loop=True),)),
        {(None, "edges[2].loop", "invalid_loop")},
    ),
    (
        "loop edge across parallel branches",
        chain(node("c"), extra_edges=(edge("e3", "start", "c"), edge("e4", "c", "b", loop=True))),
        {(None, "edges[3].loop", "invalid_loop")},
    ),
    (
        "a cycle only partly broken by a loop edge",
        chain(
            node("c"),
            extra_edges=(
                edge("e3", "b", "a", loop=True),
                edge("e4", "b", "c"),
                edge("e5", "c", "b"),
            ),
        ),
        {("b", "edges[4]", "cycle")},
    ),
    (
        "a node type whose checks raise",
        chain(
            node("x", "test.broken", config={"a": 1}),
            extra_edges=(edge("e3", "b", "x"), edge("e4", "x", "a", source_port="odd", loop=True)),
        ),
        {("x", "config", "invalid_config")},
    ),
    (
        "many problems at once",
        document(
            [
                node("start", "trigger.manual", retry={"max_attempts": 0}),
                node("start"),
                node("x y", "data.nope"),
                llm("draft", prompt="{{ 1 + }}", temperature=9),
            ],
            [edge("e1", "start", "draft", source_port="nope"), edge("e1", "draft", "ghost")],
        ),
        {
            ("start", "retry.max_attempts", "invalid"),
            ("start", "id", "duplicate_id"),
            ("x y", "id", "invalid_id"),
            ("x y", "type", "unknown_type"),
            ("draft", "config.temperature", "invalid_config"),
            ("draft", "config.prompt", "invalid_template"),
            (None, "edges[0].source_port", "unknown_port"),
            (None, "edges[1].id", "duplicate_id"),
            (None, "edges[1].target", "missing_node"),
        },
    ),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [(d, e) for _, d, e in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_documents(doc: Any, expected: set[tuple[str | None, str, str]]) -> None:
    result = validate(doc, catalog)
    assert not result.valid
    assert result.graph is None
    assert keys(result.errors) == expected
    for issue in result.errors:
        assert issue.severity == "error"
        assert issue.message[0].isupper() or issue.message.startswith(("nodes[", "edges["))
        assert issue.message.endswith(".")


def test_messages_name_the_node_the_field_and_the_reason() -> None:
    result = validate(with_node(retry={"max_attempts": 0}), catalog)
    assert [issue.message for issue in result.errors] == [
        "Node 'a': retry.max_attempts must be an integer from 1 to 20, got 0."
    ]
    result = validate(with_edge(source_port="true"), catalog)
    assert [issue.message for issue in result.errors] == [
        "Edge 'e2' leaves 'a' from port 'true', which its type does not have (ports: out, error)."
    ]
    cycle = chain(extra_edges=(edge("e3", "b", "a"),))
    [issue] = validate(cycle, catalog).errors
    assert issue.message == (
        "The nodes a → b → a form a cycle with no loop edge. Mark the edge that goes back "
        "(edge 'e3') as a loop (\"loop\": true), or remove it."
    )
    assert issue.edge_id == "e3"


def test_issue_as_dict() -> None:
    [issue] = validate(with_edge(target="ghost"), catalog).errors
    assert issue.as_dict() == {
        "node_id": None,
        "field": "edges[1].target",
        "message": "Edge 'e2' ends at 'ghost', which is not a node of this graph.",
        "code": "missing_node",
        "edge_id": "e2",
    }
    [issue] = validate(with_node(join="x"), catalog).errors
    assert issue.as_dict() == {
        "node_id": "a",
        "field": "join",
        "message": "Node 'a': join must be \"all\" or \"any\", got 'x'.",
        "code": "invalid",
    }


def test_no_trigger_is_not_reported_when_a_trigger_type_is_unknown() -> None:
    result = validate(document([node("start", "trigger.manul")], []), catalog)
    assert keys(result.errors) == {("start", "type", "unknown_type")}


WARNINGS: list[tuple[str, dict[str, Any], set[tuple[str | None, str, str]]]] = [
    ("unreachable node", chain(node("orphan")), {("orphan", "", "unreachable")}),
    (
        "unreachable island",
        chain(node("c"), node("d"), extra_edges=(edge("e3", "c", "d"),)),
        {("c", "", "unreachable"), ("d", "", "unreachable")},
    ),
    (
        "reference to a node that runs later",
        chain(
            llm("early", prompt="{{ nodes.b.output }}"), extra_edges=(edge("e3", "start", "early"),)
        ),
        {("early", "config.prompt", "reference_not_upstream")},
    ),
    (
        "reference across parallel branches",
        chain(
            node("check", "logic.if", config={"condition": "nodes.a.output"}),
            extra_edges=(edge("e3", "start", "check"),),
        ),
        {("check", "config.condition", "reference_not_upstream")},
    ),
    (
        "reference to itself outside a loop",
        chain(
            llm("self_ref", prompt="{{ nodes.self_ref.output }}"),
            extra_edges=(edge("e3", "b", "self_ref"),),
        ),
        {("self_ref", "config.prompt", "reference_not_upstream")},
    ),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [(d, e) for _, d, e in WARNINGS], ids=[n for n, _, _ in WARNINGS]
)
def test_warnings_do_not_make_a_graph_invalid(doc: dict[str, Any], expected: set[Any]) -> None:
    result = validate(doc, catalog)
    assert result.errors == []
    assert result.valid
    assert result.graph is not None
    assert keys(result.warnings) == expected
    assert all(issue.severity == "warning" for issue in result.warnings)


def test_parse_raises_graph_invalid_with_every_error() -> None:
    with pytest.raises(GraphInvalid) as caught:
        parse(document([node("a"), node("a")], []), catalog)
    assert keys(caught.value.errors) == {("a", "id", "duplicate_id"), (None, "nodes", "no_trigger")}
    assert str(caught.value).startswith("invalid workflow graph: nodes[1] repeats the id 'a'")
    assert "(and 1 more)" in str(caught.value)


def test_size_limits_are_exported() -> None:
    assert MAX_NODES == 5_000
    assert MAX_EDGES == 20_000
    assert MAX_DOCUMENT_BYTES == 5 * 1024 * 1024


def test_a_document_at_the_size_limits_validates() -> None:
    names = [f"n{i}" for i in range(MAX_NODES - 1)]
    nodes = [node("start", "trigger.manual"), *(node(name) for name in names)]
    pairs = [("start", names[0]), *itertools.pairwise(names)]
    extra = [(names[i], names[i + 2 + j]) for j in range(4) for i in range(len(names) - 2 - j)]
    edges = [edge(f"e{k}", s, t) for k, (s, t) in enumerate((pairs + extra)[:MAX_EDGES])]
    result = validate(document(nodes, edges), catalog)
    assert result.valid, result.errors[:3]
    assert result.graph is not None
    assert len(result.graph.edges) == MAX_EDGES


# --------------------------------------------------------------------------
# Graph helpers


def looped_graph() -> Graph:
    """start -> a -> b -> c, with c -(loop)-> a and a side branch a -> d."""
    return parse(
        document(
            [node("start", "trigger.manual"), node("a"), node("b"), node("c"), node("d")],
            [
                edge("e1", "start", "a"),
                edge("e2", "a", "b"),
                edge("e3", "b", "c"),
                edge("back", "c", "a", loop=True),
                edge("e4", "a", "d"),
            ],
        ),
        catalog,
    )


def test_downstream_and_upstream() -> None:
    graph = looped_graph()
    assert graph.downstream_of("a") == {"b", "c", "d"}
    assert graph.downstream_of("c") == set()
    assert graph.downstream_of("c", follow_loops=True) == {"a", "b", "c", "d"}
    assert graph.upstream_of("c") == {"start", "a", "b"}
    assert graph.upstream_of("a") == {"start"}
    assert graph.upstream_of("a", follow_loops=True) == {"start", "a", "b", "c"}
    assert graph.downstream_of("a") is graph.downstream_of("a")  # cached


def test_reachable_from() -> None:
    graph = looped_graph()
    assert graph.reachable_from(["b"]) == {"a", "b", "c", "d"}
    assert graph.reachable_from(["b"], follow_loops=False) == {"b", "c"}
    assert graph.reachable_from(["ghost"]) == set()


def test_cycles_report_whether_a_loop_edge_breaks_them() -> None:
    graph = looped_graph()
    [cycle] = graph.cycles()
    assert cycle.node_ids == ("a", "b", "c")
    assert cycle.loop_edge_ids == ("back",)
    assert cycle.broken_by_loop
    unbroken = Graph(
        1,
        {n: Node(n, "data.pass") for n in "xyz"},
        (
            Edge("1", "x", "y"),
            Edge("2", "y", "x"),
            Edge("3", "y", "z", loop=True),
            Edge("4", "z", "y"),
        ),
    )
    [cycle] = unbroken.cycles()
    assert cycle.node_ids == ("x", "y", "z")
    assert not cycle.broken_by_loop
    assert parse(chain(), catalog).cycles() == ()


def test_topological_order_raises_on_a_cycle() -> None:
    graph = Graph(
        1, {n: Node(n, "data.pass") for n in "abc"}, (Edge("1", "a", "b"), Edge("2", "b", "a"))
    )
    with pytest.raises(GraphCycleError) as caught:
        graph.topological_order()
    assert caught.value.node_ids == ("a", "b")


def test_retry_policy_delays() -> None:
    policy = RetryPolicy(max_attempts=4, backoff_s=1.5, backoff_factor=2)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [1.5, 3.0, 6.0]
    assert RetryPolicy().delay_after(1) == 0.0


def test_graph_node_defaults() -> None:
    plain = Node("x", "data.pass")
    assert (plain.join, plain.max_visits, plain.disabled, plain.retry) == (
        "all",
        1,
        False,
        RetryPolicy(),
    )
    assert set(NODE_KEYS) == {
        "id", "type", "type_version", "config", "retry", "timeout_s", "join",
        "max_visits", "disabled", "name", "notes", "position",
    }  # fmt: skip


# --------------------------------------------------------------------------
# Properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

NODE_TYPE_KEYS = [
    "trigger.manual",
    "logic.if",
    "logic.switch",
    "ai.llm",
    "data.pass",
    "test.broken",
    "nope",
]
IDS = ["start", "a", "b", "c", "1x", ""]


def _node_documents() -> st.SearchStrategy[dict[str, Any]]:
    """Documents of the right shape whose fields hold anything at all."""
    small_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=4,
    )
    fields = st.fixed_dictionaries(
        {
            "id": st.sampled_from(IDS) | small_json,
            "type": st.sampled_from(NODE_TYPE_KEYS) | small_json,
        },
        optional={key: small_json for key in NODE_KEYS - {"id", "type"}}
        | {
            "config": st.dictionaries(
                st.sampled_from(["condition", "cases", "value", "prompt", "x"]),
                small_json | st.sampled_from(["{{ nodes.a }}", "{{", "1 +", "nodes.b"]),
            )
        },
    )
    edge_fields = st.fixed_dictionaries(
        {
            "id": small_json,
            "source": st.sampled_from(IDS) | small_json,
            "target": st.sampled_from(IDS),
        },
        optional={
            "source_port": st.sampled_from(["out", "error", "true"]) | small_json,
            "loop": st.booleans() | small_json,
        },
    )
    return st.fixed_dictionaries(
        {
            "version": st.just(1) | small_json,
            "nodes": st.lists(fields | small_json, max_size=6),
            "edges": st.lists(edge_fields | small_json, max_size=8),
        }
    )


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_validation(value: Any) -> None:
    result = validate(value, catalog)
    assert result.valid is (not result.errors)
    assert all(isinstance(issue, Issue) for issue in result.errors + result.warnings)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_node_documents())
def test_arbitrary_node_and_edge_fields_never_crash_validation(doc: dict[str, Any]) -> None:
    result = validate(doc, catalog)
    assert result.valid is (not result.errors)
    for issue in result.errors:
        issue.as_dict()
    if result.graph is not None:
        result.graph.topological_order()


@st.composite
def dags(
    draw: Callable[..., Any], *, with_chain: bool = False
) -> tuple[list[str], set[tuple[int, int]]]:
    """Node ids in a random document order, and forward edges (i < j) between
    node indexes in creation order; node 0 is the trigger."""
    size = draw(st.integers(min_value=2, max_value=25))
    pairs = st.tuples(st.integers(0, size - 1), st.integers(0, size - 1)).filter(
        lambda p: p[0] < p[1]
    )
    edges = draw(st.sets(pairs, max_size=size * 3))
    if with_chain:
        edges |= {(i, i + 1) for i in range(size - 1)}
    ids = [f"n{i}" for i in range(size)]
    return ids, edges


def _document(
    ids: list[str],
    edges: set[tuple[int, int]],
    order: list[int],
    loops: Collection[tuple[int, int]] = (),
) -> dict[str, Any]:
    nodes = [node(ids[i], "trigger.manual" if i == 0 else "data.pass") for i in order]
    listed = [edge(f"e{k}", ids[s], ids[t]) for k, (s, t) in enumerate(sorted(edges))]
    listed += [edge(f"l{k}", ids[s], ids[t], loop=True) for k, (s, t) in enumerate(sorted(loops))]
    return document(nodes, listed)


@settings(max_examples=200, deadline=None)
@given(dags(), st.randoms())
def test_every_acyclic_graph_orders_with_every_edge_forward(dag: Any, random: Any) -> None:
    ids, edges = dag
    order = list(range(len(ids)))
    random.shuffle(order)
    result = validate(_document(ids, edges, order), catalog)
    assert result.errors == []
    assert result.graph is not None
    ordered = result.graph.topological_order()
    assert sorted(ordered) == sorted(ids)
    position = {node_id: i for i, node_id in enumerate(ordered)}
    for graph_edge in result.graph.edges:
        assert position[graph_edge.source] < position[graph_edge.target]
    assert result.graph.cycles() == ()


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_every_cycle_without_a_loop_edge_is_rejected(dag: Any, data: Any) -> None:
    ids, edges = dag
    members = data.draw(
        st.lists(st.integers(0, len(ids) - 1), min_size=1, max_size=len(ids), unique=True)
    )
    ring = {(members[i], members[(i + 1) % len(members)]) for i in range(len(members))}
    doc = _document(ids, edges | ring, list(range(len(ids))))
    result = validate(doc, catalog)
    assert not result.valid
    assert "cycle" in {issue.code for issue in result.errors}
    graph = Graph(
        1,
        {i: Node(i, "data.pass") for i in ids},
        tuple(Edge(f"e{k}", ids[s], ids[t]) for k, (s, t) in enumerate(sorted(edges | ring))),
    )
    with pytest.raises(GraphCycleError):
        graph.topological_order()


@settings(max_examples=200, deadline=None)
@given(dags(with_chain=True), st.data())
def test_a_cycle_closed_by_a_loop_edge_to_an_upstream_node_is_accepted(dag: Any, data: Any) -> None:
    ids, edges = dag
    target = data.draw(st.integers(1, len(ids) - 1))
    source = data.draw(st.integers(target, len(ids) - 1))
    result = validate(_document(ids, edges, list(range(len(ids))), {(source, target)}), catalog)
    assert result.errors == []
    assert result.graph is not None
    ordered = result.graph.topological_order()
    assert ordered.index(ids[target]) <= ordered.index(ids[source])
    [cycle] = result.graph.cycles()
    assert cycle.broken_by_loop
    assert ids[source] in cycle.node_ids and ids[target] in cycle.node_ids


def test_the_canvas_ui_key_is_kept_but_must_be_an_object():
    document = {
        "version": 1,
        "nodes": [{"id": "start", "type": "trigger.manual"}],
        "edges": [],
        "ui": {"notes": [{"id": "n1", "text": "Ask legal", "position": {"x": 0, "y": 0}}]},
    }
    assert validate(document, catalog).valid
    broken = validate({**document, "ui": ["notes"]}, catalog)
    assert [(issue.node_id, issue.field) for issue in broken.errors] == [(None, "ui")]
