"""Live-event fixtures: sockets through the real ASGI application (origin check,
session or token auth, routing), the in-process channel layer, and runs
executed by the real engine with eager tasks."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

ORIGIN = "http://localhost"


def async_test(fn: Callable) -> Callable:
    """Run an ``async def`` test in its own event loop (no pytest-asyncio here)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return async_to_sync(fn)(*args, **kwargs)

    return wrapper


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def socket(
    path: str,
    *,
    cookie: str | None = None,
    origin: str | None = ORIGIN,
    subprotocols: list[str] | None = None,
) -> WebsocketCommunicator:
    from config.asgi import application

    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)


async def closed_with(communicator: WebsocketCommunicator, timeout: float = 3) -> int | None:
    """The close code the server sent (skipping data frames), or None if still open."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return None
        try:
            output = await communicator.receive_output(left)
        except TimeoutError:
            return None
        if output["type"] == "websocket.close":
            return output.get("code")


async def messages_until(
    communicator: WebsocketCommunicator, done: Callable[[dict], bool], timeout: float = 15
) -> list[dict]:
    """JSON messages received until ``done(message)`` holds (that one included)."""
    received: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"timed out; got {received}"
        message = json.loads(await communicator.receive_from(left))
        received.append(message)
        if done(message):
            return received


def run_finished(message: dict) -> bool:
    return message.get("kind") == "run" and message["status"] in (
        "succeeded",
        "failed",
        "cancelled",
    )


@pytest.fixture
def live_db(transactional_db: Any, settings: Any) -> Any:
    """Committed data (sockets read from other threads), eager tasks, fast re-checks."""
    from channels.layers import channel_layers

    from config.celery import app

    settings.BATON_LIVE_RECHECK_S = 0.2
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    channel_layers.backends.clear()  # a fresh in-memory layer for this test's loop
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
    channel_layers.backends.clear()
