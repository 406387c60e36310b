"""The node catalog (contract section 3), except the ai.* types.

No database: node types are plain classes run against a small fake of the
context the engine hands them. ``execute`` does what the engine does before
``run``: render every config template (except expression and raw fields)
against the context, then build the typed config.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from builder import expressions
from builder.nodes import registry
from builder.nodes.base import NodeError, NodeType, Result, Wait

CATALOG = {
    "trigger.manual": "trigger",
    "trigger.webhook": "trigger",
    "trigger.schedule": "trigger",
    "trigger.event": "trigger",
    "logic.if": "logic",
    "logic.switch": "logic",
    "logic.merge": "logic",
    "data.transform": "data",
    "data.validate": "data",
    "flow.delay": "flow",
    "flow.fail": "flow",
    "flow.subworkflow": "flow",
    "flow.map": "flow",
    "human.approval": "human",
    "http.request": "integration",
    "notify.email": "integration",
}
TRIGGERS = [key for key, category in CATALOG.items() if category == "trigger"]
WORKFLOW_ID = "7d3c3f0e-2b1a-4a57-9a39-0c1f5e2d8b11"


@dataclass
class FakeContext:
    """The NodeContext protocol, evaluating with the real expression language."""

    expression_context: dict[str, Any] = field(default_factory=dict)
    run_id: str = "run1"
    node_id: str = "node1"
    visit: int = 1
    attempt: int = 1
    idempotency_key: str = "run1:node1:1"
    workspace_id: Any = None

    def evaluate(self, expression: str) -> Any:
        return expressions.evaluate(expression, self.expression_context)

    def render(self, value: Any) -> Any:
        return expressions.render(value, self.expression_context)


def context(
    trigger: Any = None, nodes: Mapping[str, Any] | None = None, input: Any = None
) -> FakeContext:
    return FakeContext(
        {
            "trigger": trigger,
            "nodes": {node_id: {"output": output} for node_id, output in (nodes or {}).items()},
            "input": input,
            "run": {
                "id": "run1",
                "workflow_id": WORKFLOW_ID,
                "version": 1,
                "started_at": "2026-01-01T00:00:00Z",
            },
        }
    )


def node(key: str) -> NodeType:
    node_type = registry.get(key)
    assert node_type is not None, f"{key} is not registered"
    return node_type


def execute(
    key: str, config: Mapping[str, Any], input: Any = None, ctx: FakeContext | None = None
) -> Result | Wait:
    node_type = node(key)
    ctx = ctx or context(input=input)
    untouched = set(node_type.expression_fields) | set(node_type.raw_fields)
    rendered = {
        name: value if name in untouched else ctx.render(value) for name, value in config.items()
    }
    return node_type.run(ctx, node_type.parse_config(rendered), input)


# -- the catalog --------------------------------------------------------------


def test_every_type_of_the_contract_table_is_registered_once_at_version_1():
    for key, category in CATALOG.items():
        node_type = node(key)
        assert (node_type.key, node_type.version, node_type.category) == (key, 1, category)
        assert node_type.label and node_type.description.endswith(".")


@pytest.mark.parametrize("key", CATALOG)
def test_config_and_output_schemas_are_valid_json_schemas_with_help_text(key):
    described = node(key).describe()
    Draft202012Validator.check_schema(described["config_schema"])
    Draft202012Validator.check_schema(described["output_schema"])
    assert described["config_schema"]["additionalProperties"] is False
    for name, prop in described["config_schema"]["properties"].items():
        assert prop.get("title") and prop.get("description"), f"{key}.{name} lacks help text"
    output = described["output_schema"]
    assert output.get("description")
    if output.get("type") == "object":
        assert "properties" in output


def test_ports_match_the_contract():
    assert node("logic.if").ports_for({"condition": "true"}) == ["true", "false"]
    assert node("data.validate").ports_for({}) == ["valid", "invalid"]
    assert node("human.approval").ports_for({}) == ["approved", "rejected", "timeout"]
    assert node("flow.fail").ports_for({"message": "x"}) == []
    for key in (
        "logic.merge",
        "data.transform",
        "flow.delay",
        "flow.map",
        "http.request",
        *TRIGGERS,
    ):
        assert node(key).ports_for({}) == ["out"]


def test_switch_has_one_port_per_case_and_default():
    switch = node("logic.switch")
    assert switch.ports_for({"value": "x", "cases": ["fr", "de"]}) == ["fr", "de", "default"]
    assert switch.ports_for({"value": "x"}) == ["default"]
    assert switch.ports_for({"cases": "not a list"}) == ["default"]
    assert switch.describe()["dynamic_ports"] is True


def test_expression_fields_are_declared():
    assert node("logic.if").expression_fields == ("condition",)
    assert node("logic.switch").expression_fields == ("value",)
    assert node("human.approval").expression_fields == ("auto_approve_if",)


def test_triggers_have_no_error_port_and_an_empty_config_is_enough():
    for key in TRIGGERS:
        trigger = node(key)
        assert trigger.is_trigger and trigger.describe()["error_port"] is False
        assert trigger.config_errors({}) == []
        trigger.Config()
    assert not any(node(key).is_trigger for key in CATALOG if key not in TRIGGERS)


def test_outbound_types_declare_side_effects():
    assert {key for key in CATALOG if node(key).side_effects} == {"http.request", "notify.email"}


# -- config validation --------------------------------------------------------

VALID_CONFIGS = [
    # the contract's example graph
    ("trigger.manual", {}),
    ("logic.if", {"condition": "nodes.mood.output.label == 'negative'"}),
    ("human.approval", {"title": "Angry customer", "assignees": {"roles": ["approver"]}}),
    # and one of every other shape
    ("trigger.manual", {"input_schema": {"type": "object", "required": ["message"]}}),
    ("trigger.webhook", {"mode": "sync", "signing_credential": "github-hook"}),
    (
        "trigger.schedule",
        {"cron": "*/15 8-18 * * 1-5", "timezone": "Europe/Paris", "payload": {"kind": "digest"}},
    ),
    ("trigger.schedule", {"cron": "@daily"}),
    ("trigger.event", {"workflow": WORKFLOW_ID, "on": "failed"}),
    ("logic.switch", {"value": "trigger.country", "cases": ["fr", "de"]}),
    ("logic.merge", {"mode": "list"}),
    ("data.transform", {"output": {"greeting": "Hi {{ trigger.name }}"}}),
    ("data.transform", {"output": "{{ input }}"}),
    (
        "data.validate",
        {"value": "{{ input }}", "schema": {"type": "object", "required": ["email"]}},
    ),
    ("flow.delay", {"seconds": 30 * 24 * 3600}),
    ("flow.delay", {"seconds": "{{ trigger.wait }}"}),
    ("flow.fail", {"message": "No customer for {{ trigger.id }}"}),
    ("flow.subworkflow", {"workflow": WORKFLOW_ID, "input": "{{ input }}"}),
    ("flow.map", {"items": "{{ trigger.orders }}", "workflow": WORKFLOW_ID, "concurrency": 50}),
    (
        "human.approval",
        {
            "title": "Refund {{ trigger.amount }}",
            "instructions": "Check the amount.",
            "data": "{{ input }}",
            "fields": {
                "type": "object",
                "properties": {
                    "reply": {"type": "string", "default": "{{ nodes.draft.output.text }}"}
                },
            },
            "assignees": {"roles": ["approver"], "users": ["bob"]},
            "required_approvals": 2,
            "allow_self_approval": True,
            "timeout_s": 86400,
            "escalate_after_s": 3600,
            "escalate_to": {"roles": ["admin"]},
            "auto_approve_if": "trigger.amount < 100",
        },
    ),
    (
        "http.request",
        {
            "method": "POST",
            "url": "https://api.example.com/tickets",
            "headers": {"Accept": "application/json"},
            "query": {"page": 1},
            "body": {"text": "{{ trigger.message }}"},
            "credential": "crm",
            "timeout_s": 10,
        },
    ),
    ("http.request", {"url": "{{ trigger.callback_url }}"}),
    (
        "notify.email",
        {"to": "ops@example.com", "subject": "New ticket", "body": "{{ trigger.message }}"},
    ),
    (
        "notify.email",
        {
            "to": ["a@example.com", "Bea <b@example.com>"],
            "subject": "Hi",
            "credential": "smtp-main",
        },
    ),
]


@pytest.mark.parametrize(("key", "config"), VALID_CONFIGS)
def test_valid_configs_have_no_errors(key, config):
    assert node(key).config_errors(config) == []


INVALID_CONFIGS = [
    (
        "trigger.manual",
        {"input_schema": {"type": "nope"}},
        "config.input_schema",
        "not a valid JSON Schema",
    ),
    ("trigger.manual", {"inputs": {}}, "config.inputs", "Extra inputs"),
    ("trigger.webhook", {"mode": "later"}, "config.mode", "'async' or 'sync'"),
    ("trigger.schedule", {"cron": "every day"}, "config.cron", "five fields"),
    ("trigger.schedule", {"cron": "61 * * * *"}, "config.cron", "not a valid cron"),
    ("trigger.schedule", {"cron": "0 0 31 2 *"}, "config.cron", "never matches"),
    ("trigger.schedule", {"cron": "@sometimes"}, "config.cron", "unknown shortcut"),
    ("trigger.schedule", {"timezone": "Mars/Olympus"}, "config.timezone", "unknown time zone"),
    ("trigger.schedule", {"timezone": "../etc/passwd"}, "config.timezone", "unknown time zone"),
    ("trigger.schedule", {"payload": {"scheduled_at": "x"}}, "config.payload", "scheduled_at"),
    ("trigger.event", {"workflow": "my flow"}, "config.workflow", "workflow id"),
    ("trigger.event", {"on": "started"}, "config.on", "'succeeded', 'failed' or 'finished'"),
    ("logic.if", {}, "config.condition", "required"),
    ("logic.switch", {"value": "x", "cases": ["a", "a"]}, "config.cases", "listed twice"),
    ("logic.switch", {"value": "x", "cases": ["default"]}, "config.cases", "name of another path"),
    ("logic.switch", {"value": "x", "cases": ["error"]}, "config.cases", "name of another path"),
    ("logic.switch", {"value": "x", "cases": [""]}, "config.cases.0", "at least 1"),
    ("logic.merge", {"mode": "zip"}, "config.mode", "'object' or 'list'"),
    (
        "data.validate",
        {"value": 1, "schema": {"minimum": "zero"}},
        "config.schema",
        "not a valid JSON Schema",
    ),
    ("data.validate", {"value": 1}, "config.schema", "required"),
    ("flow.delay", {"seconds": 0}, "config.seconds", "greater than 0"),
    ("flow.delay", {"seconds": 30 * 24 * 3600 + 1}, "config.seconds", "less than or equal"),
    ("flow.fail", {"message": ""}, "config.message", "at least 1"),
    ("flow.subworkflow", {"workflow": "42"}, "config.workflow", "workflow id"),
    (
        "flow.map",
        {"items": [], "workflow": WORKFLOW_ID, "concurrency": 51},
        "config.concurrency",
        "less than or equal to 50",
    ),
    (
        "flow.map",
        {"items": [], "workflow": WORKFLOW_ID, "concurrency": 0},
        "config.concurrency",
        "greater than or equal to 1",
    ),
    ("flow.map", {"items": {"a": 1}, "workflow": WORKFLOW_ID}, "config.items", "list"),
    (
        "human.approval",
        {"required_approvals": 0},
        "config.required_approvals",
        "greater than or equal to 1",
    ),
    ("human.approval", {"assignees": {}}, "config.assignees", "at least one role or user"),
    ("human.approval", {"assignees": {"groups": ["x"]}}, "config.assignees.groups", "Extra inputs"),
    ("human.approval", {"fields": {"type": 3}}, "config.fields", "not a valid JSON Schema"),
    ("human.approval", {"escalate_after_s": 60}, "config.escalate_to", "set both or neither"),
    (
        "human.approval",
        {"timeout_s": 60, "escalate_after_s": 60, "escalate_to": {"roles": ["admin"]}},
        "config.escalate_after_s",
        "shorter than timeout_s",
    ),
    ("http.request", {"url": "ftp://example.com/x"}, "config.url", "http:// or https://"),
    ("http.request", {"url": "https://"}, "config.url", "with a host"),
    ("http.request", {"url": "https://x.org", "method": "FETCH"}, "config.method", "'GET'"),
    (
        "http.request",
        {"url": "https://x.org", "timeout_s": 301},
        "config.timeout_s",
        "less than or equal to 300",
    ),
    (
        "http.request",
        {"url": "https://x.org", "headers": {"Bad Name": "1"}},
        "config.headers",
        "header name",
    ),
    (
        "http.request",
        {"url": "https://x.org", "headers": {"X-A": "1\r\nX-B: 2"}},
        "config.headers",
        "line breaks",
    ),
    ("notify.email", {"to": "not-an-address", "subject": "s"}, "config.to", "not an email address"),
    ("notify.email", {"to": [], "subject": "s"}, "config.to", "at least one recipient"),
    (
        "notify.email",
        {"to": "a@example.com", "subject": "Hi\r\nBcc: all@example.com"},
        "config.subject",
        "line breaks",
    ),
]


@pytest.mark.parametrize(("key", "config", "path", "fragment"), INVALID_CONFIGS)
def test_invalid_configs_name_the_field(key, config, path, fragment):
    errors = node(key).config_errors(config)
    assert any(where == path and fragment in message for where, message in errors), errors
    assert not any(message.startswith("Value error") for _, message in errors)


@pytest.mark.parametrize("key", CATALOG)
def test_a_config_that_is_not_an_object_is_refused(key):
    assert node(key).config_errors(["no"]) == [("config", "must be an object")]


def test_template_values_are_checked_after_rendering_not_before():
    assert node("trigger.schedule").config_errors({"cron": "{{ trigger.cron }}"}) == []
    assert node("notify.email").config_errors({"to": "{{ trigger.email }}", "subject": "x"}) == []
    assert (
        node("flow.map").config_errors({"items": "{{ trigger.orders }}", "workflow": WORKFLOW_ID})
        == []
    )


def test_email_recipients_become_a_list():
    config = node("notify.email").parse_config(
        {"to": "a@example.com, b@example.com", "subject": "s"}
    )
    assert config.to == ["a@example.com", "b@example.com"]


def test_workflow_ids_are_normalised_and_the_schema_says_uuid():
    config = node("flow.subworkflow").parse_config({"workflow": WORKFLOW_ID.upper()})
    assert config.workflow == WORKFLOW_ID
    assert node("flow.map").config_schema()["properties"]["workflow"]["format"] == "uuid"


def test_data_validate_keeps_the_contract_key_schema():
    schema = node("data.validate").config_schema()
    assert set(schema["properties"]) == {"value", "schema"}
    assert node("data.validate").parse_config({"value": 1, "schema": {}}).json_schema == {}


# -- run: triggers ------------------------------------------------------------


@pytest.mark.parametrize("key", TRIGGERS)
def test_a_trigger_outputs_the_run_input(key):
    payload = {"message": "hello", "scheduled_at": "2026-01-01T09:00:00+01:00"}
    result = execute(key, {}, ctx=context(trigger=payload))
    assert result == Result(payload)


def test_manual_trigger_checks_run_input_against_its_schema():
    manual = node("trigger.manual")
    schema = {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}, "n": {"type": "integer"}},
    }
    assert manual.check_input({"input_schema": schema}, {"message": "hi"}) == []
    assert manual.check_input({"input_schema": schema}, {"n": "x"}) == [
        "$: 'message' is a required property",
        "$.n: 'x' is not of type 'integer'",
    ]
    assert manual.check_input(manual.parse_config({}), {"anything": True}) == []
    assert (
        manual.check_input({"input_schema": {"type": "string", "format": "email"}}, "not-mail")
        == []
    )


# -- run: logic ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "port"),
    [
        ("nodes.mood.output.label == 'negative'", "true"),
        ("nodes.mood.output.label == 'positive'", "false"),
        ("nodes.mood.output.score", "true"),
        ("nodes.mood.output.missing", "false"),
        ("[]", "false"),
        ("''", "false"),
        ("0", "false"),
        ("{'a': 1}", "true"),
    ],
)
def test_if_takes_the_port_of_the_conditions_truthiness(condition, port):
    ctx = context(nodes={"mood": {"label": "negative", "score": 0.9}}, input={"x": 1})
    assert execute("logic.if", {"condition": condition}, {"x": 1}, ctx) == Result({"x": 1}, port)


def test_if_condition_is_not_rendered_as_a_template():
    ctx = context(trigger={"text": "{{ x }}"})
    assert execute("logic.if", {"condition": "trigger.text == '{{ x }}'"}, 1, ctx).port == "true"


@pytest.mark.parametrize(
    ("value", "port"),
    [
        ("'fr'", "fr"),
        ("'it'", "default"),
        ("3", "3"),
        ("1 == 1", "true"),
        ("trigger.missing", "default"),
        ("trigger.country", "de"),
        ("['fr']", "default"),
        ("{'fr': 1}", "default"),
    ],
)
def test_switch_takes_the_matching_case_or_default(value, port):
    ctx = context(trigger={"country": "de"}, input="payload")
    cases = ["fr", "de", "3", "true"]
    assert execute("logic.switch", {"value": value, "cases": cases}, "payload", ctx) == Result(
        "payload", port
    )


def test_switch_cases_are_port_names_never_rendered():
    ctx = context(trigger={"c": "x"})
    result = execute(
        "logic.switch", {"value": "'{{ trigger.c }}'", "cases": ["{{ trigger.c }}"]}, 1, ctx
    )
    assert result.port == "{{ trigger.c }}"


def test_merge_object_mode_passes_the_keyed_inputs_through():
    both = {"a": {"n": 1}, "b": {"n": 2}}
    ctx = context(nodes=both, input=both)
    assert execute("logic.merge", {}, both, ctx) == Result(both)


def test_merge_list_mode_orders_by_source_id_whatever_finished_first():
    outputs = {"zeta": 1, "alpha": 2, "mid": 3}
    ctx = context(nodes=outputs, input=outputs)
    assert execute("logic.merge", {"mode": "list"}, outputs, ctx) == Result([2, 3, 1])


def test_merge_with_a_single_input():
    single = {"a": 1, "b": 2}  # one node's output, not keyed by node ids
    ctx = context(nodes={"up": single}, input=single)
    assert execute("logic.merge", {"mode": "object"}, single, ctx) == Result(single)
    assert execute("logic.merge", {"mode": "list"}, single, ctx) == Result([single])
    assert execute(
        "logic.merge", {"mode": "list"}, [1, 2], context(nodes={"up": [1, 2]})
    ) == Result([[1, 2]])


# -- run: data ----------------------------------------------------------------


def test_transform_outputs_the_rendered_json():
    ctx = context(trigger={"name": "Ada", "tags": ["x"]})
    config = {"output": {"greeting": "Hi {{ trigger.name }}", "tags": "{{ trigger.tags }}", "n": 1}}
    assert execute("data.transform", config, ctx=ctx) == Result(
        {"greeting": "Hi Ada", "tags": ["x"], "n": 1}
    )
    assert execute("data.transform", {}) == Result({})


SCHEMA = {
    "type": "object",
    "required": ["email", "items"],
    "properties": {
        "email": {"type": "string", "format": "email"},
        "items": {
            "type": "array",
            "items": {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}}},
        },
    },
}


def test_validate_sends_a_valid_value_to_valid():
    order = {"email": "not checked as a format", "items": [{"qty": 2}]}
    ctx = context(trigger=order)
    result = execute("data.validate", {"value": "{{ trigger }}", "schema": SCHEMA}, ctx=ctx)
    assert result == Result(order, "valid")


def test_validate_sends_an_invalid_value_and_its_errors_with_paths_to_invalid():
    order = {"items": [{"qty": 2}, {"qty": 0}]}
    result = execute(
        "data.validate", {"value": "{{ trigger }}", "schema": SCHEMA}, ctx=context(trigger=order)
    )
    assert result.port == "invalid"
    assert result.output == {
        "value": order,
        "errors": [
            "$: 'email' is a required property",
            "$.items[1].qty: 0 is less than the minimum of 1",
        ],
    }


def test_validate_lists_errors_in_document_order():
    schema = {"type": "array", "items": {"type": "integer"}}
    value = ["x" if index in (2, 10) else index for index in range(12)]
    errors = execute("data.validate", {"value": value, "schema": schema}).output["errors"]
    assert [error.split(":")[0] for error in errors] == ["$[2]", "$[10]"]


def test_validate_never_fetches_a_remote_ref():
    config = {"value": 1, "schema": {"$ref": "https://example.com/schema.json"}}
    with pytest.raises(NodeError, match="cannot be resolved"):
        execute("data.validate", config)


def test_validate_follows_local_refs_and_declared_drafts():
    schema = {"$defs": {"pos": {"type": "integer", "minimum": 1}}, "$ref": "#/$defs/pos"}
    assert execute("data.validate", {"value": 0, "schema": schema}).port == "invalid"
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}
    assert execute("data.validate", {"value": [1], "schema": draft7}).port == "invalid"


# -- run: flow ----------------------------------------------------------------


def test_fail_raises_a_workflow_failure_with_the_rendered_message():
    with pytest.raises(NodeError) as raised:
        execute(
            "flow.fail", {"message": "No customer {{ trigger.id }}"}, ctx=context(trigger={"id": 7})
        )
    assert (raised.value.message, raised.value.type, raised.value.retryable) == (
        "No customer 7",
        "WorkflowFailed",
        False,
    )


def test_delay_waits_on_a_durable_timer_then_passes_its_input_on():
    before = datetime.now(UTC)
    wait = execute("flow.delay", {"seconds": 90}, {"x": 1})
    assert isinstance(wait, Wait) and wait.reason == "timer"
    assert wait.until.tzinfo is not None
    assert before + timedelta(seconds=90) <= wait.until <= datetime.now(UTC) + timedelta(seconds=90)
    delay = node("flow.delay")
    resumed = delay.resume(context(), delay.parse_config({"seconds": 90}), {"x": 1}, wait.state)
    assert resumed == Result({"x": 1})


# -- docs/nodes.md ------------------------------------------------------------


def documented_nodes() -> list[dict[str, Any]]:
    text = (Path(__file__).resolve().parents[2] / "docs" / "nodes.md").read_text()
    blocks = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", text, re.DOTALL)]
    return [block for block in blocks if isinstance(block, dict) and "type" in block]


def test_every_documented_type_has_a_valid_example():
    examples = documented_nodes()
    assert {example["type"] for example in examples} >= set(CATALOG)
    for example in examples:
        assert node(example["type"]).config_errors(example["config"]) == [], example["id"]
