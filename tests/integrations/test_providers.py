"""Both SDK providers against their local wire-format servers: the request
on the wire, and every kind of failure classified the same way."""

from __future__ import annotations

import pytest

from integrations.providers import ChatRequest, ProviderError, provider_for
from tests.integrations.fake_providers import CANARY, reply, stall, status


@pytest.fixture(params=["openai", "anthropic"])
def server(request):
    return request.getfixturevalue(f"{request.param}_server")


def provider(server):
    return provider_for(server.dialect, CANARY, {"base_url": server.base_url})


def ask(server, **fields):
    request = ChatRequest(**{"model": "some-model", "prompt": "hi", "timeout": 5, **fields})
    return provider(server).chat(request)


def test_success_carries_text_model_and_usage(server):
    server.queue(reply("answer", input_tokens=21, output_tokens=4, model="some-model-0613"))
    answer = ask(server, system="Be brief.", max_tokens=50)
    assert (answer.text, answer.model) == ("answer", "some-model-0613")
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (21, 4)
    sent = server.received[0]
    assert sent.body["max_tokens"] == 50
    assert CANARY in sent.headers.get("authorization", "") + sent.headers.get("x-api-key", "")


@pytest.mark.parametrize(
    ("behaviour", "kind", "retryable", "retry_after"),
    [
        (status(429, "slow", retry_after="7"), "RateLimited", True, 7.0),
        (status(429, "slow", retry_after_ms="1500"), "RateLimited", True, 1.5),
        (status(500), "ProviderError", True, None),
        (status(503), "ProviderError", True, None),
        (status(401, "bad key"), "ProviderRejected", False, None),
        (status(404, "no such model"), "ProviderRejected", False, None),
        (stall(2), "ProviderTimeout", True, None),
    ],
)
def test_failures_are_classified(server, behaviour, kind, retryable, retry_after):
    server.queue(behaviour)
    with pytest.raises(ProviderError) as caught:
        ask(server, timeout=0.5)
    error = caught.value
    assert (error.type, error.retryable, error.retry_after) == (kind, retryable, retry_after)
    assert len(server.received) == 1  # the SDKs' own retries are off


def test_json_mode_on_the_wire(server):
    server.queue(reply('{"ok": true}'))
    assert ask(server, json_mode=True).text == '{"ok": true}'
    body = server.received[0].body
    if server.dialect == "openai":
        assert body["response_format"] == {"type": "json_object"}
    else:
        assert "JSON object only" in body["system"]
