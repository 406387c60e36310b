"""An ASGI fast path for ``/hooks/{hook id}/``.

Django's stack adapts its sync-only middleware by running each request in a
thread of its own, which a machine-to-machine endpoint does not need: here a
webhook call is parsed on the event loop, checked (host, size), and handed
to :func:`triggers.endpoint.handle`, exactly what the Django view does after
the middleware. Every other request goes to the wrapped application.

Wire it in ``config/asgi.py``: ``"http": hooks_first(django_asgi_app)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http.request import split_domain_port, validate_host

from triggers import endpoint, services

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
HOOK_PATH = re.compile(r"^/hooks/([^/]+)/$")


def hooks_first(inner: ASGIApp) -> ASGIApp:
    async def application(scope: dict, receive: Callable, send: Callable) -> None:
        match = HOOK_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await inner(scope, receive, send)
            return
        answer = await _answer(match.group(1), scope, receive)
        await _send(send, answer)

    return application


def _headers(scope: dict) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def _query(scope: dict) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), True):
        query[name] = (
            [*query[name], value]
            if isinstance(query.get(name), list)
            else ([query[name], value] if name in query else value)
        )
    return query


async def _body(receive: Callable, limit: int) -> bytes | None:
    """The request body, or None once it grows past ``limit``."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _answer(hook_id: str, scope: dict, receive: Callable) -> endpoint.Answer:
    headers = _headers(scope)
    host, _port = split_domain_port(headers.get("host", ""))
    if not validate_host(host, settings.ALLOWED_HOSTS):
        return endpoint.error(400, "Invalid Host header.")
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    if (
        not headers.get("content-length", "0").isdigit()
        or int(headers.get("content-length", "0")) > limit
    ):
        return endpoint.error(413, f"The body is larger than {limit:,} bytes.")
    body = await _body(receive, limit)
    if body is None:
        return endpoint.error(413, f"The body is larger than {limit:,} bytes.")
    call = services.WebhookCall(scope.get("method", "POST"), headers, _query(scope), body)
    return await endpoint.handle(hook_id, call)


async def _send(send: Callable, answer: endpoint.Answer) -> None:
    content = json.dumps(answer.body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *((k.lower().encode(), v.encode()) for k, v in answer.headers.items()),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
