"""The scripted test double, credential kinds, and the outbound allow rules."""

from __future__ import annotations

import ipaddress

import pytest

from integrations import outbound
from integrations.kinds import config_errors
from integrations.providers import ChatRequest, ProviderError, provider_for

SCRIPT = {
    "replies": [
        {"match": "refund", "text": "Your refund is on its way."},
        {"match": "invoice", "json": {"category": "billing", "confidence": 0.9}},
        {"match": "flaky", "error": "rate_limit", "retry_after": 2},
    ],
    "default": "Thanks for writing.",
}


def ask(prompt: str, config=SCRIPT) -> str:
    return (
        provider_for("scripted", "", config)
        .chat(ChatRequest(model="gpt-4o-mini", prompt=prompt))
        .text
    )


def test_scripted_replies_match_in_order_with_a_default():
    assert ask("Where is my REFUND?") == "Your refund is on its way."
    assert ask("invoice 42") == '{"category": "billing", "confidence": 0.9}'
    assert ask("hello") == "Thanks for writing."
    assert ask("hello", {}) == "(scripted) hello"


def test_scripted_errors_are_classified_like_real_ones():
    with pytest.raises(ProviderError) as caught:
        ask("a flaky one")
    assert (caught.value.type, caught.value.retryable, caught.value.retry_after) == (
        "RateLimited",
        True,
        2,
    )


def test_scripted_usage_is_estimated():
    reply = provider_for("scripted", "", SCRIPT).chat(ChatRequest(model="m", prompt="x" * 40))
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (10, 5)


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("openai", {"base_url": "not a url"}, "config.base_url"),
        ("openai", {"api_key": "sk-oops"}, "config.api_key"),
        ("http", {"auth": "header"}, "config"),
        ("smtp", {}, "config.host"),
        ("scripted", {"replies": [{"error": "meteor"}]}, "config.replies.0.error"),
        ("telepathy", {}, "kind"),
    ],
)
def test_kind_configs_are_checked(kind, config, field):
    problems = config_errors(kind, config)
    assert problems and problems[0][0] == field


def test_valid_kind_configs():
    assert config_errors("openai", {"base_url": "http://localhost:11434/v1"}) == []
    assert config_errors("scripted", SCRIPT) == []
    assert config_errors("http", {"auth": "basic", "username": "me"}) == []


def rule_allows(entry: str, host: str, address: str, port: int) -> bool:
    return outbound.parse_rule(entry).matches(host, ipaddress.ip_address(address), port)


def test_allow_rules_name_a_host_a_host_and_port_or_a_network():
    assert rule_allows("localhost", "localhost", "127.0.0.1", 11434)
    assert rule_allows("127.0.0.1:11434", "127.0.0.1", "127.0.0.1", 11434)
    assert not rule_allows("127.0.0.1:11434", "127.0.0.1", "127.0.0.1", 22)
    assert rule_allows("10.0.0.0/8", "ollama.internal", "10.1.2.3", 80)
    assert rule_allows("[::1]:8000", "::1", "::1", 8000)


def test_internal_addresses_are_refused_unless_allowed(settings):
    settings.OUTBOUND_ALLOW = []
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("http://127.0.0.1:11434/v1")
    settings.OUTBOUND_ALLOW = ["127.0.0.1:11434"]
    outbound.check_url("http://127.0.0.1:11434/v1")
    assert not outbound.is_internal(ipaddress.ip_address("8.8.8.8"))
