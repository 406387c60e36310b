"""http.request against a real local HTTP server that counts attempts."""

from __future__ import annotations

import base64

import pytest

from builder.nodes.base import NodeError
from tests.triggers.conftest import make_credential, run_node
from tests.triggers.servers import Reply, local_http


@pytest.fixture
def server(settings):
    with local_http() as http:
        settings.OUTBOUND_ALLOW = [http.address]
        yield http


def test_json_answer_becomes_the_output(server, ctx):
    server.routes["/items"] = Reply(200, {"items": [1, 2]}, {"X-Total": "2"})
    result = run_node(
        "http.request",
        ctx,
        {"method": "POST", "url": server.url("/items"), "query": {"page": 2}, "body": {"a": 1}},
    )
    assert result.output["status"] == 200
    assert result.output["body"] == {"items": [1, 2]}
    assert result.output["headers"]["x-total"] == "2"
    sent = server.requests[0]
    assert sent.path == "/items?page=2"
    assert sent.body == b'{"a":1}'
    assert sent.headers["idempotency-key"] == ctx.idempotency_key


def test_text_answer_stays_text(server, ctx):
    server.routes["/hello"] = Reply(200, b"hi there", {"Content-Type": "text/plain"})
    result = run_node("http.request", ctx, {"url": server.url("/hello")})
    assert result.output["body"] == "hi there"


def test_every_attempt_sends_the_same_idempotency_key(server, ctx):
    server.routes["/flaky"] = lambda request, attempt: (
        Reply(503, {"busy": True}) if attempt < 3 else Reply(200, {"ok": True})
    )
    for _attempt in range(2):
        with pytest.raises(NodeError) as failure:
            run_node("http.request", ctx, {"url": server.url("/flaky")})
        assert failure.value.retryable and failure.value.type == "HttpError"
    assert run_node("http.request", ctx, {"url": server.url("/flaky")}).output["body"] == {
        "ok": True
    }
    keys = {r.headers["idempotency-key"] for r in server.requests}
    assert server.attempts("/flaky") == 3 and keys == {ctx.idempotency_key}


def test_a_client_error_fails_without_retry(server, ctx):
    server.routes["/missing"] = Reply(404, {"detail": "nope"})
    with pytest.raises(NodeError) as failure:
        run_node("http.request", ctx, {"url": server.url("/missing")})
    assert not failure.value.retryable
    assert "404" in failure.value.message and "nope" in failure.value.message


def test_a_timeout_is_retryable(server, ctx):
    server.routes["/slow"] = Reply(200, b"late", delay_s=1.0)
    with pytest.raises(NodeError) as failure:
        run_node("http.request", ctx, {"url": server.url("/slow"), "timeout_s": 0.2})
    assert failure.value.retryable and failure.value.type == "Timeout"


def test_an_internal_address_is_refused_without_retry(ctx, settings):
    settings.OUTBOUND_ALLOW = []
    with pytest.raises(NodeError) as failure:
        run_node("http.request", ctx, {"url": "http://169.254.169.254/latest/meta-data/"})
    assert failure.value.type == "OutboundRefused" and not failure.value.retryable


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({"auth": "bearer"}, ("authorization", "Bearer s3cret")),
        ({"auth": "header", "header_name": "X-Api-Key"}, ("x-api-key", "s3cret")),
        (
            {"auth": "basic", "username": "bob"},
            ("authorization", "Basic " + base64.b64encode(b"bob:s3cret").decode()),
        ),
    ],
)
def test_credentials_are_injected(server, ctx, workspace, auth, expected):
    make_credential(workspace, name="api", kind="http", config=auth, secret="s3cret")
    server.routes["/private"] = Reply(200, {"ok": True})
    result = run_node("http.request", ctx, {"url": server.url("/private"), "credential": "api"})
    name, value = expected
    assert server.requests[0].headers[name] == value
    assert "s3cret" not in repr(result.output)


def test_a_disabled_credential_fails_fast(server, ctx, workspace):
    credential = make_credential(workspace, name="api", kind="http", config={}, secret="x")
    credential.disabled = True
    credential.save()
    with pytest.raises(NodeError) as failure:
        run_node("http.request", ctx, {"url": server.url("/"), "credential": "api"})
    assert failure.value.type == "CredentialDisabled"
    assert server.requests == []


def test_an_oversized_answer_fails(server, ctx, monkeypatch):
    monkeypatch.setattr("builder.nodes.integrations.MAX_RESPONSE_BYTES", 1000)
    server.routes["/big"] = Reply(200, b"x" * 5000)
    with pytest.raises(NodeError) as failure:
        run_node("http.request", ctx, {"url": server.url("/big")})
    assert failure.value.type == "ResponseTooLarge"
