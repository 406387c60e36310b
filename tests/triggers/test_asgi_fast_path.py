"""The ASGI fast path serves /hooks/{id}/ exactly as the Django view does."""

from __future__ import annotations

import asyncio
import json

from tests.triggers.test_webhooks import hook_path, published, webhook_graph


def asgi_call(
    path: str, body: bytes, *, host: str = "127.0.0.1", query: bytes = b"", chunks: int = 1
):
    from config.asgi import application

    sent: list[dict] = []
    size = max(1, len(body) // chunks + 1)
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query,
        "headers": [
            (b"host", host.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    asyncio.run(application(scope, receive, send))
    status = sent[0]["status"]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(payload) if payload.startswith((b"{", b"[")) else payload


def test_sync_hook_answers_with_the_output(owner):
    path = hook_path(owner, published(owner, webhook_graph("sync")))
    status, body = asgi_call(path, b'{"name": "Ada"}', query=b"q=7", chunks=3)
    assert status == 200 and body == {"reply": {"echo": "Ada", "q": "7"}}


def test_async_hook_answers_202(owner):
    path = hook_path(owner, published(owner, webhook_graph("async")))
    status, body = asgi_call(path, b"{}")
    assert status == 202 and body["run_id"]


def test_an_unknown_host_is_refused(owner):
    path = hook_path(owner, published(owner, webhook_graph()))
    assert asgi_call(path, b"{}", host="evil.example")[0] == 400


def test_the_size_limit_applies_before_reading(owner, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 10
    path = hook_path(owner, published(owner, webhook_graph()))
    assert asgi_call(path, b'{"name": "far too long"}')[0] == 413


def test_unknown_hook_is_404(transactional_db):
    status, body = asgi_call("/hooks/nope/", b"{}")
    assert status == 404 and body["detail"]
