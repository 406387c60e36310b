"""The ai.* node types against real local servers speaking the OpenAI and
Anthropic wire formats, through the official SDKs (only base_url differs
from production)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from builder.nodes import registry
from builder.nodes.base import NodeError, Result
from integrations import services
from tests.conftest import make_workspace
from tests.integrations.fake_providers import (
    CANARY,
    FakeAnthropic,
    FakeOpenAI,
    assert_no_canary_logged,
    reply,
    serving,
    stall,
    status,
)

pytestmark = pytest.mark.django_db


@dataclass
class Ctx:
    """The narrow context the engine hands a node."""

    workspace_id: Any
    run_id: str = "run-1"
    node_id: str = "ask"
    visit: int = 1
    attempt: int = 1
    idempotency_key: str = "run-1:ask:1"
    expression_context: dict[str, Any] = field(default_factory=dict)

    def evaluate(self, expression: str) -> Any:
        raise AssertionError("AI nodes evaluate no expression")

    def render(self, value: Any) -> Any:
        return value


def run_node(key: str, workspace: Any, config: dict[str, Any]) -> Result:
    node_type = registry.get(key)
    return node_type.run(Ctx(workspace.pk), node_type.parse_config(config), {})


def failure(key: str, workspace: Any, config: dict[str, Any]) -> NodeError:
    with pytest.raises(NodeError) as caught:
        run_node(key, workspace, config)
    return caught.value


@pytest.fixture(autouse=True)
def _no_canary_in_logs(caplog):
    yield from assert_no_canary_logged(caplog)


@pytest.fixture
def openai_server(settings):
    yield from serving(FakeOpenAI(), settings)


@pytest.fixture
def anthropic_server(settings):
    yield from serving(FakeAnthropic(), settings)


@pytest.fixture
def ws():
    return make_workspace("ai")


@pytest.fixture
def gpt(ws, openai_server):
    return services.create_credential(
        None,
        ws,
        name="openai-main",
        kind="openai",
        config={"base_url": openai_server.base_url},
        secret=CANARY,
    )


@pytest.fixture
def claude(ws, anthropic_server):
    return services.create_credential(
        None,
        ws,
        name="claude",
        kind="anthropic",
        config={"base_url": anthropic_server.base_url},
        secret=CANARY,
    )


def llm(**config: Any) -> dict[str, Any]:
    return {"credential": "openai-main", "model": "gpt-4o-mini", "prompt": "Say hi", **config}


FALLBACK = {"fallbacks": [{"credential": "claude", "model": "claude-haiku-4-5"}]}


# -- ai.llm: success, usage, cost -----------------------------------------------


def test_openai_answer_with_usage_and_cost(ws, gpt, openai_server):
    openai_server.queue(reply("Hi there!", input_tokens=1000, output_tokens=500))
    result = run_node("ai.llm", ws, llm(system="Be brief.", temperature=0.3, max_tokens=64))
    assert result.output["text"] == "Hi there!"
    assert result.output["json"] is None
    assert result.output["model"] == "gpt-4o-mini"
    assert result.output["usage"] == {"input_tokens": 1000, "output_tokens": 500}
    # gpt-4o-mini: 0.15 USD in, 0.60 USD out per million tokens
    assert result.output["cost_usd"] == pytest.approx(0.00045)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (1000, 500)
    assert result.cost_usd == pytest.approx(0.00045)
    sent = openai_server.received[0]
    assert sent.headers["authorization"] == f"Bearer {CANARY}"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Say hi"},
    ]
    assert (sent.body["temperature"], sent.body["max_tokens"]) == (0.3, 64)


def test_anthropic_answer_by_credential_id(ws, claude, anthropic_server):
    anthropic_server.queue(reply("Bonjour", input_tokens=2000, output_tokens=1000))
    config = {
        "credential": claude.pk,
        "model": "claude-haiku-4-5-20251001",
        "prompt": "Hello",
        "system": "French",
    }
    result = run_node("ai.llm", ws, config)
    assert result.output["text"] == "Bonjour"
    assert result.output["model"] == "claude-haiku-4-5-20251001"
    # priced by prefix claude-haiku-4-5: 1.00 in, 5.00 out
    assert result.cost_usd == pytest.approx(0.007)
    sent = anthropic_server.received[0]
    assert CANARY in (sent.headers.get("x-api-key", "") + sent.headers.get("authorization", ""))
    assert sent.body["system"] == "French"
    assert sent.body["messages"] == [{"role": "user", "content": "Hello"}]


def test_workspace_price_table_overrides_defaults(ws, gpt, openai_server):
    services.set_price(ws, "gpt-4o-mini", 1, 2)
    openai_server.queue(reply("ok", input_tokens=1_000_000, output_tokens=1_000_000))
    assert run_node("ai.llm", ws, llm()).cost_usd == pytest.approx(3.0)


def test_unpriced_model_has_no_cost(ws, gpt, openai_server):
    result = run_node("ai.llm", ws, llm(model="llama3.2"))
    assert result.output["cost_usd"] is None
    assert result.usage.input_tokens == 12


# -- JSON output -------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


def test_json_mode_validated_against_schema(ws, gpt, openai_server):
    openai_server.queue(reply('{"name": "Ada", "age": 36}'))
    result = run_node("ai.llm", ws, llm(response_format="json", json_schema=SCHEMA))
    assert result.output["json"] == {"name": "Ada", "age": 36}
    assert openai_server.received[0].body["response_format"] == {"type": "json_object"}
    assert len(openai_server.received) == 1


def test_malformed_json_is_repaired_once(ws, gpt, openai_server):
    openai_server.queue(
        reply("Sure! {name: Ada", input_tokens=10, output_tokens=5),
        reply('```json\n{"name": "Ada", "age": 36}\n```', input_tokens=30, output_tokens=9),
    )
    result = run_node("ai.llm", ws, llm(response_format="json", json_schema=SCHEMA))
    assert result.output["json"] == {"name": "Ada", "age": 36}
    assert result.output["usage"] == {"input_tokens": 40, "output_tokens": 14}
    repair = openai_server.received[1].body["messages"]
    assert repair[-2] == {"role": "assistant", "content": "Sure! {name: Ada"}
    assert "not valid JSON" in repair[-1]["content"]


def test_schema_mismatch_after_repair_fails_clearly(ws, gpt, openai_server):
    openai_server.queue(reply('{"name": "Ada"}'), reply('{"name": "Ada", "age": "old"}'))
    error = failure("ai.llm", ws, llm(response_format="json", json_schema=SCHEMA))
    assert error.type == "InvalidOutput"
    assert "$.age" in error.message and not error.retryable
    assert error.usage.input_tokens == 24  # both calls were paid for
    assert len(openai_server.received) == 2


def test_invalid_json_then_fallback(ws, gpt, claude, openai_server, anthropic_server):
    openai_server.queue(reply("nope"), reply("still nope"))
    anthropic_server.queue(reply('{"name": "Ada", "age": 36}'))
    result = run_node("ai.llm", ws, llm(response_format="json", json_schema=SCHEMA, **FALLBACK))
    assert result.output["json"] == {"name": "Ada", "age": 36}
    assert result.output["credential"] == "claude"
    assert "JSON object only" in anthropic_server.received[0].body["system"]


# -- errors, retries and fallbacks -------------------------------------------------


def test_server_error_then_success_is_retried(ws, gpt, openai_server):
    openai_server.queue(status(500, "boom"), reply("second time lucky"))
    assert run_node("ai.llm", ws, llm()).output["text"] == "second time lucky"
    assert len(openai_server.received) == 2


def test_rate_limit_waits_short_retry_after_then_retries(ws, gpt, openai_server):
    openai_server.queue(status(429, "slow down", retry_after="1"), reply("after the wait"))
    result = run_node("ai.llm", ws, llm())
    assert result.output["text"] == "after the wait"
    first, second = openai_server.received
    assert second.at - first.at >= 0.95


def test_rate_limit_with_long_retry_after_goes_to_the_runtime(ws, gpt, openai_server):
    openai_server.queue(status(429, "slow down", retry_after="120"))
    error = failure("ai.llm", ws, llm())
    assert (error.type, error.retryable, error.retry_after) == ("RateLimited", True, 120.0)
    assert len(openai_server.received) == 1


def test_rate_limit_takes_the_fallback_at_once(ws, gpt, claude, openai_server, anthropic_server):
    run_node("ai.llm", ws, llm(credential="claude"))  # warm up both SDK paths first:
    run_node("ai.llm", ws, llm())  # their first call imports and builds a lot
    # a Retry-After short enough to be waited for inline, were there no fallback
    openai_server.queue(status(429, "slow down", retry_after="3"))
    result = run_node("ai.llm", ws, llm(**FALLBACK))
    assert result.output["model"] == "claude-haiku-4-5"
    limited, fallback = openai_server.received[-1], anthropic_server.received[-1]
    assert len(openai_server.received) == 2  # the 429 was not retried
    assert fallback.at - limited.at < 2.5  # nor waited for


def test_timeout_then_fallback_provider(ws, gpt, claude, openai_server, anthropic_server):
    openai_server.queue(stall(3))
    anthropic_server.queue(reply("from the fallback", input_tokens=100, output_tokens=10))
    result = run_node("ai.llm", ws, llm(request_timeout_s=0.5, **FALLBACK))
    assert result.output["text"] == "from the fallback"
    assert result.output["credential"] == "claude"
    assert result.output["usage"] == {"input_tokens": 100, "output_tokens": 10}


def test_timeout_without_fallback_is_retryable(ws, gpt, openai_server):
    openai_server.queue(stall(3))
    error = failure("ai.llm", ws, llm(request_timeout_s=0.5))
    assert (error.type, error.retryable) == ("ProviderTimeout", True)


def test_every_provider_failing_names_each(ws, gpt, claude, openai_server, anthropic_server):
    openai_server.queue(status(400, "bad request"))
    anthropic_server.queue(status(500), status(503))
    error = failure("ai.llm", ws, llm(**FALLBACK))
    assert (
        "openai-main (gpt-4o-mini)" in error.message
        and "claude (claude-haiku-4-5)" in error.message
    )
    assert error.retryable  # the last failure, a 5xx, may pass with time


def test_disabled_credential_fails_fast(ws, gpt, openai_server):
    services.update_credential(None, gpt, disabled=True)
    error = failure("ai.llm", ws, llm())
    assert error.type == "CredentialDisabled" and not error.retryable
    assert openai_server.received == []


def test_disabled_credential_takes_the_fallback(ws, gpt, claude, openai_server, anthropic_server):
    services.update_credential(None, gpt, disabled=True)
    assert run_node("ai.llm", ws, llm(**FALLBACK)).output["credential"] == "claude"
    assert openai_server.received == []


def test_credential_of_another_workspace_is_not_found(ws, gpt):
    other = make_workspace("elsewhere")
    error = failure("ai.llm", other, llm(credential=gpt.pk))
    assert error.type == "CredentialNotFound"


def test_internal_address_refused_without_outbound_allow(ws, gpt, openai_server, settings):
    settings.OUTBOUND_ALLOW = []
    error = failure("ai.llm", ws, llm())
    assert error.type == "OutboundRefused" and "BATON_OUTBOUND_ALLOW" in error.message
    assert openai_server.received == []


def test_a_scripted_credential_repointed_at_a_provider_serves_the_same_nodes(ws, openai_server):
    demo = services.create_credential(
        None,
        ws,
        name="demo-llm",
        kind="scripted",
        config={"default": "scripted answer", "default_model": "gpt-4o-mini"},
    )
    config = {"credential": "demo-llm", "prompt": "Say hi"}  # no model: the credential's
    assert run_node("ai.llm", ws, config).output["text"] == "scripted answer"
    services.update_credential(
        None,
        demo,
        kind="openai",
        secret=CANARY,
        config={"base_url": openai_server.base_url, "default_model": "gpt-4.1-mini"},
    )
    openai_server.queue(reply("real answer"))
    result = run_node("ai.llm", ws, config)
    assert (result.output["text"], result.output["model"]) == ("real answer", "gpt-4.1-mini")
    assert openai_server.received[0].body["model"] == "gpt-4.1-mini"


def test_the_credential_translates_model_names(ws, openai_server):
    services.create_credential(
        None,
        ws,
        name="demo",
        kind="openai",
        secret=CANARY,
        config={"base_url": openai_server.base_url, "models": {"demo-model": "gpt-4o"}},
    )
    result = run_node("ai.llm", ws, {"credential": "demo", "model": "demo-model", "prompt": "hi"})
    assert openai_server.received[0].body["model"] == "gpt-4o"
    assert result.output["model"] == "gpt-4o"


def test_no_model_anywhere_is_a_clear_error(ws):
    services.create_credential(None, ws, name="bare", kind="scripted")
    error = failure("ai.llm", ws, {"credential": "bare", "prompt": "hi"})
    assert error.type == "ModelMissing" and "default_model" in error.message


def test_non_chat_credential_is_refused(ws):
    services.create_credential(
        None, ws, name="hooks", kind="http", config={"auth": "bearer"}, secret=CANARY
    )
    assert failure("ai.llm", ws, llm(credential="hooks")).type == "CredentialUnsuitable"


# -- the canary secret never shows -------------------------------------------------


def test_canary_never_in_errors_outputs_or_logs(
    ws, gpt, claude, openai_server, anthropic_server, caplog
):
    caplog.set_level(logging.DEBUG)
    openai_server.queue(status(401, f"Incorrect API key provided: {CANARY}"))
    anthropic_server.queue(status(403, f"key {CANARY} may not use this model"))
    error = failure("ai.llm", ws, llm(**FALLBACK))
    assert error.type == "ProviderRejected"
    assert CANARY not in error.message and "[redacted]" in error.message
    openai_server.queue(reply("fine"))
    output = run_node("ai.llm", ws, llm()).output
    assert CANARY not in json.dumps(output)
    logging.getLogger("baton.test").error("provider said %s", CANARY)
    assert caplog.records, "the SDKs and httpx log at DEBUG: there is something to search"
    for record in caplog.records:
        assert CANARY not in record.getMessage()


# -- ai.classify -------------------------------------------------------------------

CATEGORIES = [
    {"name": "billing", "description": "Invoices, refunds, payments"},
    {"name": "technical", "description": "Bugs and outages"},
    {"name": "other"},
]


def classify(**config: Any) -> dict[str, Any]:
    return {
        "credential": "openai-main",
        "model": "gpt-4o-mini",
        "text": "My invoice is wrong",
        "categories": CATEGORIES,
        **config,
    }


def test_classify_ends_on_the_chosen_category(ws, gpt, openai_server):
    openai_server.queue(reply('{"category": "billing", "confidence": 0.92}'))
    result = run_node("ai.classify", ws, classify())
    assert result.port == "billing"
    assert result.output["category"] == "billing" and result.output["confidence"] == 0.92
    assert result.output["usage"] == {"input_tokens": 12, "output_tokens": 7}
    system = openai_server.received[0].body["messages"][0]["content"]
    assert "- billing: Invoices, refunds, payments" in system


def test_classify_repairs_an_unknown_category(ws, gpt, openai_server):
    openai_server.queue(reply('{"category": "money"}'), reply("Technical"))
    result = run_node("ai.classify", ws, classify())
    assert result.port == "technical" and result.output["confidence"] is None


def test_classify_ports_come_from_the_categories():
    node_type = registry.get("ai.classify")
    assert node_type.ports_for({"categories": CATEGORIES}) == ["billing", "technical", "other"]
    assert node_type.describe()["dynamic_ports"] is True
    problems = node_type.config_errors(classify(categories=[{"name": "error"}, {"name": "x"}]))
    assert problems and "error" in problems[0][1]


def test_classify_with_a_scripted_credential(ws):
    services.create_credential(
        None,
        ws,
        name="demo",
        kind="scripted",
        config={
            "replies": [{"match": "invoice", "json": {"category": "billing", "confidence": 0.9}}],
        },
    )
    result = run_node("ai.classify", ws, classify(credential="demo"))
    assert result.port == "billing" and result.usage.input_tokens > 0


# -- ai.extract --------------------------------------------------------------------


def extract(**config: Any) -> dict[str, Any]:
    return {
        "credential": "openai-main",
        "model": "gpt-4o-mini",
        "text": "Ada, 36, from London",
        "schema": SCHEMA,
        **config,
    }


def test_extract_returns_an_object_valid_against_the_schema(ws, gpt, openai_server):
    openai_server.queue(reply('{"name": "Ada", "age": 36}', input_tokens=50, output_tokens=8))
    result = run_node("ai.extract", ws, extract())
    assert result.output == {"name": "Ada", "age": 36}
    assert result.usage.input_tokens == 50 and result.cost_usd > 0
    assert '"required": ["name", "age"]' in openai_server.received[0].body["messages"][0]["content"]


def test_extract_fails_clearly(ws, gpt, openai_server):
    openai_server.queue(reply("[1, 2]"), reply('{"name": 7, "age": 36}'))
    error = failure("ai.extract", ws, extract())
    assert error.type == "InvalidOutput" and "$.name" in error.message


# -- ai.sentiment ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("I love this, thank you so much!", "positive"),
        ("This is terrible. I am furious and want my money back.", "negative"),
        ("The parcel arrived on Tuesday.", "neutral"),
    ],
)
def test_sentiment_runs_locally(ws, text, label, settings):
    settings.OUTBOUND_ALLOW = []
    result = run_node("ai.sentiment", ws, {"text": text})
    assert result.output["label"] == label
    assert -1 <= result.output["score"] <= 1
    assert result.usage is None and result.cost_usd is None
